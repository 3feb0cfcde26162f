"""Requests and events the reliability tests build, and the figures they record for the README.

Figures (cases tried, fuzz examples run, faults injected, records lost) are appended as JSON lines
to the file named by ONNX_LAMBDA_RELIABILITY_FIGURES when it is set; `onnx-lambda reliability`
sets it, runs these tests and prints the table. Without it, recording does nothing.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = ROOT / "events"
FIGURES_VARIABLE = "ONNX_LAMBDA_RELIABILITY_FIGURES"

IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.3, 3.3, 6.0, 2.5]
VALID_INFER = json.dumps(
    {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [SETOSA, VIRGINICA]}]}
).encode()
VALID_LABELS = [0, 2]
# What no error body may ever contain: a traceback, a source file, or where the code lives.
LEAKS = ("Traceback", 'File "', '.py"', ".py:", "/work/", str(ROOT), "site-packages")


def record_figure(name: str, value: int, **details: Any) -> None:
    """Add `value` to the figure `name` of the README's reliability table."""
    path = os.environ.get(FIGURES_VARIABLE)
    if not path:
        return
    line = json.dumps({"figure": name, "value": value, **details}) + "\n"
    with open(path, "a", encoding="utf-8") as file:  # one small append per line: safe across workers
        file.write(line)


def read_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())  # type: ignore[no-any-return]


def http_event(
    path: str,
    body: bytes | str = b"",
    content_type: str | None = "application/json",
    headers: Mapping[str, str] | None = None,
    method: str = "POST",
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event as API Gateway sends it, body base64-encoded."""
    event = read_event("http-api-v2-infer")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    kept = {k: v for k, v in event["headers"].items() if k not in ("content-type", "content-length")}
    if content_type is not None:
        kept["content-type"] = content_type
    kept.update({k.lower(): v for k, v in (headers or {}).items()})
    event["headers"] = kept
    raw = body.encode() if isinstance(body, str) else body
    event["body"] = base64.b64encode(raw).decode()
    event["isBase64Encoded"] = True
    return event


def http_answer(response: Mapping[str, Any]) -> tuple[int, bytes]:
    """Status and decoded body bytes of a Lambda HTTP response."""
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    return int(response["statusCode"]), raw


def sqs_message(message_id: str, body: str, attributes: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One SQS message as an event source mapping delivers it."""
    message = copy.deepcopy(read_event("sqs-batch")["Records"][0])
    message["messageId"] = message_id
    message["body"] = body
    message["messageAttributes"] = {
        name: {"stringValue": value, "dataType": "String"} for name, value in (attributes or {}).items()
    }
    return message


def iris_record(record_id: str, row: list[float] = SETOSA) -> str:
    """A named-feature record body for the iris model."""
    return json.dumps({"id": record_id, **dict(zip(IRIS_FEATURES, row, strict=True))})


def dynamodb_record(sequence: str, image: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB stream INSERT whose NewImage is `image` (plain values become N or S)."""
    record = copy.deepcopy(read_event("dynamodb-stream")["Records"][0])
    typed = {
        name: {"N": str(value)} if isinstance(value, int | float) else {"S": str(value)}
        for name, value in image.items()
    }
    record["dynamodb"]["SequenceNumber"] = sequence
    record["dynamodb"]["Keys"] = {"id": typed["id"]}
    record["dynamodb"]["NewImage"] = typed
    record["dynamodb"].pop("OldImage", None)
    record["eventName"] = "INSERT"
    return record


def s3_notification(bucket: str, key: str) -> str:
    """The S3 ObjectCreated notification SQS delivers for `key`, as a message body."""
    notification = json.loads(read_event("s3-via-sqs")["Records"][0]["body"])
    entry = notification["Records"][0]
    entry["s3"]["bucket"]["name"] = bucket
    entry["s3"]["object"]["key"] = key
    entry["s3"]["object"].pop("eTag", None)
    return json.dumps(notification)


def assert_no_leak(body: bytes | str) -> None:
    """No traceback, source path or install path in what a caller sees."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} leaked into {text[:300]!r}"


def failure_reasons(records: list[Any]) -> dict[str, str]:
    """The reason each failed record was logged with, by record id, from captured log records."""
    reasons = {}
    for record in records:
        reason = getattr(record, "reason", None)
        record_id = getattr(record, "record_id", None)
        if reason is None and record.getMessage().startswith('{"message": "record failed"'):
            fields = json.loads(record.getMessage())
            reason, record_id = fields["reason"], fields["record_id"]
        if reason is not None and "fail" in record.getMessage():
            reasons[str(record_id)] = str(reason)
    return reasons
