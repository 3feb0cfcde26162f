"""Kinesis Data Streams records (base64 `data`), answered with batchItemFailures by sequence number."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from handler.events.batch import Outcome, batch_response
from handler.events.records import Record
from handler.events.sqs import records_from
from handler.events.types import BatchResponse


class KinesisSource:
    """A shard's batch; the sequence numbers let Lambda checkpoint right before the first failure."""

    name = "kinesis"

    def infer(self, event: Any) -> bool:
        return records_from(event, "aws:kinesis") is not None

    def ordered(self, event: Any) -> bool:
        return False

    def records(self, event: Any) -> list[Record]:
        records = []
        for entry in event["Records"]:
            kinesis = entry["kinesis"]
            sequence = kinesis["sequenceNumber"]
            try:
                body, error = base64.b64decode(kinesis.get("data", ""), validate=True), None
            except (binascii.Error, ValueError):
                body, error = b"", f"kinesis record {sequence} has data that is not base64"
            records.append(Record(sequence, sequence, body, error=error))
        return records

    def respond(self, outcome: Outcome) -> BatchResponse:
        return batch_response(outcome)
