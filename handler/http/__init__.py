"""The HTTP entry point: API Gateway (REST and HTTP APIs), ALB and Function URLs through Mangum."""

from __future__ import annotations

from typing import Any

from handler.environment import SETTINGS, STORE, settle
from handler.http.app import adapter_for, answer_event, create_app
from handler.invocation import CURRENT, INIT
from handler.snapstart import on_snapshot

INIT.lap("imports")
app = create_app(STORE, SETTINGS)
on_snapshot(app.prepare)  # with SnapStart, FastAPI is imported before the snapshot, not on first use
adapter = adapter_for(app)
settle()
INIT.done()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one HTTP event from API Gateway, an ALB or a Function URL."""
    invocation = CURRENT.begin(context, "http")
    try:
        response = answer_event(adapter, app, event, context)
    except BaseException:
        invocation.finish(500)
        raise
    invocation.finish(response.get("statusCode"))
    return response
