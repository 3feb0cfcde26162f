"""Open Inference Protocol datatypes and their numpy and ONNX equivalents."""

from __future__ import annotations

import numpy as np

# OIP datatype -> numpy dtype. BYTES tensors are numpy object arrays of str/bytes.
NUMPY_DTYPES: dict[str, np.dtype[np.generic]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}

# ONNX Runtime's NodeArg.type element names -> OIP datatype.
ONNX_TO_OIP: dict[str, str] = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
}

_OIP_BY_NUMPY = {dtype: name for name, dtype in NUMPY_DTYPES.items() if name != "BYTES"}


def oip_datatype(onnx_type: str) -> str:
    """Map an ONNX Runtime type string such as `tensor(float)` to its OIP datatype."""
    if not onnx_type.startswith("tensor(") or not onnx_type.endswith(")"):
        raise TypeError(
            f"is {onnx_type}, but every input and output must be a tensor; export classifiers "
            "without ZipMap (skl2onnx: convert with options={'zipmap': False})"
        )
    element = onnx_type[len("tensor(") : -1]
    try:
        return ONNX_TO_OIP[element]
    except KeyError:
        raise TypeError(
            f"is {onnx_type}, whose element type has no Open Inference Protocol datatype"
        ) from None


def datatype_of(array: np.ndarray) -> str:
    """Return the OIP datatype of a numpy array (object and string arrays are BYTES)."""
    if array.dtype.kind in "OUS":
        return "BYTES"
    return _OIP_BY_NUMPY[array.dtype]
