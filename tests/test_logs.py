"""Structured logs: one JSON object a line, carrying the invocation's ids, whatever a caller sends."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest
from awslambdaric import bootstrap
from awslambdaric.lambda_runtime_log_utils import _JSON_FRAME_TYPES
from awslambdaric.lambda_runtime_log_utils import JsonFormatter as RuntimeJsonFormatter
from log_capture import HOSTILE, json_logs

from handler.invocation import CURRENT
from handler.logs import FIELD_MAX, JsonFormatter, configure
from handler.settings import Settings
from onnx_lambda.context import LambdaContext

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
logger = logging.getLogger("onnx_lambda.test")


@dataclass(frozen=True)
class RanModel:
    name: str
    version: str


@pytest.fixture
def invocation(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The current invocation, begun with a context and an X-Ray trace id as Lambda sets them."""
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    context = LambdaContext()
    current = CURRENT.begin(context, "sqs")
    yield current
    CURRENT.begin(None, "none")


def test_a_line_carries_the_invocation_context(invocation):
    invocation.ran(RanModel("iris", "3"), 0.001, 4)
    invocation.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    invocation.client_request_id = "client-42"

    with json_logs() as logs:
        logger.info("scored %d rows", 4, extra={"timings_ms": {"run": 1.0}})

    (line,) = logs.lines()
    assert line["message"] == "scored 4 rows"
    assert line["level"] == "INFO"
    assert line["logger"] == "onnx_lambda.test"
    assert line["timestamp"].endswith("Z")
    assert line["requestId"] == invocation.request_id
    assert line["function_name"] == "scorer"
    assert (line["event_source"], line["model_name"], line["model_version"]) == ("sqs", "iris", "3")
    assert line["xray_trace_id"] == TRACE
    assert line["traceparent"] == invocation.traceparent
    assert line["x_request_id"] == "client-42"
    assert line["timings_ms"] == {"run": 1.0}


def test_an_exception_is_logged_with_its_traceback_inside_the_line(invocation):
    def score() -> None:
        raise RuntimeError("session failed\nwith detail")

    with json_logs() as logs:
        try:
            score()
        except RuntimeError:
            logger.exception("the invocation failed")

    assert logs.text.count("\n") == 1
    (line,) = logs.lines()
    assert line["errorType"] == "RuntimeError"
    assert line["errorMessage"] == "session failed\nwith detail"
    assert line["stackTrace"].startswith("Traceback (most recent call last):")
    assert "in score" in line["stackTrace"]


@pytest.mark.parametrize("text", HOSTILE)
def test_user_input_never_breaks_the_format(invocation, text):
    invocation.ran(RanModel(text, text), 0.001, 1)
    invocation.client_request_id = text
    invocation.traceparent = text

    with json_logs() as logs:
        logger.warning("record %s failed: %s", text, text, extra={"record_id": text, "reason": text})
        logger.warning(text)

    assert logs.text.count("\n") == 2
    first, second = logs.lines()
    assert first["record_id"] == text[:FIELD_MAX] or first["record_id"].startswith(text[:FIELD_MAX] + "...[")
    assert len(first["record_id"]) <= FIELD_MAX + 40
    assert first["level"] == "WARNING"
    assert second["message"].startswith(text[:100])
    for line in (first, second):
        assert len(json.dumps(line)) < 64_000
        assert line["model_name"].startswith(text[:100])


def test_a_message_whose_arguments_do_not_fit_is_still_one_line(invocation):
    record = logging.LogRecord(
        "onnx_lambda.x", logging.ERROR, __file__, 1, "expected a number: %d", ("not a number",), None
    )

    text = JsonFormatter("scorer").format(record)

    assert "\n" not in text
    line = json.loads(text)
    assert "expected a number" in line["message"]
    assert "not a number" in line["message"]


def test_debug_lines_follow_the_level_setting():
    with json_logs(level=logging.INFO) as logs:
        logger.debug("hidden")
        logger.info("shown")

    assert [line["message"] for line in logs.lines()] == ["shown"]


class FramedSink:
    """Lambda's telemetry log sink, keeping the frames it would send: (frame type, message)."""

    def __init__(self) -> None:
        self.frames: list[tuple[bytes | None, str]] = []

    def log(self, msg: str, frame_type: bytes | None = None) -> None:
        self.frames.append((frame_type, msg))


@pytest.fixture
def onnx_lambda_level() -> Any:
    ours = logging.getLogger("onnx_lambda")
    level, summary = ours.level, CURRENT.summary
    yield
    ours.setLevel(level)
    CURRENT.summary = summary


@pytest.mark.usefixtures("onnx_lambda_level")
def test_on_lambda_the_runtime_handler_keeps_its_sink_and_writes_our_lines(monkeypatch, capsys):
    root = logging.Logger("lambda-root")
    runtime_handler = bootstrap.LambdaLoggerHandler(bootstrap.StandardLogSink())
    runtime_handler.addFilter(bootstrap.LambdaLoggerFilter())
    root.addHandler(runtime_handler)
    monkeypatch.setattr(bootstrap, "_GLOBAL_AWS_REQUEST_ID", "runtime-request-id")
    CURRENT.request_id = None

    configure(Settings(log_level="WARNING", function_name="scorer"), root)
    root.warning("first line\nstill the first line")

    assert root.handlers == [runtime_handler]
    output = capsys.readouterr().out
    assert output.endswith("\n")
    assert output.count("\n") == 1
    line = json.loads(output)
    assert line["message"] == "first line\nstill the first line"
    assert line["requestId"] == "runtime-request-id"
    assert logging.getLogger("onnx_lambda").level == logging.WARNING


@pytest.mark.usefixtures("onnx_lambda_level")
def test_with_lambdas_json_log_format_lines_go_out_in_json_frames():
    root = logging.Logger("lambda-root")
    sink = FramedSink()
    runtime_handler = bootstrap.LambdaLoggerHandlerWithFrameType(sink)
    runtime_handler.setFormatter(RuntimeJsonFormatter())
    root.addHandler(runtime_handler)

    configure(Settings(log_level="DEBUG", function_name="scorer"), root)
    root.error("failed")

    ((frame_type, message),) = sink.frames
    assert frame_type == _JSON_FRAME_TYPES[logging.ERROR]
    assert json.loads(message)["level"] == "ERROR"
    assert CURRENT.summary is True


def test_the_formatter_writes_one_line_for_lambdas_runtime():
    formatter = JsonFormatter("scorer", line_end="\n")
    record = logging.LogRecord("onnx_lambda.x", logging.INFO, __file__, 1, "a\nb", (), None)

    text = formatter.format(record)

    assert text.endswith("}\n")
    assert text.count("\n") == 1
