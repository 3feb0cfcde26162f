"""EventBridge events: the `detail` is the payload; a failure raises so Lambda retries the event."""

from __future__ import annotations

from typing import Any

from handler.events.batch import Outcome, raise_on_failure
from handler.events.records import Record
from handler.events.types import ScoredResponse


class EventBridgeSource:
    """An event delivered by an EventBridge rule or pipe; the model may be named in the detail."""

    name = "eventbridge"

    def infer(self, event: Any) -> bool:
        return isinstance(event, dict) and {"detail-type", "source", "detail"} <= event.keys()

    def ordered(self, event: Any) -> bool:
        return False

    def records(self, event: Any) -> list[Record]:
        return [Record(str(event.get("id", "")), str(event.get("id", "")), event["detail"])]

    def respond(self, outcome: Outcome) -> ScoredResponse:
        return raise_on_failure(outcome)
