"""The bad-input catalogue: one table of malformed requests and records, HTTP and event paths.

Every case gets the documented 4xx (HTTP) or a per-record failure (events) whose `{"error": ...}`
or reason names the problem; no body leaks a traceback or a path; the next valid request still
succeeds; and the good records of the same batch all come back scored.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import numpy as np
import pytest
from moto import mock_aws
from reliability_support import (
    SETOSA,
    VALID_INFER,
    VALID_LABELS,
    VIRGINICA,
    assert_no_leak,
    dynamodb_record,
    failure_reasons,
    http_answer,
    http_event,
    iris_record,
    record_figure,
    s3_notification,
    sqs_message,
)

import handler
from handler.environment import SETTINGS, STORE
from handler.events import handle
from handler.events.batch import EventScorer
from handler.events.destinations import ReturnWriter
from onnx_lambda.context import LambdaContext

INFER = "/v2/models/iris/infer"
PREDICT = "/v1/models/iris:predict"
DEEP = 100_000  # brackets: far past Python's recursion limit


def tensor(data: Any, shape: list[int], datatype: str = "FP32", name: str = "input") -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def infer_body(*tensors: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"inputs": list(tensors), **extra})


def binary_body(declared: int, sent: int) -> tuple[bytes, int]:
    """An infer request whose JSON says `declared` bytes of FP32 data follow; `sent` bytes do."""
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "input",
                    "shape": [1, 4],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": declared},
                }
            ]
        }
    ).encode()
    return header + np.ones(sent // 4 + 1, dtype="<f4").tobytes()[:sent], len(header)


@dataclass(frozen=True)
class HttpCase:
    """A request through API Gateway to `handler.lambda_handler`, and the 4xx it must get."""

    id: str
    path: str
    body: bytes | str
    status: int
    words: tuple[str, ...]
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    raw_body: str | None = None
    """Sent as the event's base64 body verbatim (for garbage that is not base64)."""


_SHORT, _SHORT_LEN = binary_body(16, 10)
_LONG, _LONG_LEN = binary_body(16, 20)
_OK_BINARY, _OK_LEN = binary_body(16, 16)

HTTP_CASES = [
    HttpCase("truncated-json", INFER, VALID_INFER[:40], 400, ("not valid JSON",)),
    HttpCase("malformed-json", INFER, b'{"inputs": [}', 400, ("not valid JSON",)),
    HttpCase("empty-body", INFER, b"", 400, ("not valid JSON",)),
    HttpCase("not-utf8", INFER, b"\xff\xfe\x00", 400, ("not valid JSON", "utf-8")),
    HttpCase("body-is-a-list", INFER, "[1, 2]", 400, ("JSON object", "inputs")),
    HttpCase("no-inputs", INFER, '{"outputs": []}', 400, ("non-empty 'inputs'",)),
    HttpCase("empty-inputs", INFER, '{"inputs": []}', 400, ("non-empty 'inputs'",)),
    HttpCase(
        "wrong-datatype",
        INFER,
        infer_body(tensor([1, 2, 3, 4], [1, 4], "INT64")),
        400,
        ("expects FP32", "INT64"),
    ),
    HttpCase(
        "unknown-datatype",
        INFER,
        infer_body(tensor([1, 2, 3, 4], [1, 4], "FP128")),
        400,
        ("FP128", "expected one of"),
    ),
    HttpCase(
        "wrong-rank",
        INFER,
        infer_body(tensor([1, 2, 3, 4], [4])),
        400,
        ("expects FP32 with shape [-1, 4]", "[4]"),
    ),
    HttpCase(
        "wrong-dims",
        INFER,
        infer_body(tensor([1, 2, 3], [1, 3])),
        400,
        ("expects FP32 with shape [-1, 4]", "[1, 3]"),
    ),
    HttpCase(
        "shape-disagrees-with-data",
        INFER,
        infer_body(tensor([1, 2, 3, 4], [2, 4])),
        400,
        ("4 elements", "needs 8"),
    ),
    HttpCase(
        "negative-dim", INFER, infer_body(tensor([1, 2, 3, 4], [-1, 4])), 400, ("non-negative integers",)
    ),
    HttpCase(
        "astronomical-shape", INFER, infer_body(tensor([1, 2, 3, 4], [10**30, 4])), 400, ("4 elements",)
    ),
    HttpCase("ragged-rows", INFER, infer_body(tensor([[1, 2, 3, 4], [1, 2]], [2, 4])), 400, ("ragged",)),
    HttpCase(
        "missing-input",
        INFER,
        infer_body(tensor([1, 2, 3, 4], [1, 4], name="features")),
        400,
        ("missing ['input']",),
    ),
    HttpCase(
        "extra-input",
        INFER,
        infer_body(tensor([1, 2, 3, 4], [1, 4]), tensor([1], [1], name="colour")),
        400,
        ("unexpected ['colour']",),
    ),
    HttpCase(
        "duplicate-input",
        INFER,
        infer_body(tensor(SETOSA, [1, 4]), tensor(SETOSA, [1, 4])),
        400,
        ("more than once",),
    ),
    HttpCase(
        "strings-for-numbers",
        INFER,
        infer_body(tensor(["5.1", "3.5", "1.4", "0.2"], [1, 4])),
        400,
        ("expected numbers",),
    ),
    HttpCase(
        "one-string-among-numbers",
        INFER,
        infer_body(tensor([5.1, "3.5", 1.4, 0.2], [1, 4])),
        400,
        ("expected numbers",),
    ),
    HttpCase(
        "booleans-for-numbers",
        INFER,
        infer_body(tensor([True, False, True, False], [1, 4])),
        400,
        ("booleans",),
    ),
    HttpCase("null-in-data", INFER, infer_body(tensor([None, 3.5, 1.4, 0.2], [1, 4])), 400, ("null",)),
    HttpCase(
        "object-in-data", INFER, infer_body(tensor([{"x": 1}, 3.5, 1.4, 0.2], [1, 4])), 400, ("non-numbers",)
    ),
    HttpCase(
        "nan-literal",
        INFER,
        infer_body(tensor([0.0, 3.5, 1.4, 0.2], [1, 4])).replace("0.0", "NaN"),
        400,
        ("NaN", "not valid JSON"),
    ),
    HttpCase(
        "infinity-literal",
        INFER,
        infer_body(tensor([0.0, 3.5, 1.4, 0.2], [1, 4])).replace("0.0", "-Infinity"),
        400,
        ("Infinity",),
    ),
    HttpCase(
        "float-overflowing-fp32",
        INFER,
        infer_body(tensor([1e39, 3.5, 1.4, 0.2], [1, 4])),
        400,
        ("too large for FP32",),
    ),
    HttpCase(
        "float-overflowing-json",
        INFER,
        infer_body(tensor([1.0, 3.5, 1.4, 0.2], [1, 4])).replace("1.0,", "1e400,"),
        400,
        ("too large for FP32",),
    ),
    HttpCase(
        "integer-beyond-float",
        INFER,
        infer_body(tensor([10**400, 3.5, 1.4, 0.2], [1, 4])),
        400,
        ("too large for FP32",),
    ),
    HttpCase(
        "integer-of-5000-digits",
        INFER,
        infer_body(tensor([1, 3.5, 1.4, 0.2], [1, 4])).replace("[1,", "[" + "9" * 5000 + ",", 1),
        400,
        ("not valid JSON", "digits"),
    ),
    HttpCase("deeply-nested-array", INFER, "[" * DEEP + "]" * DEEP, 400, ("nested too deeply",)),
    HttpCase(
        "deeply-nested-data",
        INFER,
        '{"inputs": [{"name": "input", "data": ' + "[" * DEEP + "]" * DEEP + "}]}",
        400,
        ("nested too deeply",),
    ),
    HttpCase(
        "deeply-nested-predict",
        PREDICT,
        '{"instances": ' + "[" * DEEP + "]" * DEEP + "}",
        400,
        ("nested too deeply",),
    ),
    HttpCase(
        "id-not-a-string", INFER, infer_body(tensor(SETOSA, [1, 4]), id=42), 400, ("'id' must be a string",)
    ),
    HttpCase(
        "parameters-not-an-object",
        INFER,
        infer_body(tensor(SETOSA, [1, 4]), parameters=[1]),
        400,
        ("'parameters' must be a JSON object",),
    ),
    HttpCase(
        "unknown-output",
        INFER,
        infer_body(tensor(SETOSA, [1, 4]), outputs=[{"name": "logits"}]),
        400,
        ("no output 'logits'",),
    ),
    HttpCase(
        "batch-over-limit",
        INFER,
        infer_body(tensor([SETOSA] * 8193, [8193, 4])),
        400,
        ("batch of 8193 rows", "limit of 8192"),
    ),
    HttpCase(
        "body-over-limit",
        INFER,
        b" " * (SETTINGS.max_body_bytes + 1),
        413,
        ("limit is", "ONNX_LAMBDA_MAX_BODY_BYTES"),
    ),
    HttpCase(
        "unknown-model", "/v2/models/tulip/infer", VALID_INFER, 404, ("'tulip' is not loaded", "available")
    ),
    HttpCase(
        "unknown-version",
        "/v2/models/iris/versions/9/infer",
        VALID_INFER,
        404,
        ("no version '9'", "available"),
    ),
    HttpCase(
        "unknown-model-predict",
        "/v1/models/tulip:predict",
        '{"instances": [[1, 2, 3, 4]]}',
        404,
        ("'tulip' is not loaded",),
    ),
    HttpCase("wrong-content-type", INFER, VALID_INFER, 415, ("text/plain",), content_type="text/plain"),
    HttpCase(
        "wrong-content-type-predict",
        PREDICT,
        '{"instances": [[1, 2, 3, 4]]}',
        415,
        ("application/xml",),
        content_type="application/xml",
    ),
    HttpCase(
        "wrong-content-type-invocations",
        "/invocations",
        "5,1,1,1",
        415,
        ("image/png",),
        content_type="image/png",
    ),
    HttpCase("wrong-method", INFER, b"", 405, ("GET is not allowed",), method="GET"),
    HttpCase("unknown-route", "/v2/models/iris/explain", VALID_INFER, 404, ("no route",)),
    HttpCase("base64-garbage", INFER, b"", 400, ("not valid base64",), raw_body="!!!not base64@@@"),
    HttpCase(
        "binary-shorter-than-declared",
        INFER,
        _SHORT,
        400,
        ("declares 16 bytes", "only 10 remain"),
        "application/octet-stream",
        {"inference-header-content-length": str(_SHORT_LEN)},
    ),
    HttpCase(
        "binary-longer-than-declared",
        INFER,
        _LONG,
        400,
        ("20 bytes", "add up to 16"),
        "application/octet-stream",
        {"inference-header-content-length": str(_LONG_LEN)},
    ),
    HttpCase(
        "binary-header-length-past-body",
        INFER,
        _OK_BINARY,
        400,
        ("Inference-Header-Content-Length is 99999",),
        "application/octet-stream",
        {"inference-header-content-length": "99999"},
    ),
    HttpCase(
        "binary-header-length-negative",
        INFER,
        _OK_BINARY,
        400,
        ("Inference-Header-Content-Length is -1",),
        "application/octet-stream",
        {"inference-header-content-length": "-1"},
    ),
    HttpCase(
        "binary-header-length-not-integer",
        INFER,
        _OK_BINARY,
        400,
        ("must be an integer",),
        "application/octet-stream",
        {"inference-header-content-length": "12.5"},
    ),
    HttpCase(
        "binary-header-length-splits-json",
        INFER,
        _OK_BINARY,
        400,
        ("not valid JSON",),
        "application/octet-stream",
        {"inference-header-content-length": "10"},
    ),
    HttpCase(
        "binary-wrong-size-for-shape",
        INFER,
        binary_body(12, 12)[0],
        400,
        ("12 bytes", "needs 16"),
        "application/octet-stream",
        {"inference-header-content-length": str(binary_body(12, 12)[1])},
    ),
    HttpCase("predict-empty-batch", PREDICT, '{"instances": []}', 400, ("non-empty list",)),
    HttpCase(
        "predict-batch-over-limit",
        PREDICT,
        json.dumps({"instances": [SETOSA] * 8193}),
        400,
        ("limit of 8192",),
    ),
    HttpCase(
        "predict-neither-instances-nor-inputs", PREDICT, '{"rows": [[1, 2, 3, 4]]}', 400, ('"instances"',)
    ),
    HttpCase(
        "predict-record-missing-feature",
        PREDICT,
        json.dumps({"instances": [{"sepal_length": 5.1}]}),
        400,
        ("missing features", "sepal_width"),
    ),
    HttpCase(
        "predict-strings-for-numbers",
        PREDICT,
        '{"instances": [["a", "b", "c", "d"]]}',
        400,
        ("expected numbers",),
    ),
    HttpCase(
        "predict-unknown-input",
        PREDICT,
        '{"inputs": {"colour": [[1, 2, 3, 4]]}}',
        400,
        ("no input 'colour'",),
    ),
    HttpCase(
        "csv-not-numbers",
        "/invocations",
        "a,b,c,d\n",
        400,
        ("CSV line 1", "not a number"),
        content_type="text/csv",
    ),
    HttpCase("csv-empty", "/invocations", "", 400, ("no rows",), content_type="text/csv"),
    HttpCase(
        "csv-ragged",
        "/invocations",
        "5.1,3.5,1.4,0.2\n5.1,3.5\n",
        400,
        ("equal length",),
        content_type="text/csv",
    ),
    HttpCase("csv-nan", "/invocations", "nan,3.5,1.4,0.2\n", 400, ("NaN",), content_type="text/csv"),
    HttpCase(
        "csv-field-over-the-csv-module-limit",
        "/invocations",
        "1," + "9" * 200_000 + "\n",
        400,
        ("CSV body is malformed", "field larger"),
        content_type="text/csv",
    ),
]


def send(event: dict[str, Any]) -> tuple[int, bytes]:
    return http_answer(handler.lambda_handler(event, LambdaContext()))


def valid_request_succeeds() -> None:
    status, body = send(http_event(INFER, VALID_INFER))
    assert status == 200, body
    labels = next(o for o in json.loads(body)["outputs"] if o["name"] == "label")["data"]
    assert labels == VALID_LABELS


@pytest.mark.parametrize("case", HTTP_CASES, ids=[case.id for case in HTTP_CASES])
def test_http_bad_input_gets_its_4xx_and_the_next_request_succeeds(case: HttpCase) -> None:
    event = http_event(case.path, case.body, case.content_type, case.headers, case.method)
    if case.raw_body is not None:
        event["body"] = case.raw_body
    status, body = send(event)

    assert status == case.status, body[:300]
    error = json.loads(body)["error"]
    for word in case.words:
        assert word in error, f"{word!r} not in {error!r}"
    assert_no_leak(body)
    valid_request_succeeds()
    record_figure("cases", 1, path="http", case=case.id)


@dataclass(frozen=True)
class RecordCase:
    """A bad record between two good ones in one SQS batch, and the words its failure names."""

    id: str
    body: str
    words: tuple[str, ...]
    attributes: dict[str, str] = field(default_factory=dict)


RECORD_CASES = [
    RecordCase("truncated-json", iris_record("x")[:30], ("not valid JSON",)),
    RecordCase("empty-body", "", ("not valid JSON",)),
    RecordCase("json-string", '"hello"', ("JSON object or list",)),
    RecordCase("json-null", "null", ("JSON object or list",)),
    RecordCase("deeply-nested", "[" * DEEP + "]" * DEEP, ("nested too deeply",)),
    RecordCase(
        "missing-feature", json.dumps({"id": "b", "sepal_length": 5.1}), ("missing features", "sepal_width")
    ),
    RecordCase("string-feature", iris_record("b").replace("5.1", '"five"'), ("expected numbers",)),
    RecordCase("nan-feature", iris_record("b").replace("5.1", "NaN"), ("NaN",)),
    RecordCase("huge-feature", iris_record("b").replace("5.1", "1" + "0" * 400), ("too large",)),
    RecordCase("null-feature", iris_record("b").replace("5.1", "null"), ("null",)),
    RecordCase("wrong-dims", '{"instances": [[1, 2, 3]]}', ("expects FP32 with shape [-1, 4]",)),
    RecordCase("empty-batch", '{"instances": []}', ("non-empty list",)),
    RecordCase("batch-over-limit", json.dumps({"instances": [SETOSA] * 8193}), ("limit of 8192",)),
    RecordCase(
        "wrong-datatype", infer_body(tensor([1, 2, 3, 4], [1, 4], "INT64")), ("expects FP32", "INT64")
    ),
    RecordCase(
        "extra-input",
        infer_body(tensor(SETOSA, [1, 4]), tensor([1], [1], name="colour")),
        ("unexpected ['colour']",),
    ),
    RecordCase(
        "unknown-model", '{"instances": [[1, 2, 3, 4]]}', ("'tulip' is not loaded",), {"model": "tulip"}
    ),
    RecordCase(
        "unknown-version",
        '{"model": "iris", "model_version": "9", "instances": [[1, 2, 3, 4]]}',
        ("no version '9'",),
    ),
    RecordCase(
        "broken-s3-notification",
        '{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}',
        ("KeyError",),
    ),
]


@pytest.mark.parametrize("case", RECORD_CASES, ids=[case.id for case in RECORD_CASES])
def test_a_bad_sqs_record_fails_alone_and_no_good_record_is_lost(
    case: RecordCase, caplog: pytest.LogCaptureFixture
) -> None:
    event = {
        "Records": [
            sqs_message("good-1", iris_record("good-1", SETOSA)),
            sqs_message("bad", case.body, case.attributes),
            sqs_message("good-2", iris_record("good-2", VIRGINICA)),
        ]
    }
    with caplog.at_level("WARNING", logger="onnx_lambda.events"):
        response = handler.lambda_handler(event, LambdaContext())

    assert response["batchItemFailures"] == [{"itemIdentifier": "bad"}]
    assert {r["id"]: r["prediction"]["label"] for r in response["results"]} == {"good-1": 0, "good-2": 2}
    reasons = failure_reasons(caplog.records)
    assert list(reasons) == ["bad"]
    for word in case.words:
        assert word in reasons["bad"], f"{word!r} not in {reasons['bad']!r}"
    assert_no_leak(reasons["bad"])
    valid_request_succeeds()
    record_figure("cases", 1, path="sqs", case=case.id)


DYNAMODB_CASES = {
    "missing-feature": (
        {"id": "bad", "sepal_length": 5.1, "sepal_width": 3.5},
        ("missing features", "petal_length"),
    ),
    "string-feature": (
        {
            "id": "bad",
            **dict(zip(("sepal_length", "sepal_width", "petal_length"), SETOSA[:3], strict=True)),
            "petal_width": "wide",
        },
        ("expected numbers",),
    ),
    "number-that-is-not": ({"id": "bad"}, ("not a DynamoDB number",)),
}


@pytest.mark.parametrize("name", list(DYNAMODB_CASES))
def test_a_dynamodb_record_missing_a_feature_fails_alone(name: str, caplog: pytest.LogCaptureFixture) -> None:
    image, words = DYNAMODB_CASES[name]
    bad = dynamodb_record("2", image)
    if name == "number-that-is-not":
        bad["dynamodb"]["NewImage"] = {"id": {"S": "bad"}, "sepal_length": {"N": "five"}}
    good = [
        dynamodb_record(
            seq,
            {
                "id": f"good-{seq}",
                **dict(zip(("sepal_length", "sepal_width", "petal_length", "petal_width"), row, strict=True)),
            },
        )
        for seq, row in (("1", SETOSA), ("3", VIRGINICA))
    ]
    with caplog.at_level("WARNING", logger="onnx_lambda.events"):
        response = handler.lambda_handler({"Records": [good[0], bad, good[1]]}, LambdaContext())

    assert response["batchItemFailures"] == [{"itemIdentifier": "2"}]
    assert sorted(r["id"] for r in response["results"]) == ["good-1", "good-3"]
    reason = failure_reasons(caplog.records)["2"]
    for word in words:
        assert word in reason, f"{word!r} not in {reason!r}"
    record_figure("cases", 1, path="dynamodb", case=name)


def _npy(rows: list[list[float]]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array(rows, dtype=np.float32))
    return buffer.getvalue()


GOOD_CSV = (
    "id,sepal_length,sepal_width,petal_length,petal_width\nrow-a,5.1,3.5,1.4,0.2\nrow-b,6.3,3.3,6.0,2.5\n"
)
S3_CASES: dict[str, tuple[str, bytes | None, tuple[str, ...]]] = {
    "missing-object": ("gone.csv", None, ("NoSuchKey",)),
    "empty-object": ("empty.csv", b"", ("empty",)),
    "truncated-csv": ("cut.csv", GOOD_CSV.encode()[:-9], ("CSV line 3", "fields")),
    "truncated-jsonl": ("cut.jsonl", iris_record("a").encode()[:-7], ("line 1", "not valid JSON")),
    "truncated-npy": ("cut.npy", _npy([SETOSA, VIRGINICA])[:-5], (".npy data ends early",)),
    "wrong-format": ("flowers.parquet", b"PAR1\x00\x00", ("not .csv",)),
    "npy-that-is-not": ("fake.npy", b"id,a\n1,2\n", ("not a .npy file",)),
    "csv-missing-feature": (
        "narrow.csv",
        b"id,sepal_length\nrow-a,5.1\n",
        ("lacks the model's features", "sepal_width"),
    ),
}


@pytest.fixture
def s3_scorer(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, EventScorer]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="incoming")
        s3.put_object(Bucket="incoming", Key="good.csv", Body=GOOD_CSV.encode())
        yield s3, EventScorer(STORE, SETTINGS, ReturnWriter(), s3=s3)


@pytest.mark.parametrize("name", list(S3_CASES))
def test_a_bad_s3_object_fails_its_message_and_the_good_object_is_scored(
    name: str, s3_scorer: tuple[Any, EventScorer], caplog: pytest.LogCaptureFixture
) -> None:
    s3, scorer = s3_scorer
    key, content, words = S3_CASES[name]
    if content is not None:
        s3.put_object(Bucket="incoming", Key=key, Body=content)
    event = {
        "Records": [
            sqs_message("good-object", s3_notification("incoming", "good.csv")),
            sqs_message("bad-object", s3_notification("incoming", key)),
        ]
    }
    with caplog.at_level("WARNING", logger="onnx_lambda.events"):
        response = handle(event, LambdaContext(), scorer)

    assert response["batchItemFailures"] == [{"itemIdentifier": "bad-object"}]
    (summary,) = response["objects"]
    assert summary["key"] == "good.csv"
    assert [(r["id"], r["prediction"]["label"]) for r in summary["results"]] == [("row-a", 0), ("row-b", 2)]
    reason = failure_reasons(caplog.records)["bad-object"]
    assert f"s3://incoming/{key}" in reason
    for word in words:
        assert word in reason, f"{word!r} not in {reason!r}"
    assert_no_leak(reason)
    record_figure("cases", 1, path="s3", case=name)


EVENT_CASES = {
    "not-an-object": ([1, 2, 3], ("JSON list",)),
    "no-records": ({"Records": []}, ("no event source recognises",)),
    "unknown-source": ({"Records": [{"eventSource": "aws:kafka"}]}, ("aws:kafka",)),
    "sqs-without-message-id": (
        {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]},
        ("sqs event is malformed", "messageId"),
    ),
    "s3-without-object": (
        {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]},
        ("s3 event is malformed", "object"),
    ),
}


@pytest.mark.parametrize("name", list(EVENT_CASES))
def test_an_event_nobody_sends_is_refused_with_what_was_expected(name: str) -> None:
    from handler.errors import UnrecognisedEvent

    event, words = EVENT_CASES[name]
    with pytest.raises(UnrecognisedEvent) as raised:
        handler.lambda_handler(event, LambdaContext())

    assert raised.value.status == 400
    for word in words:
        assert word in raised.value.message
    assert_no_leak(raised.value.message)
    valid_request_succeeds()
    record_figure("cases", 1, path="event", case=name)
