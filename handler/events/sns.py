"""SNS notifications (payloads or S3 notifications); a failure raises so Lambda retries the event."""

from __future__ import annotations

from typing import Any

from handler.events.batch import Outcome, raise_on_failure
from handler.events.records import Record
from handler.events.sqs import records_from
from handler.events.types import ScoredResponse


class SnsSource:
    """An SNS topic's delivery: one message per record, model named by message attributes."""

    name = "sns"

    def infer(self, event: Any) -> bool:
        return records_from(event, "aws:sns", key="EventSource") is not None

    def ordered(self, event: Any) -> bool:
        return False

    def records(self, event: Any) -> list[Record]:
        records = []
        for entry in event["Records"]:
            sns = entry["Sns"]
            attributes = {
                name: value["Value"]
                for name, value in (sns.get("MessageAttributes") or {}).items()
                if isinstance(value, dict)
                and value.get("Type") == "String"
                and isinstance(value.get("Value"), str)
            }
            records.append(Record(sns["MessageId"], sns["MessageId"], sns.get("Message", ""), attributes))
        return records

    def respond(self, outcome: Outcome) -> ScoredResponse:
        return raise_on_failure(outcome)
