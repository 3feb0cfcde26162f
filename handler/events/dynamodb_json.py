"""DynamoDB's typed JSON to plain values and back, without boto3 (its TypeDeserializer import
costs ~155 ms of cold start: `python -X importtime -c "from boto3.dynamodb.types import TypeDeserializer"`).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

from handler.errors import InvalidInput


def to_plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (`{"price": {"N": "4.5"}}`) as plain values (`{"price": 4.5}`)."""
    return {name: plain_value(value) for name, value in item.items()}


def plain_value(value: Any) -> Any:
    """One attribute value; numbers become int or float, sets become lists."""
    if not isinstance(value, dict) or len(value) != 1:
        raise InvalidInput(f"{value!r} is not a DynamoDB attribute value")
    ((kind, data),) = value.items()
    if kind == "N":
        return _number(data)
    if kind == "S":
        return data
    if kind == "BOOL":
        return bool(data)
    if kind == "NULL":
        return None
    if kind == "M":
        return to_plain(data)
    if kind == "L":
        return [plain_value(entry) for entry in data]
    if kind == "NS":
        return [_number(entry) for entry in data]
    if kind == "SS":
        return list(data)
    if kind == "B":
        return base64.b64decode(data)
    if kind == "BS":
        return [base64.b64decode(entry) for entry in data]
    raise InvalidInput(f"unknown DynamoDB type {kind!r}")


def _number(text: str) -> int | float:
    try:
        return int(text)
    except (ValueError, TypeError):
        pass
    try:
        return float(text)
    except (ValueError, TypeError):
        raise InvalidInput(f"{text!r} is not a DynamoDB number") from None


def to_dynamodb(item: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values as a DynamoDB item, ready for the low-level client."""
    return {name: dynamodb_value(value) for name, value in item.items()}


def dynamodb_value(value: Any) -> dict[str, Any]:
    """One plain value as a DynamoDB attribute value; NaN and infinities become NULL."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": repr(value)} if math.isfinite(value) else {"NULL": True}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, Mapping):
        return {"M": to_dynamodb(value)}
    if isinstance(value, list | tuple):
        return {"L": [dynamodb_value(entry) for entry in value]}
    raise InvalidInput(f"cannot store a {type(value).__name__} in DynamoDB")


def writable(item: Mapping[str, Any]) -> dict[str, Any]:
    """A stream image made ready to write back: numbers keep their exact text, binaries are decoded."""
    return {name: _writable_value(value) for name, value in item.items()}


def _writable_value(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, data),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(data)}
    if kind == "BS":
        return {"BS": [base64.b64decode(entry) for entry in data]}
    if kind == "M":
        return {"M": writable(data)}
    if kind == "L":
        return {"L": [_writable_value(entry) for entry in data]}
    return value
