"""Where predictions go, chosen by ONNX_LAMBDA_DESTINATION; boto3 is imported only for AWS ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from handler.events.deadline import Deadline
from handler.events.records import ObjectRef
from handler.settings import Destination, Settings
from handler.store import Model

WRITE_DEADLINE_REASON = "not written: the invocation was about to time out"


class Prediction(NamedTuple):
    """One record's result on its way to the destination."""

    position: int
    """The record's position in the invocation, which failures are reported by."""
    record_id: str
    document: dict[str, Any]
    item: Mapping[str, Any] | None = None
    """The DynamoDB stream image the record came from, to write back with the prediction."""
    group: str | None = None


class ObjectSink(Protocol):
    """Receives one S3 object's predictions in input order, chunk by chunk."""

    def write(self, documents: list[dict[str, Any]]) -> None: ...

    def close(self) -> str:
        """Finish writing; returns where the predictions went."""
        ...

    def abort(self) -> None: ...


@runtime_checkable
class JsonLinesSink(ObjectSink, Protocol):
    """A sink that stores JSON Lines text (S3): handed the encoded lines, it never needs the documents."""

    def write_jsonl(self, lines: bytes) -> None:
        """Append `lines`, JSON Lines for the next rows in input order, each ending in a newline."""
        ...


class Writer(Protocol):
    """Writes predictions with the service's batch API and reports the ones that failed."""

    returns: bool
    """True when the predictions go back in the function's response instead."""

    def write(self, predictions: Sequence[Prediction], deadline: Deadline, name: str) -> dict[int, str]:
        """Write `predictions`; returns the reason each failed one failed, by record index.

        `name` identifies the batch (source and record ids) for destinations that need a key.
        """
        ...

    def open_object(self, ref: ObjectRef, model: Model, deadline: Deadline) -> ObjectSink: ...

    def is_own_output(self, ref: ObjectRef) -> bool:
        """True for an object this writer wrote, which must not be scored again."""
        ...


class ReturnWriter:
    """Predictions go back in the response: for direct invokes and local runs."""

    returns = True

    def write(self, predictions: Sequence[Prediction], deadline: Deadline, name: str) -> dict[int, str]:
        return {}

    def open_object(self, ref: ObjectRef, model: Model, deadline: Deadline) -> ObjectSink:
        return CollectingSink()

    def is_own_output(self, ref: ObjectRef) -> bool:
        return False


class CollectingSink:
    """Keeps an object's predictions in memory, to return them."""

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []

    def write(self, documents: list[dict[str, Any]]) -> None:
        self.documents.extend(documents)

    def close(self) -> str:
        return "return"

    def abort(self) -> None:
        self.documents.clear()


def open_writer(destination: Destination, settings: Settings) -> Writer:
    """Create the writer, and for AWS destinations its boto3 client, once per execution environment."""
    if destination.kind == "return":
        return ReturnWriter()
    from handler.events import aws  # keeps boto3 out of the `return` cold start

    return aws.open_writer(destination, settings)
