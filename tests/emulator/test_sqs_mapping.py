"""The SQS event source mapping against moto's server: batches, partial failures, the DLQ."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from onnx_lambda.emulator.config import FunctionConfig
from onnx_lambda.emulator.sqs_mapping import SqsMappingConfig

GOOD = [
    {
        "id": f"flower-{index}",
        "sepal_length": 5.1,
        "sepal_width": 3.5,
        "petal_length": 1.4,
        "petal_width": 0.2,
    }
    for index in range(5)
]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def sqs(moto_endpoint: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def make_queue(sqs: Any) -> Callable[[str], tuple[str, str]]:
    """A queue whose redrive policy moves a message to its DLQ after 2 receives; (url, dlq url)."""

    def make(name: str) -> tuple[str, str]:
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
        url = sqs.create_queue(
            QueueName=name, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "1"}
        )["QueueUrl"]
        return url, dlq

    return make


def counts(sqs: Any, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    )


def wait_until_settled(sqs: Any, url: str, dlq: str, in_dlq: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if counts(sqs, url) == (0, 0) and counts(sqs, dlq)[0] == in_dlq:
            return
        time.sleep(0.2)
    raise AssertionError(f"queue {counts(sqs, url)}, DLQ {counts(sqs, dlq)} after {seconds} s")


def test_poison_goes_to_the_dlq_and_good_messages_are_scored_and_deleted(
    start_emulator, make_queue, sqs, moto_endpoint
):
    url, dlq = make_queue("scores")
    for record in GOOD:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    poison_id = sqs.send_message(QueueUrl=url, MessageBody="poison: this is not JSON")["MessageId"]
    mapping = SqsMappingConfig(url, moto_endpoint, batch_size=10, maximum_batching_window_s=0.5)

    emulator = start_emulator(FunctionConfig(name="scorer"), http_port=None, invoke_port=None, sqs=(mapping,))
    wait_until_settled(sqs, url, dlq, in_dlq=1)

    (poison,) = drain(sqs, dlq)
    assert poison["Body"] == "poison: this is not JSON"
    (mapping_state,) = emulator.mappings
    assert mapping_state.deleted == len(GOOD)
    # The function logged why the poison failed, on each of its two receives (at least).
    failed = [line for line in emulator.function.logs.lines if poison_id in line and "not valid JSON" in line]
    assert len(failed) >= 2
    reports = emulator.function.logs.reports()
    assert "Init Duration" in reports[0]
    assert all("Init Duration" not in line for line in reports[1:])


def test_the_mapping_invokes_with_a_real_sqs_event(
    start_emulator, probe, make_queue, sqs, moto_endpoint, tmp_path
):
    url, dlq = make_queue("shapes")
    batches = tmp_path / "batches.jsonl"
    for index in range(4):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps({"n": index}),
            MessageAttributes={"model": {"DataType": "String", "StringValue": "iris"}},
        )
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    mapping = SqsMappingConfig(url, moto_endpoint, batch_size=5, maximum_batching_window_s=1.0)

    emulator = start_emulator(
        probe(name="shapes", environment={"PROBE_RECORD": str(batches)}),
        http_port=None,
        invoke_port=None,
        sqs=(mapping,),
    )
    wait_until_settled(sqs, url, dlq, in_dlq=1)

    received = [json.loads(line) for line in batches.read_text().splitlines()]
    first = received[0]
    assert len(first) == 5  # the batching window gathered the whole batch
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    good = next(record for record in first if record["body"] != "poison")
    assert good["eventSource"] == "aws:sqs"
    assert good["eventSourceARN"] == queue_arn
    assert good["awsRegion"] == "us-east-1"
    assert good["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(good["attributes"])
    assert good["messageAttributes"]["model"]["stringValue"] == "iris"
    assert good["messageAttributes"]["model"]["dataType"] == "String"
    assert good["md5OfBody"]
    assert good["receiptHandle"]
    # Only the poison message came back, once more, before the redrive policy took it.
    later = [record for batch in received[1:] for record in batch]
    assert [record["body"] for record in later] == ["poison"]
    assert later[0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert emulator.mappings[0].deleted == 4


def test_a_function_error_deletes_nothing(start_emulator, probe, make_queue, sqs, moto_endpoint):
    url, dlq = make_queue("broken")
    for index in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": index}))
    mapping = SqsMappingConfig(url, moto_endpoint, batch_size=10, maximum_batching_window_s=0.3)

    emulator = start_emulator(
        probe(name="broken", handler="broken_init.handler"), http_port=None, invoke_port=None, sqs=(mapping,)
    )
    wait_until_settled(sqs, url, dlq, in_dlq=3)

    assert emulator.mappings[0].deleted == 0
    assert sorted(json.loads(message["Body"])["n"] for message in drain(sqs, dlq)) == [0, 1, 2]
