"""The model store: loading, versions, the default model, digest pins, S3, metadata, warm-up."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import boto3
import numpy as np
import onnxruntime as ort
import pytest
from moto import mock_aws
from onnx import TensorProto, helper
from tiny_models import identity_model, two_input_model

from handler.errors import InvalidInput, ModelLoadError, ModelNotFound
from handler.settings import BUNDLED_MODELS, Settings
from handler.store import SMALL_MODEL_BYTES, Model, ModelStore, session_options, sha256_hex


def load(directory: Path | str, **overrides) -> ModelStore:
    return ModelStore.load(Settings(models=str(directory), intra_op_threads=1, **overrides))


def copy_model(source: str, directory: Path, stem: str, config: dict | None = None) -> Path:
    """Copy a bundled model under a new file name, with `config` (or its own) beside it."""
    target = directory / f"{stem}.onnx"
    shutil.copyfile(BUNDLED_MODELS / f"{source}.onnx", target)
    original = json.loads((BUNDLED_MODELS / f"{source}.json").read_text())
    target.with_suffix(".json").write_text(json.dumps({**original, **(config or {})}))
    return target


@pytest.fixture(scope="module")
def bundled() -> ModelStore:
    return load(BUNDLED_MODELS, warmup=False)


def test_bundled_models_load_with_iris_as_default(bundled):
    assert sorted(bundled.latest) == ["breast_cancer", "cnn", "diabetes", "iris"]
    assert bundled.default_name == "iris"
    assert bundled.get() is bundled.get("iris")


def test_metadata_uses_oip_datatypes_and_minus_one_for_dynamic_dims(bundled):
    metadata = bundled.get("iris").metadata

    assert metadata["name"] == "iris"
    assert metadata["versions"] == ["1"]
    assert metadata["platform"] == "onnxruntime_onnx"
    assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert metadata["outputs"] == [
        {"name": "label", "datatype": "INT64", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
    ]
    assert metadata["properties"]["features"] == "sepal_length,sepal_width,petal_length,petal_width"
    digest = hashlib.sha256((BUNDLED_MODELS / "iris.onnx").read_bytes()).hexdigest()
    assert metadata["properties"]["sha256"] == digest


def test_cnn_metadata_keeps_its_fixed_dims(bundled):
    assert bundled.get("cnn").metadata["inputs"] == [
        {"name": "image", "datatype": "FP32", "shape": [-1, 3, 64, 64]}
    ]


def test_metadata_props_are_exposed_as_properties(tmp_path):
    identity_model(tmp_path, "tagged", "FP32", metadata={"author": "data-team", "training_run": "2026-11-30"})

    properties = load(tmp_path).get("tagged").metadata["properties"]

    assert properties["author"] == "data-team"
    assert properties["training_run"] == "2026-11-30"
    assert properties["producer"] == "tests"


def test_version_and_features_fall_back_on_metadata_props(tmp_path):
    identity_model(tmp_path, "described", "FP32", metadata={"version": "7", "features": "a, b"})

    model = load(tmp_path).get("described")

    assert model.version == "7"
    assert model.features == ("a", "b")


def test_versions_are_addressable_and_the_highest_is_latest(tmp_path):
    copy_model("iris", tmp_path, "iris-v1", {"version": "1"})
    copy_model("iris", tmp_path, "iris-v2", {"version": "2"})
    copy_model("iris", tmp_path, "iris-v10", {"version": "10"})

    store = load(tmp_path)

    assert store.get("iris").version == "10"
    assert store.get("iris", "2").path.name == "iris-v2.onnx"
    assert store.get().version == "10"
    with pytest.raises(
        ModelNotFound, match=r"model 'iris' has no version '3'; available: \['1', '10', '2'\]"
    ):
        store.get("iris", "3")


def test_a_version_without_a_name_is_that_version_of_the_default_model(tmp_path):
    copy_model("iris", tmp_path, "iris-v1", {"version": "1", "default": True})
    copy_model("iris", tmp_path, "iris-v2", {"version": "2"})
    copy_model("diabetes", tmp_path, "diabetes")

    store = load(tmp_path)

    assert store.get(None, "1").path.name == "iris-v1.onnx"
    assert store.get(None, None).path.name == "iris-v2.onnx"
    with pytest.raises(ModelNotFound, match=r"model 'iris' has no version '3'; available: \['1', '2'\]"):
        store.get(None, "3")


def test_unknown_model_names_what_is_loaded(bundled):
    with pytest.raises(ModelNotFound) as raised:
        bundled.get("resnet")

    assert raised.value.status == 404
    assert "model 'resnet' is not loaded; available: ['breast_cancer', 'cnn', 'diabetes', 'iris']" in str(
        raised.value
    )


def test_two_files_with_one_name_and_version_are_refused(tmp_path):
    copy_model("iris", tmp_path, "iris-a")
    copy_model("iris", tmp_path, "iris-b")

    with pytest.raises(
        ModelLoadError, match=r"two models are named 'iris' version 1: iris-a\.onnx and iris-b\.onnx"
    ):
        load(tmp_path)


def test_default_is_the_setting_then_the_config_then_the_first_name(tmp_path):
    copy_model("diabetes", tmp_path, "diabetes")
    copy_model("breast_cancer", tmp_path, "breast_cancer")
    assert load(tmp_path).default_name == "breast_cancer"

    copy_model("iris", tmp_path, "iris", {"default": True})
    assert load(tmp_path).default_name == "iris"

    assert load(tmp_path, default_model="diabetes").default_name == "diabetes"


def test_default_that_is_not_loaded_is_refused(tmp_path):
    copy_model("iris", tmp_path, "iris")

    with pytest.raises(ModelLoadError, match=r"default model 'mnist' is not loaded; loaded: \['iris'\]"):
        load(tmp_path, default_model="mnist")


def test_model_names_select_a_subset(tmp_path):
    store = load(BUNDLED_MODELS, model_names=("iris", "diabetes"), warmup=False)
    assert sorted(store.latest) == ["diabetes", "iris"]

    with pytest.raises(ModelLoadError, match=r"ONNX_LAMBDA_MODEL_NAMES names \['mnist'\]"):
        load(BUNDLED_MODELS, model_names=("iris", "mnist"))


@pytest.mark.parametrize("size", [0, 1000, SMALL_MODEL_BYTES - 1, SMALL_MODEL_BYTES, SMALL_MODEL_BYTES + 77])
def test_model_digests_match_hashlib_on_both_sides_of_the_small_model_size(size):
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)

    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_sha256_pin_that_matches_loads(tmp_path):
    path = copy_model("iris", tmp_path, "iris")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    assert load(tmp_path, model_sha256={"iris": digest}).get("iris").sha256 == digest


def test_sha256_pin_mismatch_names_the_expected_and_actual_digests(tmp_path):
    path = copy_model("iris", tmp_path, "iris")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = "0" * 64

    with pytest.raises(ModelLoadError) as raised:
        load(tmp_path, model_sha256={"iris": expected})

    message = str(raised.value)
    assert f"expected {expected}" in message
    assert f"actual {actual}" in message
    assert "'iris'" in message


def test_sha256_pin_for_a_model_that_is_not_loaded_is_refused(tmp_path):
    copy_model("iris", tmp_path, "iris")

    with pytest.raises(ModelLoadError, match=r"pins \['mnist'\], which are not loaded; loaded: \['iris'\]"):
        load(tmp_path, model_sha256={"mnist": "0" * 64})


def test_corrupted_model_file_is_a_load_error(tmp_path):
    path = copy_model("iris", tmp_path, "iris")
    path.write_bytes(path.read_bytes()[:200])

    with pytest.raises(ModelLoadError, match=r"model iris\.onnx could not be loaded by ONNX Runtime"):
        load(tmp_path)


def test_config_with_unknown_keys_or_bad_json_is_a_load_error(tmp_path):
    path = copy_model("iris", tmp_path, "iris", {"batch_limit": 4})
    with pytest.raises(ModelLoadError, match=r"iris.json has unknown keys \['batch_limit'\]"):
        load(tmp_path)

    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"iris\.json is not valid JSON"):
        load(tmp_path)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("features", "a,b", "a list of strings"),
        ("features", ["a", 2], "a list of strings"),
        ("labels", "setosa", "a list of strings"),
        ("default", "false", "true or false"),
        ("name", ["iris"], "a non-empty string"),
        ("name", "", "a non-empty string"),
        ("version", 1.5, "a non-empty string or a non-negative integer"),
        ("description", 3, "a string"),
        ("max_batch_size", True, "a positive integer"),
        ("max_batch_size", 0, "a positive integer"),
    ],
    ids=str,
)
def test_config_values_of_the_wrong_type_are_load_errors_naming_file_and_key(tmp_path, key, value, expected):
    copy_model("iris", tmp_path, "iris", {key: value})

    with pytest.raises(ModelLoadError) as raised:
        load(tmp_path)

    assert raised.value.message == (
        f"model config iris.json: '{key}' must be {expected}; got {json.dumps(value)}"
    )


def test_config_version_may_be_an_integer(tmp_path):
    copy_model("iris", tmp_path, "iris", {"version": 3, "default": False, "features": ["a", "b", "c", "d"]})

    model = load(tmp_path).get("iris", "3")

    assert model.features == ("a", "b", "c", "d")
    assert model.config.default is False


def test_a_model_with_a_zipmap_output_is_a_load_error_naming_the_file_and_the_fix(tmp_path):
    graph = helper.make_graph(
        [
            helper.make_node(
                "ZipMap",
                ["scores"],
                ["output_probability"],
                domain="ai.onnx.ml",
                classlabels_int64s=[0, 1, 2],
            )
        ],
        "zipmap_graph",
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 3])],
        [
            helper.make_value_info(
                "output_probability",
                helper.make_sequence_type_proto(
                    helper.make_map_type_proto(
                        TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, [])
                    )
                ),
            )
        ],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]
    )
    model.ir_version = 8
    (tmp_path / "classifier.onnx").write_bytes(model.SerializeToString())

    with pytest.raises(ModelLoadError) as raised:
        load(tmp_path)

    assert raised.value.message == (
        "model classifier.onnx output 'output_probability' is seq(map(int64,tensor(float))), but every "
        "input and output must be a tensor; export classifiers without ZipMap (skl2onnx: convert with "
        "options={'zipmap': False})"
    )


def test_a_model_without_a_batched_input_counts_one_row(tmp_path):
    identity_model(tmp_path, "fixed", "FP32", (1, 4))

    model = load(tmp_path).get("fixed")

    assert model.check({"x": np.zeros((1, 4), dtype=np.float32)}) == 1


def test_missing_directory_and_empty_directory_are_load_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="is not a directory"):
        load(tmp_path / "absent")
    with pytest.raises(ModelLoadError, match="no models were found"):
        load(tmp_path)


def test_config_max_batch_size_lowers_the_function_limit(tmp_path):
    copy_model("iris", tmp_path, "iris", {"max_batch_size": 2})
    model = load(tmp_path).get("iris")

    assert model.max_batch_size == 2
    with pytest.raises(InvalidInput, match="batch of 3 rows is over model 'iris' limit of 2"):
        model.check({"input": np.zeros((3, 4), dtype=np.float32)})
    assert load(tmp_path, max_batch_size=1).get("iris").max_batch_size == 1


def test_session_options_use_the_settings_and_never_spin():
    options = session_options(Settings(intra_op_threads=3, graph_optimization="basic"))

    assert options.intra_op_num_threads == 3
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"


def test_warm_up_runs_every_model_once_at_load(tmp_path, monkeypatch):
    identity_model(tmp_path, "words", "BYTES")
    two_input_model(tmp_path)
    warmed: list[str] = []
    original = Model.warm_up

    def recording_warm_up(model: Model) -> None:
        original(model)  # BYTES and multi-input models must warm up too
        warmed.append(model.name)

    monkeypatch.setattr(Model, "warm_up", recording_warm_up)

    load(tmp_path)
    assert sorted(warmed) == ["adder", "words"]

    warmed.clear()
    load(tmp_path, warmup=False)
    assert warmed == []


@pytest.fixture
def s3_models(monkeypatch):
    """A moto S3 bucket holding iris and diabetes under `models/`, plus files the store must skip."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="model-bucket")
        for name in ("iris", "diabetes"):
            for suffix in (".onnx", ".json"):
                s3.upload_file(
                    str(BUNDLED_MODELS / f"{name}{suffix}"), "model-bucket", f"models/{name}{suffix}"
                )
        s3.put_object(Bucket="model-bucket", Key="models/README.md", Body=b"not a model")
        s3.put_object(Bucket="model-bucket", Key="models/archive/old.onnx", Body=b"not loaded")
        yield s3


def test_s3_models_are_downloaded_once_to_the_cache(s3_models, tmp_path, monkeypatch):
    downloads: list[str] = []
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # restored after the test, with its hooks
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(
        "before-call.s3.GetObject", lambda params, **_: downloads.append(params["url_path"])
    )
    settings = Settings(models="s3://model-bucket/models", model_cache=tmp_path / "cache", intra_op_threads=1)

    store = ModelStore.load(settings)

    assert sorted(store.latest) == ["diabetes", "iris"]
    assert store.get("iris").path.parent == tmp_path / "cache" / "model-bucket" / "models"
    assert len(downloads) == 4
    assert sorted(path.name for path in (tmp_path / "cache" / "model-bucket" / "models").glob("*.onnx")) == [
        "diabetes.onnx",
        "iris.onnx",
    ]

    downloads.clear()
    again = ModelStore.load(settings)

    assert downloads == []
    assert sorted(again.latest) == ["diabetes", "iris"]


def test_s3_location_without_models_is_a_load_error(s3_models, tmp_path):
    settings = Settings(models="s3://model-bucket/empty/", model_cache=tmp_path, intra_op_threads=1)

    with pytest.raises(ModelLoadError, match=r"no \.onnx models found under s3://model-bucket/empty/"):
        ModelStore.load(settings)


def test_s3_location_with_only_json_configs_is_a_load_error(s3_models, tmp_path):
    s3_models.upload_file(str(BUNDLED_MODELS / "iris.json"), "model-bucket", "configs/iris.json")
    settings = Settings(models="s3://model-bucket/configs/", model_cache=tmp_path, intra_op_threads=1)

    with pytest.raises(ModelLoadError, match=r"no \.onnx models found under s3://model-bucket/configs/"):
        ModelStore.load(settings)


def test_s3_bucket_that_does_not_exist_is_a_load_error(s3_models, tmp_path):
    settings = Settings(models="s3://no-such-bucket/models", model_cache=tmp_path, intra_op_threads=1)

    with pytest.raises(
        ModelLoadError, match="could not list or download models from s3://no-such-bucket/models"
    ):
        ModelStore.load(settings)
