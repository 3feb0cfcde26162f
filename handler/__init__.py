"""onnx-lambda's deployed code; `handler.lambda_handler` is the universal Lambda entry point.

Importing the package loads the models (Lambda's init phase). HTTP events are answered by
`handler.http`, every other event by `handler.events`; each is imported on first use, so a
function that only scores queue messages never imports the web stack.
"""

from __future__ import annotations

import gc
from typing import Any

# Init builds only objects that live as long as the environment (modules, sessions), so cyclic
# collections while it runs find nothing to free; skipping them takes ~4-9 ms (about 5%) off an
# event-path cold start. environment.settle() freezes what init built; collection then resumes.
gc.disable()
try:
    from handler import environment as environment
finally:
    gc.enable()
from handler import snapstart  # noqa: E402
from handler.invocation import INIT  # noqa: E402

# SnapStart (python3.12+): warm the models before the snapshot, re-seed after a restore.
snapstart.register(environment.STORE)

_http_handler: Any = None
_events_handler: Any = None


def is_http_event(event: Any) -> bool:
    """True for API Gateway REST/HTTP API, ALB and Function URL events."""
    if not isinstance(event, dict):
        return False
    context = event.get("requestContext")
    if not isinstance(context, dict):
        return False
    return "httpMethod" in event or "http" in context or "elb" in context


def lambda_handler(event: Any, context: Any) -> Any:
    """Route one Lambda event to the HTTP app or to event scoring."""
    global _http_handler, _events_handler
    if is_http_event(event):
        if _http_handler is None:
            INIT.resume()  # importing the web stack on first use is init work, paid by this invocation
            from handler.http import lambda_handler as http_handler

            _http_handler = http_handler
        return _http_handler(event, context)
    if _events_handler is None:
        INIT.resume()
        from handler.events import lambda_handler as events_handler

        _events_handler = events_handler
    return _events_handler(event, context)
