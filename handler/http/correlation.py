"""Carries a request's correlation ids into the logs and back out in the response headers.

`FastPath`, which sees every HTTP request first, calls `correlate` once per request: it reads the
incoming `traceparent` (W3C Trace Context) and `X-Request-Id` headers into the current invocation,
for its log lines and metrics record, and returns the headers every response then carries, whether
the FastPath answers or hands the request to FastAPI (`with_headers`):

- `x-request-id`: the caller's own X-Request-Id when it is well formed, else Lambda's request id;
- `traceparent`: the caller's traceparent, when it is well formed;
- `x-amzn-trace-id`: the X-Ray trace header Lambda set for the invocation, when there is one.

A header that is malformed (too long, not printable ASCII) is logged as received, escaped and capped,
but never echoed. This is not a separate ASGI layer: one more layer costs a coroutine per request
and one per message sent, which the hot path does not pay.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from handler.invocation import CURRENT

Headers = list[tuple[bytes, bytes]]
Message = MutableMapping[str, Any]

ECHO_MAX = 128
_X_REQUEST_ID = b"x-request-id"
_TRACEPARENT = b"traceparent"
_TRACE_ID = b"x-amzn-trace-id"
_SAFE_ID = re.compile(rb"[\x21-\x7e]{1,%d}" % ECHO_MAX)
# version-traceid-parentid-flags, all lower-case hex; a later version may append more fields.
_TRACEPARENT_FORM = re.compile(rb"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[\x21-\x7e]*)?")


def correlate(scope: MutableMapping[str, Any]) -> Headers:
    """Record the request's correlation headers on the invocation; return the headers to send back."""
    invocation = CURRENT
    context = scope.get("aws.context")
    if context is None:  # served outside Lambda (uvicorn): no handler began the invocation
        invocation.begin(None, "http")
    client_id = traceparent = None
    for key, value in scope["headers"]:
        if key == _X_REQUEST_ID:
            client_id = value
        elif key == _TRACEPARENT:
            traceparent = value
    echo: Headers = []
    if client_id is not None:
        invocation.client_request_id = client_id.decode("latin-1")
    if client_id is not None and _SAFE_ID.fullmatch(client_id):
        echo.append((_X_REQUEST_ID, client_id))
    else:
        request_id = getattr(context, "aws_request_id", None)
        if isinstance(request_id, str):
            echo.append((_X_REQUEST_ID, request_id.encode()))
    if traceparent is not None:
        invocation.traceparent = traceparent.decode("latin-1")
        if len(traceparent) <= ECHO_MAX and _TRACEPARENT_FORM.fullmatch(traceparent):
            echo.append((_TRACEPARENT, traceparent))
    trace_id = invocation.trace_id
    if trace_id is not None and len(trace_id) <= 256 and trace_id.isprintable():
        echo.append((_TRACE_ID, trace_id.encode("latin-1", "replace")))
    return echo


def add_headers(message: Message, echo: Headers) -> None:
    """Add the correlation headers to an `http.response.start` message, keeping any it already has."""
    headers = message.get("headers") or []
    message["headers"] = echoed(headers, echo) if message["status"] >= 400 else [*headers, *echo]


def echoed(headers: Headers, echo: Headers) -> Headers:
    """`headers` and the correlation headers they lack (an error reply may carry its own x-request-id)."""
    present = {key.lower() for key, _ in headers}
    return [*headers, *(pair for pair in echo if pair[0] not in present)]


def with_headers(
    send: Callable[[Message], Awaitable[None]], echo: Headers
) -> Callable[[Message], Awaitable[None]]:
    """`send`, adding the correlation headers to the response it starts (for routes FastAPI answers)."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            add_headers(message, echo)
        await send(message)

    return send_with_headers
