"""An SQS event source mapping: poll a queue, invoke with batches, delete what succeeded.

As Lambda's poller does: receive up to `batch_size` messages (gathering for up to the batching
window), invoke synchronously with a real SQS event, then delete only the messages that succeeded.
With `ReportBatchItemFailures` the function's `batchItemFailures` name the ones to keep; a function
error keeps the whole batch. Kept messages reappear after the queue's visibility timeout, and the
queue's redrive policy moves a message received `maxReceiveCount` times to its dead-letter queue.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import boto3

from onnx_lambda.emulator.pool import Function, Invocation

MAX_RECEIVE = 10  # SQS returns at most 10 messages per ReceiveMessage
POLL_WAIT_S = 1  # long-poll in short rounds so the mapping stops promptly


@dataclass(frozen=True)
class SqsMappingConfig:
    """The mapping's settings, named as in `CreateEventSourceMapping`."""

    queue_url: str
    endpoint_url: str | None = None
    batch_size: int = 10
    maximum_batching_window_s: float = 0.0
    report_batch_item_failures: bool = True
    region: str = "us-east-1"


class SqsMapping:
    """Polls one queue for one function until `close()`."""

    def __init__(self, function: Function, config: SqsMappingConfig) -> None:
        """Connect to the queue (nothing is received until `start()`).

        function: what each batch invokes.
        config: the queue and the batching rules.
        """
        self.function = function
        self.config = config
        self.client = boto3.client(
            "sqs",
            endpoint_url=config.endpoint_url,
            region_name=config.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
        )
        self.queue_arn = ""
        self.deleted = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        attributes = await asyncio.to_thread(
            self.client.get_queue_attributes, QueueUrl=self.config.queue_url, AttributeNames=["QueueArn"]
        )
        self.queue_arn = attributes["Attributes"]["QueueArn"]
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _poll(self) -> None:
        while True:
            try:
                messages = await asyncio.to_thread(self._receive_batch)
            except Exception as exc:  # the queue or its endpoint went away: say so, then retry
                self.function.logs(
                    f"[emulator] SQS mapping cannot receive from {self.config.queue_url}: {exc}"
                )
                await asyncio.sleep(POLL_WAIT_S)
                continue
            if not messages:
                continue
            event = {"Records": [self.record(message) for message in messages]}
            invocation = await self.function.invoke(json.dumps(event).encode(), wait=True)
            succeeded = self.succeeded(messages, invocation)
            if succeeded:
                await asyncio.to_thread(self._delete, succeeded)

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Up to `batch_size` messages: wait for the first, then gather for the batching window."""
        config = self.config
        messages: list[dict[str, Any]] = []
        window_ends = None
        while len(messages) < config.batch_size:
            wait = POLL_WAIT_S if not messages else 0
            received: list[Any] = self.client.receive_message(
                QueueUrl=config.queue_url,
                MaxNumberOfMessages=min(MAX_RECEIVE, config.batch_size - len(messages)),
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(received)
            if not messages:
                return messages
            if window_ends is None:
                window_ends = time.monotonic() + config.maximum_batching_window_s
            if time.monotonic() >= window_ends:
                break
            if not received:
                time.sleep(min(0.05, max(0.0, window_ends - time.monotonic())))
        return messages

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        """One message as a record of Lambda's SQS event."""
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: _message_attribute(value)
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.config.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def succeeded(self, messages: list[dict[str, Any]], invocation: Invocation) -> list[dict[str, Any]]:
        """The messages to delete: all, none (function error) or all but `batchItemFailures`."""
        if invocation.error_type:
            return []
        if not self.config.report_batch_item_failures:
            return messages
        response = invocation.json()
        failures = response.get("batchItemFailures") if isinstance(response, dict) else None
        if not failures:
            return messages
        ids = {message["MessageId"] for message in messages}
        failed = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in ids:
                # Lambda treats a malformed or unknown itemIdentifier as a failure of the whole batch.
                return []
            failed.add(identifier)
        return [message for message in messages if message["MessageId"] not in failed]

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), MAX_RECEIVE):
            chunk = messages[start : start + MAX_RECEIVE]
            self.client.delete_message_batch(
                QueueUrl=self.config.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(chunk)
                ],
            )
        self.deleted += len(messages)


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS's `MessageAttributeValue` in the Lambda event's camelCase, binary values in base64."""
    converted: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return converted
