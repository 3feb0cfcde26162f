"""Fixtures every test folder may use: events by name, a Lambda context, HTTP responses decoded.

They are fixtures rather than importable helpers because each test folder may add its own
`conftest.py`, and pytest imports them all under the one module name `conftest`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from onnx_lambda.context import LambdaContext

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"
MODELS_DIR = ROOT / "models"

_NUMPY = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}


def read_event(name: str) -> dict[str, Any]:
    """A fresh copy of `events/<name>` (the `.json` suffix may be left off)."""
    path = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


@dataclass
class HttpResponse:
    """A Lambda HTTP response as a client sees it: status, headers, and the decoded body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes
    raw: dict[str, Any]

    def json(self) -> Any:
        return json.loads(self.body)

    def infer_outputs(self) -> dict[str, np.ndarray]:
        """The output tensors of an Open Inference Protocol infer response, JSON or binary."""
        return decode_infer_response(self.body, self.headers.get("inference-header-content-length"))


def decode_http_response(response: Mapping[str, Any]) -> HttpResponse:
    """Decode what `lambda_handler` returned for an API Gateway, ALB or Function URL event.

    Header names are lower-cased; `multiValueHeaders` values are joined with ", " as HTTP does.
    """
    headers = {key.lower(): str(value) for key, value in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ", ".join(values)
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    return HttpResponse(int(response["statusCode"]), headers, raw, dict(response))


def decode_infer_response(body: bytes, header_length: str | int | None = None) -> dict[str, np.ndarray]:
    """Output tensors by name from an OIP infer response body (binary tensor extension included)."""
    if header_length is None:
        document, binary = json.loads(body), b""
    else:
        split = int(header_length)
        document, binary = json.loads(body[:split]), body[split:]
    outputs: dict[str, np.ndarray] = {}
    offset = 0
    for tensor in document["outputs"]:
        shape, datatype = tensor["shape"], tensor["datatype"]
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        if size is None:
            dtype = object if datatype == "BYTES" else _NUMPY[datatype]
            outputs[tensor["name"]] = np.array(tensor["data"], dtype=dtype).reshape(shape)
            continue
        chunk = binary[offset : offset + size]
        offset += size
        if datatype == "BYTES":
            outputs[tensor["name"]] = np.array(_split_bytes(chunk), dtype=object).reshape(shape)
        else:
            dtype = np.dtype(_NUMPY[datatype]).newbyteorder("<")
            outputs[tensor["name"]] = np.frombuffer(chunk, dtype=dtype).reshape(shape)
    assert offset == len(binary), f"{len(binary) - offset} bytes of binary output were not claimed"
    return outputs


def _split_bytes(chunk: bytes) -> list[bytes]:
    items, position = [], 0
    while position < len(chunk):
        length = int.from_bytes(chunk[position : position + 4], "little")
        items.append(chunk[position + 4 : position + 4 + length])
        position += 4 + length
    return items


@pytest.fixture
def load_event() -> Callable[[str], dict[str, Any]]:
    """`load_event("http-api-v2-infer")`: a fresh copy of an event fixture from `events/`."""
    return read_event


@pytest.fixture
def lambda_context() -> LambdaContext:
    """A Lambda-like context with a fresh request id."""
    return LambdaContext(function_name="onnx-lambda-test", memory_limit_in_mb=1024)


@pytest.fixture
def decode_response() -> Callable[[Mapping[str, Any]], HttpResponse]:
    """`decode_response(lambda_handler(event, context))`: status, headers and body bytes."""
    return decode_http_response
