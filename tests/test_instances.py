"""Plain-JSON rows to tensors: `instances` rows and named-feature objects, columnar `inputs`."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_models import two_input_model

from handler.errors import InvalidInput
from handler.instances import predictions, rows_from_records, tensors_from_document
from handler.settings import BUNDLED_MODELS, Settings
from handler.store import ModelStore

IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]
IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def store() -> ModelStore:
    return ModelStore.load(
        Settings(models=str(BUNDLED_MODELS), model_names=("iris", "diabetes"), warmup=False)
    )


@pytest.fixture(scope="module")
def adder(tmp_path_factory):
    directory = tmp_path_factory.mktemp("adder")
    two_input_model(directory)
    return ModelStore.load(Settings(models=str(directory), intra_op_threads=1)).get("adder")


def test_instances_as_rows(store):
    tensors = tensors_from_document({"instances": IRIS_ROWS}, store.get("iris"))

    np.testing.assert_array_equal(tensors["input"], np.array(IRIS_ROWS, dtype=np.float32))
    assert tensors["input"].dtype == np.float32


def test_rows_by_position_and_by_feature_name_mix_in_one_request(store):
    named = dict(zip(IRIS_FEATURES, IRIS_ROWS[1], strict=True))

    tensors = tensors_from_document({"instances": [IRIS_ROWS[0], named]}, store.get("iris"))

    np.testing.assert_array_equal(tensors["input"], np.array(IRIS_ROWS, dtype=np.float32))


def test_a_bare_list_is_read_as_instances(store):
    tensors = tensors_from_document(IRIS_ROWS, store.get("iris"))

    assert tensors["input"].shape == (2, 4)


def test_instances_as_named_features_follow_the_model_feature_order(store):
    shuffled = [dict(reversed(list(zip(IRIS_FEATURES, row, strict=True)))) for row in IRIS_ROWS]

    tensors = tensors_from_document({"instances": shuffled}, store.get("iris"))

    np.testing.assert_array_equal(tensors["input"], np.array(IRIS_ROWS, dtype=np.float32))


def test_inputs_columnar_for_a_single_input_model(store):
    tensors = tensors_from_document({"inputs": IRIS_ROWS}, store.get("iris"))

    np.testing.assert_array_equal(tensors["input"], np.array(IRIS_ROWS, dtype=np.float32))


def test_inputs_columnar_by_input_name(adder):
    tensors = tensors_from_document({"inputs": {"a": [[1, 2, 3]], "b": [[10, 20, 30]]}}, adder)

    np.testing.assert_array_equal(tensors["a"], [[1, 2, 3]])
    np.testing.assert_array_equal(tensors["b"], [[10, 20, 30]])


def test_instances_as_objects_keyed_by_input_name(adder):
    tensors = tensors_from_document({"instances": [{"a": [1, 2, 3], "b": [4, 5, 6]}]}, adder)

    assert tensors["a"].shape == (1, 3)
    np.testing.assert_array_equal(tensors["b"], [[4, 5, 6]])


def test_missing_feature_names_the_record_the_features_and_the_expected_order(store):
    record = dict(zip(IRIS_FEATURES, IRIS_ROWS[0], strict=True))
    del record["petal_width"]

    with pytest.raises(InvalidInput) as raised:
        tensors_from_document(
            {"instances": [dict(zip(IRIS_FEATURES, IRIS_ROWS[1], strict=True)), record]}, store.get("iris")
        )

    assert raised.value.message == (
        "instance 1 is missing features ['petal_width']; model 'iris' expects "
        "['sepal_length', 'sepal_width', 'petal_length', 'petal_width']"
    )


def test_rows_from_records_builds_one_row_per_record(store):
    diabetes = store.get("diabetes")
    records = [{name: float(index) for index, name in enumerate(diabetes.features)}]

    rows = rows_from_records(records, diabetes)

    np.testing.assert_array_equal(rows, [list(range(10))])


def test_rows_from_records_names_the_first_record_that_lacks_a_feature(store):
    full = dict(zip(IRIS_FEATURES, IRIS_ROWS[0], strict=True))
    records = [full, full, {"sepal_length": 1.0}, {}]

    with pytest.raises(InvalidInput) as raised:
        rows_from_records(records, store.get("iris"))

    assert raised.value.message.startswith(
        "record 2 is missing features ['sepal_width', 'petal_length', 'petal_width']"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"rows": IRIS_ROWS}, 'expected {"instances": [...]} or {"inputs": ...}'),
        ({"instances": []}, "'instances' must be a non-empty list of rows"),
        (
            {"instances": [[5.1, 3.5, 1.4]]},
            "input 'input' expects FP32 with shape [-1, 4]; got rows making shape [1, 3]",
        ),
        (
            {"instances": [5.1, 3.5, 1.4, 0.2]},
            "input 'input' expects FP32 with shape [-1, 4]; got rows making shape [4]",
        ),
        ({"instances": [["a", "b", "c", "d"]]}, "expected numbers"),
        ({"inputs": {"features": IRIS_ROWS}}, "model 'iris' has no input 'features'; inputs: ['input']"),
    ],
)
def test_invalid_documents_say_what_was_expected(store, document, message):
    with pytest.raises(InvalidInput) as raised:
        tensors_from_document(document, store.get("iris"))

    assert message in raised.value.message


def test_multi_input_model_needs_objects(adder):
    with pytest.raises(InvalidInput, match="send each instance as an object keyed by input name"):
        tensors_from_document({"instances": [[1, 2, 3]]}, adder)
    with pytest.raises(InvalidInput, match="instance 0 has no field 'b'"):
        tensors_from_document({"instances": [{"a": [1, 2, 3]}]}, adder)
    with pytest.raises(InvalidInput, match="has several inputs: send 'inputs' as an object"):
        tensors_from_document({"inputs": [[1, 2, 3]]}, adder)


def test_batch_over_the_limit_is_refused():
    iris = ModelStore.load(
        Settings(models=str(BUNDLED_MODELS), model_names=("iris",), max_batch_size=2, warmup=False)
    ).get("iris")

    with pytest.raises(InvalidInput, match="batch of 3 rows is over model 'iris' limit of 2"):
        tensors_from_document({"instances": [*IRIS_ROWS, IRIS_ROWS[0]]}, iris)


def test_predictions_are_one_per_row(store):
    iris = store.get("iris")
    results = iris.run(tensors_from_document({"instances": IRIS_ROWS}, iris))

    rows = predictions(results)

    assert [row["label"] for row in rows] == [0, 2]
    assert len(rows[0]["probabilities"]) == 3
    single = predictions({"label": results["label"]})
    assert single == [0, 2]
