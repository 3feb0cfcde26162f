"""DynamoDB Streams: INSERT and MODIFY images scored, REMOVE skipped, our own writes skipped.

Scoring a table into itself (ONNX_LAMBDA_DESTINATION=dynamodb://<the same table>) writes each item
back with `prediction`, `model_name` and `model_version` added, which makes a MODIFY record. That
record is skipped when the only attributes that changed are those (stream view NEW_AND_OLD_IMAGES),
or, with a NEW_IMAGE stream, whenever the item already carries a prediction. So the loop stops
after one write; with NEW_AND_OLD_IMAGES a later change to the features is scored again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handler.errors import InvalidInput
from handler.events.batch import Outcome, batch_response
from handler.events.dynamodb_json import to_plain
from handler.events.records import PREDICTION_ATTRIBUTES, Record
from handler.events.report import report_skip
from handler.events.sqs import records_from
from handler.events.types import BatchResponse


def written_by_us(change: Mapping[str, Any]) -> bool:
    """True when the change is this function writing a prediction back, not new data to score."""
    new = change.get("NewImage") or {}
    if "model_name" not in new or not PREDICTION_ATTRIBUTES & (set(new) - {"model_name", "model_version"}):
        return False
    old = change.get("OldImage")
    if old is None:
        return True

    def features(image: Mapping[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in image.items() if name not in PREDICTION_ATTRIBUTES}

    return features(new) == features(old)


class DynamoDbSource:
    """A stream shard's batch of item changes, reported by sequence number."""

    name = "dynamodb"

    def infer(self, event: Any) -> bool:
        return records_from(event, "aws:dynamodb") is not None

    def ordered(self, event: Any) -> bool:
        return False

    def records(self, event: Any) -> list[Record]:
        records = []
        for entry in event["Records"]:
            change = entry["dynamodb"]
            sequence = change["SequenceNumber"]
            if entry.get("eventName") == "REMOVE":
                report_skip(sequence, "REMOVE events have nothing to score")
                continue
            if written_by_us(change):
                report_skip(sequence, "the change is this function's own prediction write")
                continue
            records.append(self._record(sequence, change))
        return records

    def _record(self, sequence: str, change: Mapping[str, Any]) -> Record:
        image = change.get("NewImage")
        if not isinstance(image, dict):
            return Record(
                sequence,
                sequence,
                None,
                error="the stream record has no NewImage; set the stream view type to NEW_IMAGE "
                "or NEW_AND_OLD_IMAGES",
            )
        try:
            keys = to_plain(change.get("Keys") or {})
            document = to_plain(image)
        except InvalidInput as exc:
            return Record(
                sequence, sequence, None, error=f"the stream image is not DynamoDB JSON: {exc.message}"
            )
        source_id = "#".join(str(keys[name]) for name in sorted(keys)) or sequence
        return Record(sequence, source_id, document, item=image)

    def respond(self, outcome: Outcome) -> BatchResponse:
        return batch_response(outcome)
