"""Open Inference Protocol infer requests and responses, through real sessions for every datatype."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tiny_models import ONNX_TYPES, identity_model

from handler.codec import decode_infer_request, dumps, encode_infer_response, parse_json
from handler.errors import InvalidInput
from handler.settings import BUNDLED_MODELS, Settings
from handler.store import Model, ModelStore

# Per datatype: 2x2 values that reach the type's limits.
VALUES: dict[str, list[list[Any]]] = {
    "BOOL": [[True, False], [False, True]],
    "UINT8": [[0, 255], [1, 128]],
    "UINT16": [[0, 65535], [1, 32768]],
    "UINT32": [[0, 4294967295], [1, 2147483648]],
    "UINT64": [[0, 18446744073709551615], [1, 9223372036854775808]],
    "INT8": [[-128, 127], [0, -1]],
    "INT16": [[-32768, 32767], [0, -1]],
    "INT32": [[-2147483648, 2147483647], [0, -1]],
    "INT64": [[-9223372036854775808, 9223372036854775807], [0, -1]],
    "FP16": [[1.5, -2.25], [65504.0, 0.0009765625]],
    "FP32": [[1.5, -2.5], [3.4028234663852886e38, 1.1754943508222875e-38]],
    "FP64": [[1e300, -1e-300], [0.1, 2.0]],
    "BYTES": [["hello", "wörld"], ["", "tab\tand\nnewline"]],
}
DATATYPES = sorted(ONNX_TYPES)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Model]:
    """An Identity model per datatype (`x` → `y`, shape [-1, 2]) plus the bundled iris."""
    directory: Path = tmp_path_factory.mktemp("identity")
    for datatype in DATATYPES:
        identity_model(directory, datatype.lower(), datatype)
    shutil_iris = directory / "iris.onnx"
    shutil_iris.write_bytes((BUNDLED_MODELS / "iris.onnx").read_bytes())
    shutil_iris.with_suffix(".json").write_text((BUNDLED_MODELS / "iris.json").read_text())
    store = ModelStore.load(Settings(models=str(directory), intra_op_threads=1))
    return {model.name: model for model in store}


def infer(
    model: Model, body: bytes, header_length: int | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decode, check, run and encode like the HTTP route does; returns (response JSON, outputs)."""
    request = decode_infer_request(body, model, header_length)
    model.check(request.inputs)
    results = model.run(request.inputs, [output.name for output in request.outputs] or None)
    payload, json_length = encode_infer_response(model, request, results)
    document = json.loads(payload if json_length is None else payload[:json_length])
    binary = b"" if json_length is None else payload[json_length:]
    outputs, offset = {}, 0
    for tensor in document["outputs"]:
        size = tensor.get("parameters", {}).get("binary_data_size")
        if size is None:
            outputs[tensor["name"]] = tensor["data"]
        else:
            outputs[tensor["name"]] = binary[offset : offset + size]
            offset += size
    assert offset == len(binary)
    return document, outputs


def request(inputs: list[dict[str, Any]], **extra: Any) -> bytes:
    return json.dumps({"inputs": inputs, **extra}).encode()


def tensor(name: str, datatype: str, shape: list[int], data: Any) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}


def to_binary(datatype: str, values: list[list[Any]]) -> bytes:
    if datatype == "BYTES":
        encoded = [item.encode() for row in values for item in row]
        return b"".join(struct.pack("<I", len(item)) + item for item in encoded)
    return np.array(values, dtype=np.dtype(_numpy(datatype)).newbyteorder("<")).tobytes()


def _numpy(datatype: str) -> Any:
    return (
        object
        if datatype == "BYTES"
        else np.dtype(datatype.lower().replace("fp", "float").replace("bool", "bool_"))
    )


def from_binary(datatype: str, chunk: bytes) -> list[Any]:
    if datatype == "BYTES":
        items, position = [], 0
        while position < len(chunk):
            (length,) = struct.unpack_from("<I", chunk, position)
            items.append(chunk[position + 4 : position + 4 + length].decode())
            position += 4 + length
        return items
    return np.frombuffer(chunk, dtype=np.dtype(_numpy(datatype)).newbyteorder("<")).tolist()


def flat(values: list[list[Any]]) -> list[Any]:
    return [item for row in values for item in row]


@pytest.mark.parametrize("layout", ["nested", "flat"])
@pytest.mark.parametrize("datatype", DATATYPES)
def test_json_round_trip_for_every_datatype(models, datatype, layout):
    values = VALUES[datatype]
    data = values if layout == "nested" else flat(values)

    document, outputs = infer(models[datatype.lower()], request([tensor("x", datatype, [2, 2], data)]))

    assert document["outputs"][0]["datatype"] == datatype
    assert document["outputs"][0]["shape"] == [2, 2]
    assert outputs["y"] == flat(values)


@pytest.mark.parametrize("datatype", DATATYPES)
def test_binary_round_trip_for_every_datatype(models, datatype):
    data = to_binary(datatype, VALUES[datatype])
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "datatype": datatype,
                    "shape": [2, 2],
                    "parameters": {"binary_data_size": len(data)},
                }
            ],
            "outputs": [{"name": "y", "parameters": {"binary_data": True}}],
        }
    ).encode()

    document, outputs = infer(models[datatype.lower()], header + data, len(header))

    assert document["outputs"][0]["datatype"] == datatype
    assert document["outputs"][0]["parameters"]["binary_data_size"] == len(data)
    assert from_binary(datatype, outputs["y"]) == flat(VALUES[datatype])


def test_fp32_binary_input_equals_its_json_input(models):
    rows = [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]
    data = np.array(rows, dtype="<f4").tobytes()
    header = request(
        [{"name": "input", "datatype": "FP32", "shape": [2, 4], "parameters": {"binary_data_size": 32}}]
    )

    _, from_binary_input = infer(models["iris"], header + data, len(header))
    _, from_json_input = infer(models["iris"], request([tensor("input", "FP32", [2, 4], rows)]))

    assert from_binary_input == from_json_input


def test_id_is_echoed_and_parameters_are_accepted(models):
    body = request(
        [tensor("input", "FP32", [1, 4], [5.1, 3.5, 1.4, 0.2])],
        id="request-7",
        parameters={"priority": 2, "sequence_id": 5, "trace": {"on": True}},
    )

    parsed = decode_infer_request(body, models["iris"])
    document, _ = infer(models["iris"], body)

    assert parsed.parameters == {"priority": 2, "sequence_id": 5, "trace": {"on": True}}
    assert document["id"] == "request-7"
    assert document["model_name"] == "iris"
    assert document["model_version"] == "1"


def test_without_id_the_response_has_none(models):
    document, _ = infer(models["iris"], request([tensor("input", "FP32", [1, 4], [5.1, 3.5, 1.4, 0.2])]))

    assert "id" not in document


def test_requested_output_subset_is_all_that_comes_back(models):
    body = request(
        [tensor("input", "FP32", [1, 4], [5.1, 3.5, 1.4, 0.2])], outputs=[{"name": "probabilities"}]
    )

    document, outputs = infer(models["iris"], body)

    assert [output["name"] for output in document["outputs"]] == ["probabilities"]
    assert len(outputs["probabilities"]) == 3


def test_binary_is_per_requested_output(models):
    body = request(
        [tensor("input", "FP32", [1, 4], [5.1, 3.5, 1.4, 0.2])],
        outputs=[{"name": "label", "parameters": {"binary_data": True}}, {"name": "probabilities"}],
    )

    _, outputs = infer(models["iris"], body)

    assert from_binary("INT64", outputs["label"]) == [0]
    assert isinstance(outputs["probabilities"], list)


def test_binary_data_output_makes_every_output_binary(models):
    body = request(
        [tensor("input", "FP32", [1, 4], [5.1, 3.5, 1.4, 0.2])], parameters={"binary_data_output": True}
    )

    document, outputs = infer(models["iris"], body)

    assert all("data" not in output for output in document["outputs"])
    assert from_binary("INT64", outputs["label"]) == [0]
    assert len(from_binary("FP32", outputs["probabilities"])) == 3


def test_an_outputs_own_binary_data_false_wins_over_binary_data_output(models):
    body = request(
        [tensor("input", "FP32", [1, 4], [5.1, 3.5, 1.4, 0.2])],
        outputs=[{"name": "label", "parameters": {"binary_data": False}}, {"name": "probabilities"}],
        parameters={"binary_data_output": True},
    )

    _, outputs = infer(models["iris"], body)

    assert outputs["label"] == [0]
    assert len(from_binary("FP32", outputs["probabilities"])) == 3


def test_non_finite_binary_input_comes_back_as_null_in_json(models):
    data = np.array([[np.nan, np.inf], [1.0, -np.inf]], dtype="<f4").tobytes()
    header = request(
        [{"name": "x", "datatype": "FP32", "shape": [2, 2], "parameters": {"binary_data_size": 16}}]
    )

    _, outputs = infer(models["fp32"], header + data, len(header))

    assert outputs["y"] == [None, None, 1.0, None]


def test_empty_batch_is_accepted(models):
    _, outputs = infer(models["fp32"], request([tensor("x", "FP32", [0, 2], [])]))

    assert outputs["y"] == []


def bad(model: Model, body: bytes, header_length: int | None = None) -> str:
    with pytest.raises(InvalidInput) as raised:
        infer(model, body, header_length)
    assert raised.value.status == 400
    return raised.value.message


X = tensor("input", "FP32", [1, 4], [5.1, 3.5, 1.4, 0.2])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1, 2]", "infer request must be a JSON object with an 'inputs' list"),
        (b'{"inputs": []}', "infer request needs a non-empty 'inputs' list of tensors"),
        (b'{"inputs": [', "infer request is not valid JSON"),
        (b"\xff\xfe", "infer request is not valid JSON"),
        (
            b'{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [NaN, 1, 2, 3]}]}',
            "NaN is not valid JSON; send non-finite values as binary tensor data",
        ),
        (
            request([tensor("input", "FP64", [1, 4], [5.1, 3.5, 1.4, 0.2])]),
            "input 'input' expects FP32 with shape [-1, 4]; got FP64 [1, 4]",
        ),
        (
            request([tensor("input", "FLOAT32", [1, 4], [5.1, 3.5, 1.4, 0.2])]),
            "input 'input' has datatype 'FLOAT32'; expected one of ['BOOL', 'BYTES', 'FP16', 'FP32'",
        ),
        (
            request([tensor("input", "FP32", [1, 5], [5.1, 3.5, 1.4, 0.2, 1.0])]),
            "input 'input' expects FP32 with shape [-1, 4]; got FP32 [1, 5]",
        ),
        (
            request([tensor("input", "FP32", [4], [5.1, 3.5, 1.4, 0.2])]),
            "input 'input' expects FP32 with shape [-1, 4]; got FP32 [4]",
        ),
        (
            request([tensor("input", "FP32", [2, 4], [5.1, 3.5, 1.4, 0.2])]),
            "input 'input' has 4 elements in 'data' but shape [2, 4] needs 8",
        ),
        (
            request([tensor("input", "FP32", [2, 4], [[5.1, 3.5, 1.4, 0.2], [1.0]])]),
            "ragged",
        ),
        (
            request([tensor("input", "FP32", [1, 4], ["5.1", "3.5", "1.4", "0.2"])]),
            "expected numbers",
        ),
        (
            request([tensor("input", "FP32", [1, 4], [1e39, 0, 0, 0])]),
            "too large for FP32",
        ),
        (
            request([tensor("input", "FP32", [1, -4], [5.1, 3.5, 1.4, 0.2])]),
            "input 'input' needs 'shape' as a list of non-negative integers",
        ),
        (
            request([{"name": "input", "datatype": "FP32", "shape": [1, 4]}]),
            "input 'input' has neither 'data' nor parameters.binary_data_size",
        ),
        (request([{**X, "name": "features"}]), "model 'iris' expects inputs ['input']; got ['features']"),
        (request([X, X]), "input 'input' appears more than once"),
        (
            request([X], outputs=[{"name": "logits"}]),
            "model 'iris' has no output 'logits'; outputs: ['label', 'probabilities']",
        ),
        (request([X], id=7), "'id' must be a string"),
        (request([X], parameters=[1]), "'parameters' must be a JSON object"),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else "",
)
def test_invalid_request_names_what_was_wrong_and_what_was_expected(models, body, message):
    assert message in bad(models["iris"], body)


def test_batch_over_the_model_limit_is_refused(models, tmp_path):
    identity_model(tmp_path, "small", "FP32", config={"name": "small", "max_batch_size": 2})
    small = ModelStore.load(Settings(models=str(tmp_path), intra_op_threads=1)).get("small")

    message = bad(small, request([tensor("x", "FP32", [3, 2], [[1, 2], [3, 4], [5, 6]])]))

    assert message == "batch of 3 rows is over model 'small' limit of 2"


@pytest.mark.parametrize(
    ("datatype", "data", "message"),
    [
        ("INT8", [200, 0], "input 'x' holds integers outside the range of INT8"),
        ("UINT8", [-1, 0], "input 'x' holds integers outside the range of UINT8"),
        ("INT64", [2**63, 0], "input 'x' holds integers outside the range of INT64"),
        ("UINT64", [2**64, 0], "input 'x' holds integers outside the range of UINT64"),
        ("FP16", [70000.0, 0], "too large for FP16"),
        ("INT32", [1.5, 2], "input 'x' is INT32 but 'data' holds floating-point numbers"),
        ("BOOL", [1, 0], "input 'x' is BOOL but 'data' holds integers; expected booleans"),
        ("BYTES", [1, "a"], "input 'x' is BYTES, so every element of 'data' must be a string"),
    ],
)
def test_values_that_do_not_fit_the_datatype_are_refused(models, datatype, data, message):
    assert message in bad(models[datatype.lower()], request([tensor("x", datatype, [1, 2], data)]))


def binary_request(
    size: int, data: bytes, datatype: str = "FP32", shape: list[int] | None = None
) -> tuple[bytes, int]:
    header = request(
        [
            {
                "name": "x",
                "datatype": datatype,
                "shape": shape or [1, 2],
                "parameters": {"binary_data_size": size},
            }
        ]
    )
    return header + data, len(header)


@pytest.mark.parametrize(
    ("body_and_length", "message"),
    [
        (binary_request(8, b"\0" * 4), "input 'x' declares 8 bytes of binary data but only 4 remain"),
        (binary_request(4, b"\0" * 4), "input 'x' has 4 bytes of binary data but FP32 [1, 2] needs 8"),
        (
            binary_request(8, b"\0" * 12),
            "binary data is 12 bytes but the inputs' binary_data_size add up to 8",
        ),
        (binary_request(-1, b""), "input 'x' has a binary_data_size that is not a non-negative integer"),
        ((b'{"inputs": []}', 999), "Inference-Header-Content-Length is 999 but the body has 14 bytes"),
        (
            binary_request(6, b"\3\0\0\0ab", "BYTES"),
            "input 'x' has a BYTES element longer than the data left",
        ),
        (binary_request(2, b"\3\0", "BYTES"), "input 'x' has a truncated BYTES length prefix"),
        (binary_request(6, b"\2\0\0\0\xff\xfe", "BYTES"), "input 'x' has a BYTES element that is not UTF-8"),
    ],
    ids=[
        "truncated",
        "size-for-shape",
        "unclaimed-bytes",
        "negative-size",
        "header-length",
        "bytes-element",
        "bytes-prefix",
        "bytes-not-utf8",
    ],
)
def test_invalid_binary_data_is_refused(models, body_and_length, message):
    body, header_length = body_and_length
    model = models["bytes"] if b'"BYTES"' in body else models["fp32"]

    assert message in bad(model, body, header_length)


def test_parse_json_refuses_infinity_and_deep_nesting():
    with pytest.raises(InvalidInput, match="Infinity is not valid JSON"):
        parse_json(b'{"x": Infinity}')
    with pytest.raises(InvalidInput, match="request body is nested too deeply"):
        parse_json(b"[" * 100_000 + b"]" * 100_000)


def test_dumps_writes_compact_strict_json():
    assert dumps({"a": [1.5, float("nan")], "b": "é"}) == b'{"a":[1.5,null],"b":"\\u00e9"}'


NUMERIC = [datatype for datatype in DATATYPES if datatype != "BYTES"]


@pytest.fixture(scope="module")
def any_shape_models(tmp_path_factory) -> dict[str, Model]:
    """Identity models whose two dims are both dynamic, so any [n, m] tensor fits."""
    directory: Path = tmp_path_factory.mktemp("any-shape")
    for datatype in DATATYPES:
        identity_model(directory, datatype.lower(), datatype, ("rows", "columns"))
    return {
        model.name: model for model in ModelStore.load(Settings(models=str(directory), intra_op_threads=1))
    }


def arrays_of(datatype: str) -> st.SearchStrategy[np.ndarray]:
    dtype = np.dtype(_numpy(datatype))
    shapes = hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=5)
    if dtype.kind == "f":
        return hnp.arrays(
            dtype, shapes, elements=hnp.from_dtype(dtype, allow_nan=False, allow_infinity=False)
        )
    return hnp.arrays(dtype, shapes)


@pytest.mark.parametrize("datatype", NUMERIC)
def test_any_tensor_survives_json_and_binary_unchanged(any_shape_models, datatype):
    model = any_shape_models[datatype.lower()]

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(array=arrays_of(datatype))
    def round_trip(array: np.ndarray) -> None:
        shape = list(array.shape)
        _, as_json = infer(model, request([tensor("x", datatype, shape, array.tolist())]))
        data = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header = json.dumps(
            {
                "inputs": [
                    {
                        "name": "x",
                        "datatype": datatype,
                        "shape": shape,
                        "parameters": {"binary_data_size": len(data)},
                    }
                ],
                "parameters": {"binary_data_output": True},
            }
        ).encode()
        _, as_binary = infer(model, header + data, len(header))

        assert as_json["y"] == array.ravel().tolist()
        assert as_binary["y"] == data

    round_trip()
