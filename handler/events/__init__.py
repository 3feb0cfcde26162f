"""The event entry point: queue messages, stream records and S3 objects scored in batches."""

from __future__ import annotations

from typing import Any

from handler.environment import SETTINGS, STORE  # noqa: F401 - loaded during init
from handler.errors import UnrecognisedEvent


def describe(event: Any) -> str:
    """Name what an event looks like, for errors about events nobody recognises."""
    if isinstance(event, dict):
        records = event.get("Records")
        if isinstance(records, list) and records and isinstance(records[0], dict):
            source = records[0].get("eventSource") or records[0].get("EventSource") or "unknown source"
            return f"a Records event from {source}"
        return f"an object with keys {sorted(event)[:10]}"
    return f"a JSON {type(event).__name__}"


def lambda_handler(event: Any, context: Any) -> Any:
    """Score one non-HTTP event."""
    raise UnrecognisedEvent(f"no event source recognises {describe(event)}; event scoring is not built yet")
