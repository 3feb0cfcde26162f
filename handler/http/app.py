"""The application the function serves, and how a Lambda HTTP event reaches it through Mangum."""

from __future__ import annotations

import binascii
from typing import Any

from mangum import Mangum

from handler.codec import dumps
from handler.http.fastpath import FastPath
from handler.http.service import InferenceService
from handler.http.stage import StagePath
from handler.settings import Settings
from handler.store import ModelStore


def create_app(store: ModelStore, settings: Settings) -> StagePath:
    """Build the ASGI application over a loaded model store; FastAPI is built on first need."""
    service = InferenceService(store, settings)

    def framework() -> Any:
        from handler.http.framework import fastapi_app  # FastAPI: ~250 ms, only when a route needs it

        return fastapi_app(service)

    return StagePath(FastPath(service, framework))


BAD_BASE64: Any = {
    "status": 400,
    "headers": [(b"content-type", b"application/json")],
    "body": dumps({"error": "the request body is marked isBase64Encoded but is not valid base64"}),
}


def adapter_for(app: StagePath) -> Mangum:
    """Mangum over `app`; the app has no lifespan to run."""
    return Mangum(app, lifespan="off")


def answer_event(adapter: Mangum, app: StagePath, event: dict[str, Any], context: Any) -> dict[str, Any]:
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
