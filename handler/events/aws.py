"""boto3 clients and the destinations that write through them; imported only when one is configured."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handler.codec import dumps
from handler.errors import DestinationError
from handler.events.deadline import Deadline
from handler.events.destinations import WRITE_DEADLINE_REASON, ObjectSink, Prediction, Writer
from handler.events.dynamodb_json import to_dynamodb, writable
from handler.events.grouping import groups
from handler.events.records import PREDICTION_ATTRIBUTES, SCORED_FROM, ObjectRef
from handler.settings import Destination, Settings
from handler.store import Model

AWS_ERRORS = (BotoCoreError, ClientError)
MESSAGE_BATCH_BYTES = 256 * 1024
PART_BYTES = 8 * 1024 * 1024
DYNAMODB_ATTEMPTS = 5
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
_clients: dict[str, Any] = {}


def client(service: str) -> Any:
    """One boto3 client per service for the execution environment's lifetime."""
    if service not in _clients:
        _clients[service] = boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]
    return _clients[service]


def open_writer(destination: Destination, settings: Settings) -> Writer:
    """The writer for an AWS destination, its client created now (Lambda's init phase)."""
    if destination.kind == "s3":
        return S3Writer(client("s3"), destination.target, destination.prefix)
    if destination.kind == "dynamodb":
        return DynamoDbWriter(client("dynamodb"), destination.target, settings.id_field)
    if destination.kind == "sqs":
        return SqsWriter(client("sqs"), destination.target, settings.id_field)
    if destination.kind == "sns":
        return SnsWriter(client("sns"), destination.target, settings.id_field)
    return EventBridgeWriter(client("events"), destination.target, settings.id_field, settings.function_name)


def reason_of(exc: Exception) -> str:
    """A one-line reason for a failed AWS call: the service's error code and message."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return _coded_reason(error.get("Code"), error.get("Message"))
    return str(exc) or type(exc).__name__


def _coded_reason(code: str | None, message: str | None) -> str:
    """An AWS error code and message as one reason: `Code: Message`."""
    return f"{code or 'Error'}: {message or ''}".strip()


def _not_written(target: str, exc: Exception) -> str:
    """Why a write to `target` (an S3 URL, a queue, a table...) failed."""
    return f"{target} could not be written: {reason_of(exc)}"


def jsonl(documents: Sequence[Mapping[str, Any]]) -> bytes:
    """Documents as JSON Lines."""
    return b"".join(dumps(document) + b"\n" for document in documents)


class S3Writer:
    """Predictions as JSON Lines objects under s3://BUCKET/PREFIX, at keys derived from the input."""

    returns = False

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix

    def key(self, *parts: str) -> str:
        return "/".join(part for part in (self.prefix, *parts) if part)

    def write(self, predictions: Sequence[Prediction], deadline: Deadline, name: str) -> dict[int, str]:
        if not predictions:
            return {}
        source, _, ids = name.partition(":")
        # The same records (a redelivered batch) land at the same key, overwriting rather than duplicating.
        key = self.key(source, hashlib.sha256(ids.encode()).hexdigest()[:32] + ".jsonl")
        if deadline.expired():
            return {prediction.position: WRITE_DEADLINE_REASON for prediction in predictions}
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=jsonl([prediction.document for prediction in predictions]),
                ContentType="application/x-ndjson",
                Metadata={SCORED_FROM: source},
            )
        except AWS_ERRORS as exc:
            reason = _not_written(f"s3://{self.bucket}/{key}", exc)
            return {prediction.position: reason for prediction in predictions}
        return {}

    def output_key(self, ref: ObjectRef) -> str:
        """Derived from bucket, key and version (or ETag), so a redelivered event overwrites."""
        pin = ref.version_id or (ref.etag or "latest").strip('"')
        return self.key(ref.bucket, ref.key, pin + ".jsonl")

    def is_own_output(self, ref: ObjectRef) -> bool:
        # Outputs live under PREFIX/; scoring them again would loop forever. Without a prefix,
        # `score_object` still recognises an output by its SCORED_FROM metadata.
        return bool(self.prefix) and ref.bucket == self.bucket and ref.key.startswith(self.prefix + "/")

    def open_object(self, ref: ObjectRef, model: Model, deadline: Deadline) -> ObjectSink:
        metadata = {"model-name": model.name, "model-version": model.version, SCORED_FROM: ref.url}
        return MultipartSink(self.s3, self.bucket, self.output_key(ref), metadata)


class MultipartSink:
    """Streams JSON Lines to one S3 object in parts, so memory holds one part, not the object."""

    def __init__(self, s3: Any, bucket: str, key: str, metadata: dict[str, str]) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.key = key
        self.metadata = metadata
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def write(self, documents: list[dict[str, Any]]) -> None:
        self.write_jsonl(jsonl(documents))

    def write_jsonl(self, lines: bytes) -> None:
        self.buffer.append(lines)
        self.buffered += len(lines)
        if self.buffered >= PART_BYTES:
            self._upload_part()

    def _upload_part(self) -> None:
        try:
            if self.upload_id is None:
                self.upload_id = self.s3.create_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key,
                    ContentType="application/x-ndjson",
                    Metadata=self.metadata,
                )["UploadId"]
            number = len(self.parts) + 1
            response = self.s3.upload_part(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=self._take(),
            )
        except AWS_ERRORS as exc:
            raise DestinationError(_not_written(self.url, exc)) from None
        self.parts.append({"ETag": response["ETag"], "PartNumber": number})

    def _take(self) -> bytes:
        body = b"".join(self.buffer)
        self.buffer, self.buffered = [], 0
        return body

    def close(self) -> str:
        try:
            if self.upload_id is None:
                self.s3.put_object(
                    Bucket=self.bucket,
                    Key=self.key,
                    Body=self._take(),
                    ContentType="application/x-ndjson",
                    Metadata=self.metadata,
                )
            else:
                if self.buffer:
                    self._upload_part()
                self.s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=self.upload_id,
                    MultipartUpload={"Parts": self.parts},
                )
        except AWS_ERRORS as exc:
            raise DestinationError(_not_written(self.url, exc)) from None
        return self.url

    def abort(self) -> None:
        self.buffer, self.buffered = [], 0
        if self.upload_id is not None:
            # The error that led here is already being raised; a lifecycle rule reaps an upload left behind.
            with contextlib.suppress(*AWS_ERRORS):
                self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


class BatchedSink:
    """An S3 object's predictions sent on through a record writer; any failed entry fails the object."""

    FLUSH = 500

    def __init__(
        self, writer: Writer, ref: ObjectRef, model: Model, id_field: str, deadline: Deadline
    ) -> None:
        self.writer = writer
        self.ref = ref
        self.added = {"model_name": model.name, "model_version": model.version, "source": ref.url}
        self.id_field = id_field
        self.deadline = deadline
        self.written = 0
        self.pending: list[dict[str, Any]] = []

    def write(self, documents: list[dict[str, Any]]) -> None:
        self.pending.extend(documents)
        while len(self.pending) >= self.FLUSH:
            self._flush(self.pending[: self.FLUSH])
            del self.pending[: self.FLUSH]

    def _flush(self, documents: list[dict[str, Any]]) -> None:
        source = self.ref.url
        predictions = [
            Prediction(self.written + offset, str(document[self.id_field]), {**document, **self.added})
            for offset, document in enumerate(documents)
        ]
        name = f"s3:{source}#{self.written}"
        failures = self.writer.write(predictions, self.deadline, name)
        self.written += len(documents)
        if failures:
            reason = next(iter(failures.values()))
            raise DestinationError(
                f"{len(failures)} predictions of {source} could not be written; the first: {reason}"
            )

    def close(self) -> str:
        if self.pending:
            self._flush(self.pending)
            self.pending = []
        return "destination"

    def abort(self) -> None:
        self.pending = []


class _EntryWriter:
    """Shared by the writers whose batch API takes up to 10 entries and answers per entry."""

    returns = False

    def __init__(self, id_field: str) -> None:
        self.id_field = id_field

    def write(self, predictions: Sequence[Prediction], deadline: Deadline, name: str) -> dict[int, str]:
        sized = [(prediction, dumps(prediction.document)) for prediction in predictions]
        failures: dict[int, str] = {}
        for batch in groups([len(body) for _, body in sized], 10, MESSAGE_BATCH_BYTES):
            entries = [sized[position] for position in batch]
            if deadline.expired():
                failures.update({prediction.position: WRITE_DEADLINE_REASON for prediction, _ in entries})
                continue
            try:
                rejected = self.send(entries)
            except AWS_ERRORS as exc:
                reason = _not_written(self.target, exc)
                failures.update({prediction.position: reason for prediction, _ in entries})
                continue
            for position, reason in rejected.items():
                failures[entries[position][0].position] = f"{self.target} rejected the prediction: {reason}"
        return failures

    @property
    def target(self) -> str:
        raise NotImplementedError

    def send(self, entries: list[tuple[Prediction, bytes]]) -> dict[int, str]:
        """Send one batch; returns the reason for each rejected entry, by position in `entries`."""
        raise NotImplementedError

    def open_object(self, ref: ObjectRef, model: Model, deadline: Deadline) -> ObjectSink:
        return BatchedSink(self, ref, model, self.id_field, deadline)

    def is_own_output(self, ref: ObjectRef) -> bool:
        return False


def _dedup_id(prediction: Prediction, body: bytes) -> str:
    return hashlib.sha256(prediction.record_id.encode() + b"\0" + body).hexdigest()


def _entry_failures(response: Mapping[str, Any]) -> dict[int, str]:
    return {
        int(failed["Id"]): _coded_reason(failed.get("Code"), failed.get("Message"))
        for failed in response.get("Failed", [])
    }


class SqsWriter(_EntryWriter):
    """One message per prediction, SendMessageBatch of 10; FIFO queues keep the record's group."""

    def __init__(self, sqs: Any, queue: str, id_field: str) -> None:
        super().__init__(id_field)
        self.sqs = sqs
        self.queue = queue
        self.fifo = queue.endswith(".fifo")
        self._url = queue if queue.startswith(("https://", "http://")) else None

    @property
    def target(self) -> str:
        return f"SQS queue {self.queue}"

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = str(self.sqs.get_queue_url(QueueName=self.queue)["QueueUrl"])
        return self._url

    def send(self, entries: list[tuple[Prediction, bytes]]) -> dict[int, str]:
        request = []
        for position, (prediction, body) in enumerate(entries):
            entry: dict[str, Any] = {"Id": str(position), "MessageBody": body.decode()}
            if self.fifo:
                entry["MessageGroupId"] = prediction.group or prediction.record_id
                entry["MessageDeduplicationId"] = _dedup_id(prediction, body)
            request.append(entry)
        return _entry_failures(self.sqs.send_message_batch(QueueUrl=self.url, Entries=request))


class SnsWriter(_EntryWriter):
    """One notification per prediction, PublishBatch of 10; FIFO topics keep the record's group."""

    def __init__(self, sns: Any, topic_arn: str, id_field: str) -> None:
        super().__init__(id_field)
        self.sns = sns
        self.topic_arn = topic_arn
        self.fifo = topic_arn.endswith(".fifo")

    @property
    def target(self) -> str:
        return f"SNS topic {self.topic_arn}"

    def send(self, entries: list[tuple[Prediction, bytes]]) -> dict[int, str]:
        request = []
        for position, (prediction, body) in enumerate(entries):
            entry: dict[str, Any] = {
                "Id": str(position),
                "Message": body.decode(),
                "MessageAttributes": {
                    "model_name": {
                        "DataType": "String",
                        "StringValue": str(prediction.document["model_name"]),
                    }
                },
            }
            if self.fifo:
                entry["MessageGroupId"] = prediction.group or prediction.record_id
                entry["MessageDeduplicationId"] = _dedup_id(prediction, body)
            request.append(entry)
        return _entry_failures(
            self.sns.publish_batch(TopicArn=self.topic_arn, PublishBatchRequestEntries=request)
        )


class EventBridgeWriter(_EntryWriter):
    """One `Prediction` event per record on the bus, PutEvents of 10."""

    DETAIL_TYPE = "Prediction"

    def __init__(self, events: Any, bus: str, id_field: str, function_name: str) -> None:
        super().__init__(id_field)
        self.events = events
        self.bus = bus
        self.source = f"onnx-lambda.{function_name}"

    @property
    def target(self) -> str:
        return f"event bus {self.bus}"

    def send(self, entries: list[tuple[Prediction, bytes]]) -> dict[int, str]:
        request = [
            {
                "Source": self.source,
                "DetailType": self.DETAIL_TYPE,
                "Detail": body.decode(),
                "EventBusName": self.bus,
            }
            for _, body in entries
        ]
        response = self.events.put_events(Entries=request)
        return {
            position: _coded_reason(entry["ErrorCode"], entry.get("ErrorMessage"))
            for position, entry in enumerate(response.get("Entries", []))
            if entry.get("ErrorCode")
        }


class DynamoDbWriter:
    """One item per record keyed by its id, BatchWriteItem of 25, unprocessed items retried with backoff.

    A DynamoDB stream record is written back as its own NewImage plus the prediction attributes,
    so scoring a table into itself enriches the item; the stream source skips the change that this
    write causes (see `handler.events.dynamodb`).
    """

    returns = False

    def __init__(
        self, dynamodb: Any, table: str, id_field: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.id_field = id_field
        self.sleep = sleep

    def item(self, prediction: Prediction) -> dict[str, Any]:
        if prediction.item is None:
            # Ids are strings everywhere (row numbers of an S3 object included), so the key type is S.
            return to_dynamodb({**prediction.document, self.id_field: prediction.record_id})
        added = {name: value for name, value in prediction.document.items() if name in PREDICTION_ATTRIBUTES}
        return {**writable(prediction.item), **to_dynamodb(added)}

    def write(self, predictions: Sequence[Prediction], deadline: Deadline, name: str) -> dict[int, str]:
        failures: dict[int, str] = {}
        for batch in self._batches(predictions):
            if deadline.expired():
                failures.update({prediction.position: WRITE_DEADLINE_REASON for prediction in batch})
                continue
            failures.update(self._write_batch(batch, deadline))
        return failures

    def _batches(self, predictions: Sequence[Prediction]) -> list[list[Prediction]]:
        """Batches of 25 in order; an id seen twice starts a new batch, since BatchWriteItem refuses that."""
        batches: list[list[Prediction]] = []
        ids: set[str] = set()
        for prediction in predictions:
            if not batches or len(batches[-1]) == 25 or prediction.record_id in ids:
                batches.append([])
                ids = set()
            batches[-1].append(prediction)
            ids.add(prediction.record_id)
        return batches

    def _write_batch(self, batch: list[Prediction], deadline: Deadline) -> dict[int, str]:
        pending = {_fingerprint(item): prediction for prediction in batch for item in [self.item(prediction)]}
        request = [{"PutRequest": {"Item": self.item(prediction)}} for prediction in batch]
        attempt = 0
        while True:
            try:
                response = self.dynamodb.batch_write_item(RequestItems={self.table: request})
            except AWS_ERRORS as exc:
                reason = _not_written(f"DynamoDB table {self.table}", exc)
                return {prediction.position: reason for prediction in pending.values()}
            request = response.get("UnprocessedItems", {}).get(self.table, [])
            left = {_fingerprint(entry["PutRequest"]["Item"]) for entry in request}
            pending = {key: prediction for key, prediction in pending.items() if key in left}
            if not request:
                return {}
            attempt += 1
            if attempt >= DYNAMODB_ATTEMPTS or deadline.expired():
                reason = f"DynamoDB table {self.table} left the item unprocessed after {attempt} attempts"
                return {prediction.position: reason for prediction in pending.values()}
            self.sleep(min(0.05 * 2**attempt, 1.0))

    def open_object(self, ref: ObjectRef, model: Model, deadline: Deadline) -> ObjectSink:
        return BatchedSink(self, ref, model, self.id_field, deadline)

    def is_own_output(self, ref: ObjectRef) -> bool:
        return False


def _fingerprint(item: Mapping[str, Any]) -> str:
    return json.dumps(item, sort_keys=True, default=repr)
