"""SQS messages (standard and FIFO queues), answered with batchItemFailures by message id."""

from __future__ import annotations

from typing import Any

from handler.events.batch import Outcome, batch_response
from handler.events.records import Record
from handler.events.types import BatchResponse


def records_from(event: Any, event_source: str, key: str = "eventSource") -> list[dict[str, Any]] | None:
    """The event's Records when every one of them comes from `event_source`, else None."""
    if not isinstance(event, dict):
        return None
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        return None
    for record in records:  # a loop, not all(<generator>): every event asks up to five sources
        if not isinstance(record, dict) or record.get(key) != event_source:
            return None
    return records


class SqsSource:
    """An SQS event source mapping's batch; a message may carry a payload or an S3 notification."""

    name = "sqs"

    def infer(self, event: Any) -> bool:
        return records_from(event, "aws:sqs") is not None

    def ordered(self, event: Any) -> bool:
        """FIFO queues: a failed message fails the rest of its group."""
        return str(event["Records"][0].get("eventSourceARN", "")).endswith(".fifo")

    def records(self, event: Any) -> list[Record]:
        return [self._record(message) for message in event["Records"]]

    def _record(self, message: dict[str, Any]) -> Record:
        raw = message.get("messageAttributes")
        attributes = (
            {
                name: value["stringValue"]
                for name, value in raw.items()
                if isinstance(value, dict) and isinstance(value.get("stringValue"), str)
            }
            if raw
            else {}
        )
        message_id = message["messageId"]
        system = message.get("attributes")
        return Record(
            identifier=message_id,
            source_id=message_id,
            body=message.get("body", ""),
            attributes=attributes,
            group=system.get("MessageGroupId") if system else None,
        )

    def respond(self, outcome: Outcome) -> BatchResponse:
        return batch_response(outcome)
