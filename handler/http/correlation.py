"""Carries a request's correlation ids into the logs and back out in the response headers.

The outermost ASGI layer, so the FastPath routes and the FastAPI routes answer alike. It reads the
incoming `traceparent` (W3C Trace Context) and `X-Request-Id` headers into the current invocation,
for its log lines and metrics record, and adds to every response:

- `x-request-id`: the caller's own X-Request-Id when it is well formed, else Lambda's request id;
- `traceparent`: the caller's traceparent, when it is well formed;
- `x-amzn-trace-id`: the X-Ray trace header Lambda set for the invocation, when there is one.

A header that is malformed (too long, not printable ASCII) is logged as received, escaped and capped,
but never echoed.
"""

from __future__ import annotations

import re

from handler.http.fastpath import ASGIApp, Message, Receive, Scope, Send
from handler.invocation import CURRENT

ECHO_MAX = 128
_X_REQUEST_ID = b"x-request-id"
_TRACEPARENT = b"traceparent"
_TRACE_ID = b"x-amzn-trace-id"
_SAFE_ID = re.compile(rb"[\x21-\x7e]{1,%d}" % ECHO_MAX)
# version-traceid-parentid-flags, all lower-case hex; a later version may append more fields.
_TRACEPARENT_FORM = re.compile(rb"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[\x21-\x7e]*)?")


class Correlation:
    """Reads `traceparent` and `X-Request-Id` into the invocation; returns them and the trace ids."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`, whose every HTTP response then carries the correlation headers."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        invocation = CURRENT
        client_id = traceparent = None
        for key, value in scope["headers"]:
            if key == _X_REQUEST_ID:
                client_id = value
            elif key == _TRACEPARENT:
                traceparent = value
        echo: list[tuple[bytes, bytes]] = []
        if client_id is not None:
            invocation.client_request_id = client_id.decode("latin-1")
        if client_id is not None and _SAFE_ID.fullmatch(client_id):
            echo.append((_X_REQUEST_ID, client_id))
        else:
            request_id = getattr(scope.get("aws.context"), "aws_request_id", None)
            if isinstance(request_id, str):
                echo.append((_X_REQUEST_ID, request_id.encode()))
        if traceparent is not None:
            invocation.traceparent = traceparent.decode("latin-1")
            if len(traceparent) <= ECHO_MAX and _TRACEPARENT_FORM.fullmatch(traceparent):
                echo.append((_TRACEPARENT, traceparent))
        trace_id = invocation.trace_id
        if trace_id is not None and len(trace_id) <= 256 and trace_id.isascii() and trace_id.isprintable():
            echo.append((_TRACE_ID, trace_id.encode()))
        if not echo:
            await self.app(scope, receive, send)
            return

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                if message["status"] >= 400:  # an error reply may carry its own x-request-id already
                    present = {key.lower() for key, _ in headers}
                    message["headers"] = [*headers, *(pair for pair in echo if pair[0] not in present)]
                else:
                    message["headers"] = [*headers, *echo]
            await send(message)

        await self.app(scope, receive, send_with_ids)
