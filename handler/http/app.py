"""The application the function serves, and how a Lambda HTTP event reaches it through Mangum."""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from handler.errors import UnrecognisedEvent
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


BAD_BASE64 = "the request body is marked isBase64Encoded but is not valid base64"


def adapter_for(app: StagePath) -> Mangum:
    """Mangum over `app`; the app has no lifespan to run."""
    return Mangum(app, lifespan="off")


def answer_event(adapter: Mangum, app: StagePath, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Mangum's way from event to response, with the hot routes answered without an event loop.

    Mangum reads the event into an ASGI scope and body and turns the response back into the shape
    the event's front door expects (API Gateway REST or HTTP API, ALB, Function URL); `app.answer`
    stands where Mangum's HTTPCycle would run the app. An event no front door would send (made by
    hand, say) is an UnrecognisedEvent that says so, not an error from inside Mangum.
    """
    try:
        shape = adapter.infer(event, context)
        scope = shape.scope
    except (AttributeError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise _malformed(exc) from None
    try:
        body = shape.body
    except ValueError:  # binascii.Error, or non-ASCII text marked base64: the client's mistake
        return shape(app.refuse(scope, 400, BAD_BASE64))
    except (AttributeError, TypeError) as exc:  # a body that is not text
        raise _malformed(exc) from None
    return shape(app.answer(scope, body))


def _malformed(exc: BaseException) -> UnrecognisedEvent:
    return UnrecognisedEvent(
        f"the HTTP event is malformed ({type(exc).__name__}: {exc}); expected the shape API Gateway, "
        "an ALB or a Function URL sends, as in events/*.json"
    )
