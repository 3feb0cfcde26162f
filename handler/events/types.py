"""The shapes that cross the boundary with Lambda and AWS, under AWS's own field names."""

from __future__ import annotations

from typing import Any, Protocol, TypedDict


class LambdaContext(Protocol):
    """The part of Lambda's context object that event scoring reads."""

    def get_remaining_time_in_millis(self) -> int: ...


class BatchItemFailure(TypedDict):
    """One record Lambda should deliver again: a message id or a stream sequence number."""

    itemIdentifier: str


class ScoredResponse(TypedDict, total=False):
    """What every event's response reports: the predictions (destination `return`), the objects scored."""

    results: list[dict[str, Any]]
    objects: list[ObjectSummary]


class BatchResponse(ScoredResponse, total=False):
    """What SQS, Kinesis and DynamoDB event source mappings read back (ReportBatchItemFailures)."""

    batchItemFailures: list[BatchItemFailure]


class ObjectSummary(TypedDict, total=False):
    """What scoring one S3 object produced: where its predictions went and how many rows."""

    bucket: str
    key: str
    rows: int
    model_name: str
    model_version: str
    output: str
    results: list[dict[str, Any]]
