"""Helpers for the event tests: destinations made real in moto, and readers for what landed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from handler.events.dynamodb_json import to_plain
from handler.settings import Destination

REGION = "us-east-1"
DESTINATIONS = ("return", "s3", "dynamodb", "sqs", "sns", "events")


@dataclass
class Landing:
    """A destination made real in moto, and a way to read back what landed there."""

    destination: Destination
    read: Callable[[], list[dict[str, Any]]]
    resources: dict[str, Any] = field(default_factory=dict)


def _queue(name: str, fifo: bool = False) -> tuple[str, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if fifo else {}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(url: str) -> list[dict[str, Any]]:
    """Every message body on the queue, parsed, in the order received."""
    sqs = boto3.client("sqs", region_name=REGION)
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def read_jsonl_objects(bucket: str, prefix: str = "") -> dict[str, list[dict[str, Any]]]:
    """Every JSON Lines object under the prefix, by key."""
    s3 = boto3.client("s3", region_name=REGION)
    objects = {}
    for entry in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        if entry["Key"].endswith(".jsonl"):
            body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read().decode()
            objects[entry["Key"]] = [json.loads(line) for line in body.splitlines()]
    return objects


def make_landing(kind: str, table_key: str = "id") -> Landing:
    """Create the bucket, table, queue, topic or bus for `kind`; call inside `aws`."""
    if kind == "return":
        return Landing(Destination(), lambda: [])
    if kind == "s3":
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="predictions")

        def read_s3() -> list[dict[str, Any]]:
            return [doc for docs in read_jsonl_objects("predictions", "scored/").values() for doc in docs]

        return Landing(Destination("s3", "predictions", "scored"), read_s3)
    if kind == "dynamodb":
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="predictions",
            KeySchema=[{"AttributeName": table_key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": table_key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

        def read_table() -> list[dict[str, Any]]:
            return [to_plain(item) for item in dynamodb.scan(TableName="predictions")["Items"]]

        return Landing(Destination("dynamodb", "predictions"), read_table)
    if kind == "sqs":
        url, _ = _queue("predictions")
        return Landing(Destination("sqs", "predictions"), lambda: drain(url), {"url": url})
    if kind == "sns":
        url, arn = _queue("sns-subscriber")
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="predictions")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        return Landing(Destination("sns", topic), lambda: drain(url))
    if kind == "events":
        url, arn = _queue("bus-subscriber")
        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name="predictions")
        events.put_rule(
            Name="all-predictions",
            EventBusName="predictions",
            EventPattern=json.dumps({"detail-type": ["Prediction"]}),
        )
        events.put_targets(
            Rule="all-predictions", EventBusName="predictions", Targets=[{"Id": "q", "Arn": arn}]
        )
        return Landing(
            Destination("events", "predictions"), lambda: [event["detail"] for event in drain(url)]
        )
    raise ValueError(kind)


class RunningOutContext:
    """A Lambda context with plenty of time for its first `calls` questions, then almost none."""

    def __init__(self, calls: int, plenty_ms: int = 60_000, left_ms: int = 200) -> None:
        self.calls = calls
        self.plenty_ms = plenty_ms
        self.left_ms = left_ms
        self.asked = 0

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return self.plenty_ms if self.asked <= self.calls else self.left_ms


def sqs_event(
    bodies: list[object], queue: str = "scoring-queue", groups: list[str] | None = None
) -> dict[str, Any]:
    """An SQS event whose messages carry `bodies` (JSON-encoded unless already text), ids m0, m1, ..."""
    records = []
    for index, body in enumerate(bodies):
        attributes = {"ApproximateReceiveCount": "1", "SentTimestamp": "1733300000000"}
        if groups:
            attributes["MessageGroupId"] = groups[index]
        records.append(
            {
                "messageId": f"m{index}",
                "receiptHandle": f"handle-{index}",
                "body": body if isinstance(body, str) else json.dumps(body),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def flower(n: int, **fields: object) -> dict[str, object]:
    """A named-feature iris record with id f<n>."""
    return {
        "id": f"f{n}",
        "sepal_length": 5.0 + n % 3,
        "sepal_width": 3.0,
        "petal_length": 1.5 + n % 4,
        "petal_width": 0.2 + n % 2,
        **fields,
    }


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [entry["itemIdentifier"] for entry in response["batchItemFailures"]]
