"""Structured logs: every line one JSON object carrying the invocation's ids, model and source.

`configure` runs once at init. On Lambda the Python runtime has already put its own handler on the
root logger (it writes to the platform's log pipe, one frame per record), so that handler is kept and
only its formatter is replaced: each record, from any logger, becomes one JSON line. Elsewhere (a
plain `python`, uvicorn) a handler printing the same lines to stdout is put on the `onnx_lambda`
logger, unless the root logger already has handlers (pytest's, a user's) to propagate to.

User input reaches these lines (record ids, model names from messages, request headers), so no value
is written as it arrives: `json.dumps` escapes quotes, newlines and control characters, every string is
capped, and a message whose arguments cannot be formatted is still written.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Mapping
from typing import Any, TextIO

from handler.invocation import CURRENT
from handler.settings import Settings

LOGGER = "onnx_lambda"
FIELD_MAX = 1024
"""The longest string value a log line keeps (record ids, model names, headers, reasons)."""
MESSAGE_MAX = 8192
STACK_MAX = 32768
# Attributes every LogRecord has, and those Lambda's runtime adds; anything else came from `extra`.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "taskName", "aws_request_id", "tenant_id", "_frame_type"}
)


def cap(text: str, limit: int = FIELD_MAX) -> str:
    """`text` cut to `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit} more characters]"


def _capped(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return cap(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth < 3 and isinstance(value, Mapping):
        return {cap(str(key), 128): _capped(item, depth + 1) for key, item in list(value.items())[:100]}
    if depth < 3 and isinstance(value, list | tuple):
        return [_capped(item, depth + 1) for item in value[:100]]
    return cap(repr(value))


def _timestamp(created: float) -> str:
    seconds = int(created)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((created - seconds) * 1000):03d}Z"
    )


class JsonFormatter(logging.Formatter):
    """Formats a log record as one JSON object on one line."""

    def __init__(
        self, function_name: str, line_end: str = "", frame_types: Mapping[int, bytes] | None = None
    ) -> None:
        """Build the formatter.

        function_name: written on every line (`function_name`).
        line_end: appended to each line; "\\n" for Lambda's runtime handler, which writes lines as given.
        frame_types: Lambda's JSON frame type by level, when the function's log format is JSON.
        """
        super().__init__()
        self.function_name = cap(function_name, 256)
        self.line_end = line_end
        self.frame_types = frame_types

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # a message whose arguments do not fit its format still gets logged
            message = f"{record.msg!r} with arguments {record.args!r}"
        line: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname,
            "message": cap(message, MESSAGE_MAX),
            "logger": record.name,
            "function_name": self.function_name,
        }
        invocation = CURRENT
        request_id = invocation.request_id or getattr(record, "aws_request_id", None)
        if request_id:
            line["requestId"] = cap(request_id, 128)
        if invocation.count:
            line["event_source"] = invocation.source
        if invocation.model is not None:
            line["model_name"] = cap(str(invocation.model_name), 256)
            if invocation.model_version is not None:
                line["model_version"] = cap(invocation.model_version, 128)
        trace_id = invocation.trace_id
        if trace_id:
            line["xray_trace_id"] = cap(trace_id, 256)
        if invocation.traceparent is not None:
            line["traceparent"] = cap(invocation.traceparent, 256)
        if invocation.client_request_id is not None:
            line["x_request_id"] = cap(invocation.client_request_id, 256)
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and key not in line:
                line[key] = _capped(value)
        if record.exc_info and record.exc_info[1] is not None:
            kind, error, trace = record.exc_info
            line["errorType"] = kind.__name__ if kind is not None else type(error).__name__
            line["errorMessage"] = cap(str(error))
            line["stackTrace"] = cap("".join(traceback.format_exception(kind, error, trace)), STACK_MAX)
        elif record.stack_info:
            line["stackTrace"] = cap(record.stack_info, STACK_MAX)
        if self.frame_types is not None:
            record._frame_type = self.frame_types.get(record.levelno, self.frame_types.get(logging.NOTSET))
        return json.dumps(line, default=repr) + self.line_end


class StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stdout` is when a record arrives (tests and runtimes replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def _lambda_handlers(root: logging.Logger) -> list[logging.Handler]:
    return [handler for handler in root.handlers if type(handler).__module__.startswith("awslambdaric")]


def configure(settings: Settings, root: logging.Logger | None = None) -> None:
    """Make every log line JSON, and onnx-lambda's own at the configured level (other libraries keep
    theirs); called once per execution environment."""
    root = root or logging.getLogger()
    ours = logging.getLogger(LOGGER)
    ours.setLevel(settings.log_level)
    lambda_handlers = _lambda_handlers(root)
    for handler in lambda_handlers:
        frame_types = None
        if type(handler.formatter).__name__ == "JsonFormatter":  # AWS_LAMBDA_LOG_FORMAT=JSON
            runtime_logs = sys.modules.get("awslambdaric.lambda_runtime_log_utils")
            frame_types = getattr(runtime_logs, "_JSON_FRAME_TYPES", None)
        handler.setFormatter(JsonFormatter(settings.function_name, "\n", frame_types))
    if not lambda_handlers and not root.handlers and not ours.handlers:
        handler = StdoutHandler()
        handler.setFormatter(JsonFormatter(settings.function_name))
        ours.addHandler(handler)
    CURRENT.summary = ours.isEnabledFor(logging.DEBUG)
