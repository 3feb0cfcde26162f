"""Tiny ONNX models written with `onnx.helper`, to test every datatype through a real session."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto, helper

# OIP datatype -> ONNX element type.
ONNX_TYPES = {
    "BOOL": TensorProto.BOOL,
    "UINT8": TensorProto.UINT8,
    "UINT16": TensorProto.UINT16,
    "UINT32": TensorProto.UINT32,
    "UINT64": TensorProto.UINT64,
    "INT8": TensorProto.INT8,
    "INT16": TensorProto.INT16,
    "INT32": TensorProto.INT32,
    "INT64": TensorProto.INT64,
    "FP16": TensorProto.FLOAT16,
    "FP32": TensorProto.FLOAT,
    "FP64": TensorProto.DOUBLE,
    "BYTES": TensorProto.STRING,
}


def identity_model(
    directory: Path,
    name: str,
    datatype: str,
    shape: Sequence[int | str | None] = ("batch", 2),
    *,
    metadata: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Path:
    """Write `<name>.onnx`: input `x` → Identity → output `y`, both `datatype` and `shape`.

    `metadata` becomes the model's metadata_props; `config` is written as `<name>.json` beside it.
    """
    element = ONNX_TYPES[datatype]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        f"{name}_graph",
        [helper.make_tensor_value_info("x", element, list(shape))],
        [helper.make_tensor_value_info("y", element, list(shape))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    path = directory / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    if config is not None:
        path.with_suffix(".json").write_text(json.dumps(config))
    return path


def two_input_model(directory: Path, name: str = "adder") -> Path:
    """Write `<name>.onnx`: FP32 inputs `a` [-1, 3] and `b` [-1, 3] → `sum` and `difference`."""
    spec = ["batch", 3]
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"]), helper.make_node("Sub", ["a", "b"], ["difference"])],
        f"{name}_graph",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, spec),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, spec),
        ],
        [
            helper.make_tensor_value_info("sum", TensorProto.FLOAT, spec),
            helper.make_tensor_value_info("difference", TensorProto.FLOAT, spec),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    model.ir_version = 8
    path = directory / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    return path
