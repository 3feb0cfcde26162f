"""The HTTP entry point: API Gateway (REST and HTTP APIs), ALB and Function URLs through Mangum."""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from handler.environment import SETTINGS, STORE, settle
from handler.http.app import create_app

app = create_app(STORE, SETTINGS)
# Lifespan off: Mangum would run startup and shutdown on every invocation.
adapter = Mangum(app, lifespan="off")
settle()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one HTTP event from API Gateway, an ALB or a Function URL."""
    return adapter(event, context)
