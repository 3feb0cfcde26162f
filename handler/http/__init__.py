"""The HTTP entry point: API Gateway (REST and HTTP APIs), ALB and Function URLs through Mangum."""

from __future__ import annotations

import asyncio
import binascii
from typing import Any

from mangum import Mangum

from handler.codec import dumps
from handler.environment import SETTINGS, STORE, settle
from handler.http.app import create_app
from handler.invocation import CURRENT, INIT

INIT.lap("imports")
app = create_app(STORE, SETTINGS)
# Lifespan off: Mangum would run startup and shutdown on every invocation.
adapter = Mangum(app, lifespan="off")
settle()
INIT.done()

BAD_BASE64: Any = {
    "status": 400,
    "headers": [(b"content-type", b"application/json")],
    "body": dumps({"error": "the request body is marked isBase64Encoded but is not valid base64"}),
}


def _loop_is_usable() -> bool:
    try:
        return not asyncio.get_event_loop().is_closed()
    except RuntimeError:
        return False


def _serve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run Mangum, first giving it a fresh event loop if other code (asyncio.run) took its own away."""
    try:
        response: dict[str, Any] = adapter(event, context)
    except RuntimeError:
        if _loop_is_usable():
            raise
        asyncio.set_event_loop(asyncio.new_event_loop())
        response = adapter(event, context)
    return response


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one HTTP event from API Gateway, an ALB or a Function URL."""
    invocation = CURRENT.begin(context, "http")
    try:
        response = _serve(event, context)
    except binascii.Error:
        # Mangum decodes a base64 body before the app runs; garbage there is the client's mistake.
        response = adapter.infer(event, context)(BAD_BASE64)
    except BaseException:
        invocation.finish(500)
        raise
    invocation.finish(response.get("statusCode"))
    return response
