"""Vectorised scoring: one session run per model and chunk, results identical to scoring alone."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from event_support import failed_ids, flower, sqs_event
from onnx import TensorProto, helper
from tiny_models import identity_model

from handler.events import handle
from handler.events.batch import EventScorer
from handler.events.destinations import ReturnWriter
from handler.settings import Settings
from handler.store import ModelStore


@pytest.fixture
def run_sizes(store, monkeypatch):
    """The batch size of every session run, per model name."""
    sizes: dict[str, list[int]] = {}
    for model in store:
        real = model.run

        def counting(inputs, outputs=None, model=model, real=real):
            sizes.setdefault(model.name, []).append(len(next(iter(inputs.values()))))
            return real(inputs, outputs)

        monkeypatch.setattr(model, "run", counting)
    return sizes


def test_all_records_of_one_model_share_one_session_run(make_scorer, run_sizes, store):
    bodies = [flower(n) for n in range(6)] + [{"instances": [[5.0, 3.0, 1.5, 0.2]] * 4}]
    bodies += [{"model": "diabetes", "instances": [[0.01 * n] * 10 for n in range(3)]}, flower(9)]

    response = handle(sqs_event(bodies), None, make_scorer())

    assert failed_ids(response) == []
    assert run_sizes == {"iris": [11], "diabetes": [3]}
    alone = store.get("iris").run({"input": np.array([[5.0, 3.0, 1.5, 0.2]], dtype=np.float32)})
    batched = response["results"][6]["predictions"][0]["probabilities"]
    assert batched == pytest.approx(alone["probabilities"][0].tolist(), abs=1e-6)


def test_rows_are_chunked_at_the_models_batch_limit_without_splitting_a_record(
    make_scorer, run_sizes, store, monkeypatch
):
    monkeypatch.setattr(store.get("iris"), "max_batch_size", 10)
    bodies = [{"instances": [[5.0, 3.0, 1.5, 0.2]] * 4} for _ in range(5)]

    response = handle(sqs_event(bodies), None, make_scorer())

    assert failed_ids(response) == []
    assert run_sizes == {"iris": [8, 8, 4]}
    assert [len(result["predictions"]) for result in response["results"]] == [4] * 5


def test_a_record_the_runtime_rejects_fails_alone(make_scorer, store, monkeypatch):
    from handler.errors import InvalidInput

    model = store.get("iris")
    real = model.run

    def rejects_negative(inputs, outputs=None):
        if (next(iter(inputs.values())) < 0).any():
            raise InvalidInput("model 'iris' rejected the input: negative")
        return real(inputs, outputs)

    monkeypatch.setattr(model, "run", rejects_negative)
    bodies = [flower(0), flower(1, sepal_length=-1.0), flower(2)]

    response = handle(sqs_event(bodies), None, make_scorer())

    assert failed_ids(response) == ["m1"]
    assert [result["id"] for result in response["results"]] == ["f0", "f2"]


def _graph_model(directory: Path, name: str, nodes: list, x_shape: list, y_shape: list | None) -> None:
    """Write `<name>.onnx`: FP32 input `x` of `x_shape` through `nodes` to FP32 output `y`."""
    graph = helper.make_graph(
        nodes,
        f"{name}_graph",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    model.ir_version = 8
    (directory / f"{name}.onnx").write_bytes(model.SerializeToString())


def _scorer_for(directory: Path) -> EventScorer:
    store = ModelStore.load(Settings(models=str(directory), intra_op_threads=1, warmup=False))
    return EventScorer(store, Settings(), ReturnWriter())


@pytest.fixture
def pairs(tmp_path) -> EventScorer:
    """A model over rows of any length that pairs up each row's values: an odd length fails mid-run."""
    pair = helper.make_tensor("pair", TensorProto.INT64, [3], [0, -1, 2])
    _graph_model(
        tmp_path,
        "pairs",
        [
            helper.make_node("Constant", [], ["pair"], value=pair),
            helper.make_node("Reshape", ["x", "pair"], ["y"]),
        ],
        ["batch", "length"],
        ["batch", "pairs", 2],
    )
    return _scorer_for(tmp_path)


def test_records_of_different_lengths_are_scored_apart(pairs):
    bodies = [{"id": "short", "instances": [[1, 2]]}, {"id": "long", "instances": [[1, 2, 3, 4]] * 2}]

    response = handle(sqs_event(bodies), None, pairs)

    assert failed_ids(response) == []
    assert [result["predictions"] for result in response["results"]] == [
        [[[1.0, 2.0]]],
        [[[1.0, 2.0], [3.0, 4.0]]] * 2,
    ]


def test_a_record_that_breaks_a_node_mid_run_fails_alone_naming_the_model(pairs):
    lengths = [2, 3, 3, 4, 2]
    bodies = [{"id": f"r{index}", "instances": [list(range(length))]} for index, length in enumerate(lengths)]

    response = handle(sqs_event(bodies), None, pairs)

    assert failed_ids(response) == ["m1", "m2"]
    assert [result["id"] for result in response["results"]] == ["r0", "r3", "r4"]


def test_a_failed_run_is_reported_with_the_first_line_of_the_runtime_error(pairs, caplog):
    with caplog.at_level(logging.WARNING, logger="onnx_lambda.events"):
        response = handle(sqs_event([{"instances": [[1, 2, 3]]}]), None, pairs)

    assert failed_ids(response) == ["m0"]
    [(record_id, reason)] = [(record.record_id, record.reason) for record in caplog.records]
    assert record_id == "m0"
    assert reason.startswith(
        "model 'pairs' failed: [ONNXRuntimeError] : 1 : FAIL : Non-zero status code returned while "
        "running Reshape node."
    )
    assert "\n" not in reason


def test_a_model_with_no_batched_input_answers_each_record(tmp_path):
    identity_model(tmp_path, "fixed", "FP32", (1, 4))
    bodies = [{"id": "a", "instances": [[1, 2, 3, 4]]}, {"id": "b", "instances": [[5, 6, 7, 8]]}]

    response = handle(sqs_event(bodies), None, _scorer_for(tmp_path))

    assert failed_ids(response) == []
    assert [result["predictions"] for result in response["results"]] == [[[1, 2, 3, 4]], [[5, 6, 7, 8]]]


@pytest.fixture
def unshaped(tmp_path) -> EventScorer:
    """`total` sums a whole run into a 0-d output; `flipped` transposes rows into columns."""
    _graph_model(
        tmp_path, "total", [helper.make_node("ReduceSum", ["x"], ["y"], keepdims=0)], ["batch", 2], []
    )
    _graph_model(
        tmp_path, "flipped", [helper.make_node("Transpose", ["x"], ["y"])], ["batch", 2], [2, "batch"]
    )
    return _scorer_for(tmp_path)


def test_outputs_not_shaped_by_rows_fail_their_records_saying_which_shape(unshaped, caplog):
    bodies = [
        {"id": "sum", "model": "total", "instances": [[1, 2]]},
        {"id": "flip", "model": "flipped", "instances": [[1, 2], [3, 4], [5, 6]]},
        {"id": "flip-2", "model": "flipped", "instances": [[1, 2]]},
    ]

    with caplog.at_level(logging.WARNING, logger="onnx_lambda.events"):
        response = handle(sqs_event(bodies), None, unshaped)

    assert failed_ids(response) == ["m0", "m1", "m2"]
    expected = "expected a first dimension of {}, one per row of the input"
    assert {record.record_id: record.reason for record in caplog.records} == {
        "m0": "model 'total' output 'y' has shape []; " + expected.format(1),
        "m1": "model 'flipped' output 'y' has shape [2, 3]; " + expected.format(3),
        "m2": "model 'flipped' output 'y' has shape [2, 1]; " + expected.format(1),
    }


def test_infer_requests_get_outputs_of_any_shape_whole_each_from_its_own_run(unshaped):
    def request(rows):
        return {
            "model": "total",
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [len(rows), 2], "data": rows}],
        }

    response = handle(sqs_event([request([[1, 2]]), request([[3, 4], [5, 6]])]), None, unshaped)

    assert failed_ids(response) == []
    assert [result["outputs"] for result in response["results"]] == [
        [{"name": "y", "datatype": "FP32", "shape": [], "data": [3.0]}],
        [{"name": "y", "datatype": "FP32", "shape": [], "data": [18.0]}],
    ]
