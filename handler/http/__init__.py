"""The HTTP entry point: API Gateway (REST and HTTP APIs), ALB and Function URLs through Mangum."""

from __future__ import annotations

import binascii
from typing import Any

from mangum import Mangum

from handler.codec import dumps
from handler.environment import SETTINGS, STORE, settle
from handler.http.app import create_app
from handler.invocation import CURRENT, INIT
from handler.snapstart import on_snapshot

INIT.lap("imports")
app = create_app(STORE, SETTINGS)
on_snapshot(app.prepare)  # with SnapStart, FastAPI is imported before the snapshot, not on first use
# Mangum reads each event and shapes each response (`_serve`); the app has no lifespan to run.
adapter = Mangum(app, lifespan="off")
settle()
INIT.done()

BAD_BASE64: Any = {
    "status": 400,
    "headers": [(b"content-type", b"application/json")],
    "body": dumps({"error": "the request body is marked isBase64Encoded but is not valid base64"}),
}


def _serve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Mangum's way from event to response, with the hot routes answered without an event loop.

    Mangum reads the event into an ASGI scope and body and turns the response back into the shape
    the event's front door expects (API Gateway REST or HTTP API, ALB, Function URL); `app.answer`
    stands where Mangum's HTTPCycle would run the app.
    """
    shape = adapter.infer(event, context)
    try:
        body = shape.body
    except binascii.Error:  # garbage in a base64 body is the client's mistake
        return shape(BAD_BASE64)
    return shape(app.answer(shape.scope, body))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one HTTP event from API Gateway, an ALB or a Function URL."""
    invocation = CURRENT.begin(context, "http")
    try:
        response = _serve(event, context)
    except BaseException:
        invocation.finish(500)
        raise
    invocation.finish(response.get("statusCode"))
    return response
