"""One invocation's records taken from source to destination, failing records one by one, never the batch."""

from __future__ import annotations

from collections.abc import Sequence
from time import perf_counter
from typing import Any

from handler.errors import OnnxLambdaError, RecordsFailed
from handler.events.deadline import Deadline, DeadlineReached
from handler.events.destinations import Prediction, Writer
from handler.events.records import Decoded, ObjectRef, Record, decode, parse, result_document, s3_objects
from handler.events.report import report_failure, report_skip
from handler.events.scoring import score
from handler.events.types import BatchResponse, LambdaContext, ObjectSummary, ScoredResponse
from handler.invocation import CURRENT
from handler.settings import Settings
from handler.store import ModelStore

DEADLINE_REASON = "not processed: the invocation was about to time out"


class Outcome:
    """What became of each record of one invocation."""

    __slots__ = ("failures", "objects", "records", "results")

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records
        self.failures: dict[int, str] = {}
        """The reason each failed record failed, by position; the first reason wins."""
        self.results: list[dict[str, Any]] | None = None
        """The predictions, when the destination is the response."""
        self.objects: list[ObjectSummary] = []

    def fail(self, index: int, reason: str) -> None:
        """Mark a record failed and log it, once."""
        if index not in self.failures:
            self.failures[index] = reason
            report_failure(self.records[index].identifier, reason)

    def fail_rest_of_groups(self) -> None:
        """SQS FIFO: after a failed message, the later messages of its group fail too, keeping order."""
        broken: set[str] = set()
        for index, record in enumerate(self.records):
            if record.group is None:
                continue
            if record.group in broken:
                self.fail(index, f"an earlier message of group {record.group!r} failed")
            elif index in self.failures:
                broken.add(record.group)


class EventScorer:
    """Decodes records, scores them in batches per model, writes the predictions, and keeps count."""

    def __init__(self, store: ModelStore, settings: Settings, writer: Writer, s3: Any = None) -> None:
        """Score with `store`'s models and hand predictions to `writer`.

        store: the loaded models.
        settings: the id field and deadline margin, among others.
        writer: the destination, opened once at init.
        s3: the client that reads S3 objects; created on first use when None.
        """
        self.store = store
        self.settings = settings
        self.writer = writer
        self._s3 = s3

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            from handler.events.aws import client  # boto3 only once S3 objects arrive

            self._s3 = client("s3")
        return self._s3

    def run(
        self, source: str, records: Sequence[Record], context: LambdaContext | None, ordered: bool = False
    ) -> Outcome:
        """Take every record as far as it goes; the outcome says which failed and why."""
        outcome = Outcome(records)
        invocation = CURRENT.receive(source, len(records))
        deadline = Deadline(context, self.settings.deadline_margin_ms)
        decoding = perf_counter()
        objects_seconds = 0.0
        decoded: list[Decoded] = []
        position: dict[int, int] = {}
        for index, record in enumerate(records):
            if deadline.expired():
                for rest in range(index, len(records)):
                    outcome.fail(rest, DEADLINE_REASON)
                break
            try:
                if record.error is not None:
                    raise OnnxLambdaError(record.error)
                objects = record.objects
                document = None
                if objects is None:
                    document = parse(record.body)
                    objects = s3_objects(document)
                if objects is not None:
                    started = perf_counter()
                    self._score_objects(index, objects, outcome, deadline)
                    objects_seconds += perf_counter() - started
                    continue
                item = decode(record, document, self.store, self.settings.id_field)
            except Exception as exc:
                outcome.fail(index, _reason(exc))
                continue
            position[id(item)] = index
            decoded.append(item)
        invocation.decode += perf_counter() - decoding - objects_seconds
        scored = score(decoded, deadline, lambda item, reason: outcome.fail(position[id(item)], reason))
        encoding = perf_counter()
        predictions = [
            Prediction(
                position[id(result.decoded)],
                result.decoded.record_id,
                result_document(result.decoded, result.outputs, result.rows, self.settings.id_field),
                result.decoded.record.item,
                result.decoded.record.group,
            )
            for result in scored
        ]
        if ordered:
            outcome.fail_rest_of_groups()
            predictions = [
                prediction for prediction in predictions if prediction.position not in outcome.failures
            ]
        invocation.encode += perf_counter() - encoding
        if self.writer.returns:
            # The response carries the predictions: nothing to write, no batch name to build.
            for index, reason in self.writer.write(predictions, deadline, source).items():
                outcome.fail(index, reason)
        elif predictions:  # no write, and no DestinationWriteLatency, when nothing was scored
            name = source + ":" + ",".join(records[p.position].identifier for p in predictions)
            writing = perf_counter()
            for index, reason in self.writer.write(predictions, deadline, name).items():
                outcome.fail(index, reason)
            invocation.written(perf_counter() - writing)
        if ordered:
            outcome.fail_rest_of_groups()
        if self.writer.returns:
            outcome.results = [p.document for p in predictions if p.position not in outcome.failures]
        invocation.failed = len(outcome.failures)
        return outcome

    def _score_objects(
        self, index: int, objects: list[ObjectRef], outcome: Outcome, deadline: Deadline
    ) -> None:
        from handler.events.objects import score_object  # csv and the S3 reader: only for objects

        for ref in objects:
            if self.writer.is_own_output(ref):
                report_skip(ref.url, "the object is this function's own output")
                continue
            try:
                summary = score_object(
                    ref,
                    s3=self.s3,
                    store=self.store,
                    writer=self.writer,
                    id_field=self.settings.id_field,
                    deadline=deadline,
                )
            except Exception as exc:
                wrapped = not outcome.records[index].identifier.startswith(ref.url)
                outcome.fail(index, f"{ref.url}: {_reason(exc)}" if wrapped else _reason(exc))
                return
            if summary is None:
                report_skip(ref.url, "the object is this function's own output")
            else:
                outcome.objects.append(summary)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OnnxLambdaError):
        return exc.message
    if isinstance(exc, DeadlineReached):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def batch_response(outcome: Outcome) -> BatchResponse:
    """SQS, Kinesis and DynamoDB Streams: exactly the failed records, for Lambda to deliver again."""
    records = outcome.records
    return {
        "batchItemFailures": [
            {"itemIdentifier": records[index].identifier} for index in sorted(outcome.failures)
        ],
        **_scored(outcome),
    }


def raise_on_failure(outcome: Outcome) -> ScoredResponse:
    """SNS, EventBridge and S3 have no partial response: any failure raises, so Lambda retries the event."""
    if outcome.failures:
        details = "; ".join(
            f"{outcome.records[index].identifier}: {reason}"
            for index, reason in sorted(outcome.failures.items())
        )
        raise RecordsFailed(f"{len(outcome.failures)} of {len(outcome.records)} records failed: {details}")
    return _scored(outcome)


def _scored(outcome: Outcome) -> ScoredResponse:
    """The predictions, when the destination is the response, and the S3 objects scored, if any."""
    response: ScoredResponse = {}
    if outcome.results is not None:
        response["results"] = outcome.results
    if outcome.objects:
        response["objects"] = outcome.objects
    return response
