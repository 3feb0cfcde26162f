"""Open Inference Protocol v2 infer requests and responses, JSON and binary tensor extension."""

from __future__ import annotations

import functools
import json
import math
import struct
import warnings
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from handler.datatypes import NUMPY_DTYPES, datatype_of
from handler.errors import InvalidInput
from handler.store import Model

HEADER_LENGTH = "inference-header-content-length"
_INT_KINDS = "iu"
_ACCEPTED_KINDS = {"BOOL": "b"}


def _reject_constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not valid JSON; send non-finite values as binary tensor data")


# Values too large for the target float type are refused below; numpy's warning is only noise.
warnings.filterwarnings("ignore", "overflow encountered in cast", RuntimeWarning, r"handler\.codec")

# Built once: json.loads and json.dumps with options construct a new coder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
# JSONEncoder.encode builds a C encoder per call; on small responses that is a third of the cost.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER = (
    _c_make_encoder(
        None, _ENCODER.default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False
    )
    if _c_make_encoder is not None
    else None
)


def _encode(value: Any) -> str:
    """Compact JSON text; raises ValueError on NaN or infinity."""
    if _C_ENCODER is None or isinstance(value, str):
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


def parse_json(body: bytes | str, what: str = "request body") -> Any:
    """Parse strict JSON (no NaN/Infinity), raising InvalidInput with the parser's reason."""
    try:
        text = body.decode() if isinstance(body, bytes) else body
        # The C scanner alone, when the document fills the text exactly (the usual case): decode()
        # adds two regex matches for surrounding whitespace. Anything else takes decode(), which
        # then gives the same result or the same error.
        try:
            document, end = _SCAN(text, 0)
        except StopIteration:
            return _DECODER.decode(text)
        return document if end == len(text) else _DECODER.decode(text)
    except InvalidInput:
        raise
    except RecursionError:
        raise InvalidInput(f"{what} is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None


def dumps(document: Any) -> bytes:
    """Serialise compact, strict JSON; non-finite floats become null, never invalid JSON."""
    return _encode_finite(document).encode()


def _encode_finite(value: Any) -> str:
    """Compact JSON text with non-finite floats (a model's NaN or infinity) as null."""
    try:
        return _encode(value)
    except ValueError:  # JSON has no NaN or infinity: only then walk the value to replace them
        return _encode(_finite_or_null(value))


class RequestedOutput(NamedTuple):
    """One output the client asked for, and whether it wants it as binary data (None: unsaid)."""

    name: str
    binary: bool | None


class InferRequest(NamedTuple):
    """A decoded infer request: tensors keyed by input name plus what to send back."""

    inputs: dict[str, np.ndarray]
    outputs: Sequence[RequestedOutput] = ()
    id: str | None = None
    binary_output: bool = False
    parameters: Mapping[str, Any] = MappingProxyType({})


def decode_infer_request(body: bytes, model: Model, header_length: int | None = None) -> InferRequest:
    """Decode an OIP infer request body; `header_length` splits off binary tensor data."""
    if header_length is None:
        header, binary = body, b""
    else:
        if header_length < 0 or header_length > len(body):
            raise InvalidInput(
                f"Inference-Header-Content-Length is {header_length} but the body has {len(body)} bytes"
            )
        header, binary = body[:header_length], body[header_length:]
    return decode_infer_document(parse_json(header, "infer request"), model, binary)


def decode_infer_document(document: Any, model: Model, binary: bytes = b"") -> InferRequest:
    """Decode an already-parsed OIP infer request; `binary` holds its binary tensor data, if any."""
    if not isinstance(document, dict):
        raise InvalidInput("infer request must be a JSON object with an 'inputs' list")
    raw_inputs = document.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidInput("infer request needs a non-empty 'inputs' list of tensors")
    inputs: dict[str, np.ndarray] = {}
    offset = 0
    for raw in raw_inputs:
        name, array, offset = _decode_tensor(raw, binary, offset)
        if name in inputs:
            raise InvalidInput(f"input '{name}' appears more than once")
        inputs[name] = array
    if offset != len(binary):
        raise InvalidInput(
            f"binary data is {len(binary)} bytes but the inputs' binary_data_size add up to {offset}"
        )
    parameters = _object(document.get("parameters"), "parameters")
    request_id = document.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInput("'id' must be a string")
    return InferRequest(
        inputs=inputs,
        outputs=_requested_outputs(document.get("outputs"), model),
        id=request_id,
        binary_output=bool(parameters.get("binary_data_output", False)),
        parameters=parameters,
    )


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"'{what}' must be a JSON object")
    return value


def _requested_outputs(raw: Any, model: Model) -> list[RequestedOutput]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput("'outputs' must be a list of {\"name\": ...} objects")
    requested = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidInput("each entry of 'outputs' must be an object with a string 'name'")
        if item["name"] not in model.output_names:
            raise InvalidInput(
                f"model '{model.name}' has no output '{item['name']}'; outputs: {list(model.output_names)}"
            )
        parameters = _object(item.get("parameters"), "outputs[].parameters")
        binary = parameters.get("binary_data")
        requested.append(RequestedOutput(item["name"], None if binary is None else bool(binary)))
    return requested


def _decode_tensor(raw: Any, binary: bytes, offset: int) -> tuple[str, np.ndarray, int]:
    if not isinstance(raw, dict):
        raise InvalidInput("each input must be an object with name, shape, datatype and data")
    name = raw.get("name")
    if not isinstance(name, str):
        raise InvalidInput("each input needs a string 'name'")
    shape = raw.get("shape")
    if type(shape) is not list or not all(type(dim) is int and dim >= 0 for dim in shape):
        raise InvalidInput(f"input '{name}' needs 'shape' as a list of non-negative integers")
    datatype = raw.get("datatype")
    if datatype not in NUMPY_DTYPES:
        raise InvalidInput(
            f"input '{name}' has datatype {datatype!r}; expected one of {sorted(NUMPY_DTYPES)}"
        )
    parameters = raw.get("parameters")
    size = _object(parameters, "inputs[].parameters").get("binary_data_size") if parameters else None
    if size is not None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidInput(f"input '{name}' has a binary_data_size that is not a non-negative integer")
        if offset + size > len(binary):
            raise InvalidInput(
                f"input '{name}' declares {size} bytes of binary data but only {len(binary) - offset} remain"
            )
        array = _from_binary(name, binary[offset : offset + size], datatype, shape)
        return name, array, offset + size
    if "data" not in raw:
        raise InvalidInput(f"input '{name}' has neither 'data' nor parameters.binary_data_size")
    return name, _from_json(name, raw["data"], datatype, shape), offset


def _from_json(name: str, data: Any, datatype: str, shape: list[int]) -> np.ndarray:
    return _reshape(name, json_array(name, data, datatype), shape)


def json_array(name: str, data: Any, datatype: str) -> np.ndarray:
    """Convert parsed JSON values to `datatype`, refusing wrong kinds, overflow and ragged rows."""
    if datatype == "BYTES":
        array = np.asarray(data, dtype=object)
        if not all(isinstance(item, str) for item in array.ravel()):
            raise InvalidInput(f"input '{name}' is BYTES, so every element of 'data' must be a string")
        return array
    target = NUMPY_DTYPES[datatype]
    if target.kind == "f":
        return _float_array(name, data, datatype, target)
    try:
        parsed = np.asarray(data)
    except ValueError:
        raise InvalidInput(f"input '{name}' has ragged 'data': every row must have the same length") from None
    if parsed.size == 0:
        return parsed.astype(target)
    if target.kind in _INT_KINDS and parsed.dtype.kind in "fO":
        exact = _big_integers(name, data, datatype)
        if exact is not None:
            return exact
    if parsed.dtype.kind not in _ACCEPTED_KINDS.get(datatype, _INT_KINDS):
        raise InvalidInput(
            f"input '{name}' is {datatype} but 'data' holds {_json_kind(parsed)}; "
            f"expected {'booleans' if datatype == 'BOOL' else 'integers'}"
        )
    if target.kind in _INT_KINDS and parsed.dtype.kind in _INT_KINDS:
        info = np.iinfo(target)  # type: ignore[type-var]
        if parsed.min() < info.min or parsed.max() > info.max:
            raise InvalidInput(f"input '{name}' holds integers outside the range of {datatype}")
    return parsed.astype(target, copy=False)


def _float_array(name: str, data: Any, datatype: str, target: np.dtype[Any]) -> np.ndarray:
    # Checked without numpy reductions: on small requests they cost more than the model run.
    # Types are discovered first (about a microsecond), because converting straight to a float
    # dtype would parse a string such as "2" as a number and accept it.
    first = data
    while type(first) is list and first:
        first = first[0]
    if type(first) is bool:
        raise InvalidInput(f"input '{name}' is {datatype} but 'data' holds booleans; expected numbers")
    try:
        parsed = np.asarray(data)
    except ValueError:
        raise InvalidInput(
            f"input '{name}' needs 'data' of numbers in rows of equal length "
            "(ragged rows or non-numbers found)"
        ) from None
    kind = parsed.dtype.kind
    if kind == "O":
        # null, an integer beyond int64, or lists and objects where numbers belong
        if not all(type(item) is int or type(item) is float for item in parsed.ravel()):
            raise InvalidInput(
                f"input '{name}' is {datatype} but 'data' holds null or non-numbers; expected numbers"
            )
        try:
            parsed = parsed.astype(np.float64)
        except OverflowError:
            raise InvalidInput(f"input '{name}' holds numbers too large for {datatype}") from None
    elif kind not in "fiu" and parsed.size:
        raise InvalidInput(
            f"input '{name}' is {datatype} but 'data' holds {_json_kind(parsed)}; expected numbers"
        )
    array = parsed.astype(target, copy=False)
    if b"\x00" in np.isfinite(array).tobytes():
        raise InvalidInput(f"input '{name}' holds null, NaN or numbers too large for {datatype}")
    return array


def _big_integers(name: str, data: Any, datatype: str) -> np.ndarray | None:
    """Integers numpy read as float64 (it does for any beyond int64) as exact `datatype`, else None."""
    exact = np.array(data, dtype=object)
    if not all(type(item) is int for item in exact.ravel()):
        return None
    info = np.iinfo(NUMPY_DTYPES[datatype].name)
    if exact.min() < info.min or exact.max() > info.max:
        raise InvalidInput(f"input '{name}' holds integers outside the range of {datatype}")
    return exact.astype(NUMPY_DTYPES[datatype])


def _json_kind(array: np.ndarray) -> str:
    kinds = {"b": "booleans", "f": "floating-point numbers", "i": "integers", "u": "integers"}
    return kinds.get(array.dtype.kind, "strings or mixed values")


def _reshape(name: str, array: np.ndarray, shape: list[int]) -> np.ndarray:
    if array.size != math.prod(shape):
        raise InvalidInput(
            f"input '{name}' has {array.size} elements in 'data' but shape {shape} needs {math.prod(shape)}"
        )
    try:
        return array.reshape(shape)
    except ValueError:  # an empty tensor with a dimension beyond what numpy can index
        raise InvalidInput(f"input '{name}' has a shape numpy cannot hold: {shape}") from None


def _from_binary(name: str, chunk: bytes, datatype: str, shape: list[int]) -> np.ndarray:
    if datatype == "BYTES":
        return _reshape(name, np.array(_split_bytes(name, chunk), dtype=object), shape)
    dtype = NUMPY_DTYPES[datatype]
    count = math.prod(shape)
    if len(chunk) != count * dtype.itemsize:
        raise InvalidInput(
            f"input '{name}' has {len(chunk)} bytes of binary data but {datatype} {shape} needs "
            f"{count * dtype.itemsize}"
        )
    array = np.frombuffer(chunk, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False)
    return _reshape(name, array, shape)


def _split_bytes(name: str, chunk: bytes) -> list[str]:
    # Elements are handed to ONNX Runtime as str: it turns a bytes object into its repr ("b'..'").
    items, position = [], 0
    while position < len(chunk):
        if position + 4 > len(chunk):
            raise InvalidInput(f"input '{name}' has a truncated BYTES length prefix")
        (length,) = struct.unpack_from("<I", chunk, position)
        position += 4
        if position + length > len(chunk):
            raise InvalidInput(f"input '{name}' has a BYTES element longer than the data left")
        try:
            items.append(chunk[position : position + length].decode())
        except UnicodeDecodeError:
            raise InvalidInput(
                f"input '{name}' has a BYTES element that is not UTF-8; ONNX Runtime string tensors hold text"
            ) from None
        position += length
    return items


def encode_infer_response(
    model: Model, request: InferRequest, results: Mapping[str, np.ndarray]
) -> tuple[bytes, int | None]:
    """Encode an OIP infer response; returns the body and, with binary outputs, the JSON length.

    The JSON is assembled from fragments cached per model and output, because building and
    serialising nested dicts costs more than the session run on small models.
    """
    wanted = request.outputs or [RequestedOutput(name, None) for name in results]
    parts = [_response_head(model.name, model.version)]
    if request.id is not None:
        parts.append(f',"id":{_ENCODER.encode(request.id)}')
    parts.append(',"outputs":[')
    chunks: list[bytes] = []
    for index, output in enumerate(wanted):
        array = results[output.name]
        head = _output_head(output.name, datatype_of(array))
        shape = _shape_text(array.shape)
        separator = "," if index else ""
        # An output's own binary_data setting wins over the request-wide binary_data_output.
        if request.binary_output if output.binary is None else output.binary:
            chunk = _to_binary(array)
            chunks.append(chunk)
            parts.append(f'{separator}{head}[{shape}],"parameters":{{"binary_data_size":{len(chunk)}}}}}')
        else:
            parts.append(f'{separator}{head}[{shape}],"data":{_encode_finite(tensor_data(array))}}}')
    parts.append("]}")
    header = "".join(parts).encode()
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)


@functools.lru_cache(maxsize=256)
def _response_head(name: str, version: str) -> str:
    return f'{{"model_name":{_ENCODER.encode(name)},"model_version":{_ENCODER.encode(version)}'


@functools.lru_cache(maxsize=1024)
def _shape_text(shape: tuple[int, ...]) -> str:
    return ",".join(map(str, shape))


@functools.lru_cache(maxsize=1024)
def _output_head(name: str, datatype: str) -> str:
    return f'{{"name":{_ENCODER.encode(name)},"datatype":"{datatype}","shape":'


def _finite_or_null(value: Any) -> Any:
    if isinstance(value, list):
        return [_finite_or_null(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite_or_null(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def tensor_data(array: np.ndarray) -> list[Any]:
    """Flatten a tensor to a JSON-ready row-major list (BYTES as UTF-8 strings)."""
    flat = array.ravel()
    if flat.dtype.kind in "OSU":
        return [item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in flat]
    return flat.tolist()


def _to_binary(array: np.ndarray) -> bytes:
    if array.dtype.kind in "OSU":
        parts = []
        for item in array.ravel():
            raw = item if isinstance(item, bytes) else str(item).encode()
            parts.append(struct.pack("<I", len(raw)) + raw)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
