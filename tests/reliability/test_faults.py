"""Faults injected while work is in flight: for each, what the caller sees, and that nothing is lost.

"Nothing lost" is counted: records in = records written at the destination + records reported
failed (which Lambda delivers again). AWS errors are injected into real botocore clients talking
to moto, at the HTTP layer (a `before-send` hook), so botocore's own retries run as they would.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from reliability_support import (
    SETOSA,
    VALID_INFER,
    VALID_LABELS,
    VIRGINICA,
    iris_record,
    record_figure,
    s3_notification,
    sqs_message,
)

from handler.environment import SETTINGS, STORE
from handler.errors import ModelLoadError
from handler.events import aws as aws_module
from handler.events import handle
from handler.events.aws import DynamoDbWriter
from handler.events.batch import EventScorer
from handler.events.destinations import ReturnWriter, open_writer
from handler.events.dynamodb_json import to_plain
from handler.model_download import download_models
from handler.settings import BUNDLED_MODELS, Destination, Settings
from handler.store import ModelStore
from onnx_lambda.context import LambdaContext
from onnx_lambda.emulator.config import FunctionConfig
from onnx_lambda.emulator.server import EmulatorConfig, ThreadedEmulator

REGION = "us-east-1"
PROBE = Path(__file__).resolve().parents[1] / "emulator" / "functions"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def inject(
    client: Any, operation: str, fail: Callable[[int], bool], code: str, status: int = 500
) -> list[int]:
    """Answer the `fail(n)`th calls of `operation` (1-based, retries included) with an AWS error.

    Returns the list of call numbers seen, so a test can count attempts and retries.
    """
    calls: list[int] = []
    service = client.meta.service_model.service_name
    protocol = client.meta.service_model.protocol

    def before_send(request: Any, **_: Any) -> AWSResponse | None:
        calls.append(len(calls) + 1)
        if not fail(calls[-1]):
            return None
        if protocol in ("json", "smithy-rpc-v2-cbor"):
            headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-query-error": f"{code};Sender"}
            body = json.dumps({"__type": code, "message": "injected by the reliability tests"}).encode()
        else:
            headers = {"content-type": "application/xml"}
            body = (
                f"<Error><Code>{code}</Code><Message>injected by the reliability tests</Message></Error>"
            ).encode()
        url = request.url
        # Every before-send handler runs and the first answer wins; pointing the request nowhere
        # keeps moto (a later handler) from carrying out the call whose failure we answer.
        request.url = "https://injected-fault.invalid/"
        return AWSResponse(url, status, headers, _Raw(body))

    event_name = service.replace(" ", "-").lower() if service != "events" else "eventbridge"
    client.meta.events.register_first(f"before-send.{event_name}.{operation}", before_send)
    return calls


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr(aws_module, "_clients", {})
    with mock_aws():
        yield


def scorer_for(destination: Destination) -> EventScorer:
    settings = SETTINGS._replace(destination=destination)
    return EventScorer(STORE, settings, open_writer(destination, settings))


def sqs_batch(count: int, prefix: str = "m") -> dict[str, Any]:
    rows = [SETOSA, VIRGINICA]
    return {
        "Records": [
            sqs_message(f"{prefix}-{index}", iris_record(f"{prefix}-{index}", rows[index % 2]))
            for index in range(count)
        ]
    }


def failed(response: dict[str, Any]) -> set[str]:
    return {entry["itemIdentifier"] for entry in response["batchItemFailures"]}


def account(records_in: int, written: int, reported: int, fault: str) -> None:
    """Nothing lost: every record is at the destination or reported failed for redelivery."""
    lost = records_in - written - reported
    assert lost == 0, f"{fault}: {records_in} in, {written} written, {reported} reported failed"
    record_figure(
        "faults", 1, fault=fault, records_in=records_in, written=written, failed=reported, lost=lost
    )


def drain(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def predictions_table() -> Any:
    """A `predictions` table keyed by `id` in moto; returns a client for reading it back."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="predictions",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb


def test_an_sqs_destination_failing_mid_batch_fails_exactly_the_unsent_records(aws: None) -> None:
    url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="predictions")["QueueUrl"]
    scorer = scorer_for(Destination("sqs", url))
    calls = inject(scorer.writer.sqs, "SendMessageBatch", lambda n: n >= 2, "InternalError")  # type: ignore[attr-defined]

    response = handle(sqs_batch(25), LambdaContext(), scorer)

    landed = {body["id"] for body in drain(url)}
    assert landed == {f"m-{index}" for index in range(10)}  # the first SendMessageBatch of 10
    assert failed(response) == {f"m-{index}" for index in range(10, 25)}
    assert len(calls) > 2  # botocore retried the 500s before the writer gave up on a batch
    account(25, len(landed), len(failed(response)), "SQS SendMessageBatch 500 mid-batch")


def test_a_dynamodb_destination_failing_mid_batch_fails_exactly_the_unwritten_records(aws: None) -> None:
    dynamodb = predictions_table()
    scorer = scorer_for(Destination("dynamodb", "predictions"))
    inject(scorer.writer.dynamodb, "BatchWriteItem", lambda n: n >= 2, "InternalServerError")  # type: ignore[attr-defined]

    response = handle(sqs_batch(40), LambdaContext(), scorer)

    items = {to_plain(item)["id"] for item in dynamodb.scan(TableName="predictions")["Items"]}
    assert items == {f"m-{index}" for index in range(25)}  # the first BatchWriteItem of 25
    assert failed(response) == {f"m-{index}" for index in range(25, 40)}
    account(40, len(items), len(failed(response)), "DynamoDB BatchWriteItem 500 mid-batch")


def test_dynamodb_throttling_is_retried_then_the_records_are_reported_failed(aws: None) -> None:
    dynamodb = predictions_table()
    scorer = scorer_for(Destination("dynamodb", "predictions"))
    calls = inject(
        scorer.writer.dynamodb,  # type: ignore[attr-defined]
        "BatchWriteItem",
        lambda n: True,
        "ProvisionedThroughputExceededException",
        400,
    )

    response = handle(sqs_batch(5), LambdaContext(), scorer)

    assert len(calls) == 4  # botocore's standard mode as configured: the call and three retries
    assert failed(response) == {f"m-{index}" for index in range(5)}
    assert dynamodb.scan(TableName="predictions")["Count"] == 0
    account(5, 0, len(failed(response)), "DynamoDB ProvisionedThroughputExceeded (3 retries)")


def test_unprocessed_items_are_retried_with_backoff_then_reported_failed(aws: None) -> None:
    dynamodb = predictions_table()
    real = dynamodb.batch_write_item
    attempts: list[int] = []

    def throttled_half(**request: Any) -> dict[str, Any]:
        """DynamoDB under pressure: it writes the first item of each call and leaves the rest."""
        entries = request["RequestItems"]["predictions"]
        attempts.append(len(entries))
        real(RequestItems={"predictions": entries[:1]})
        return {"UnprocessedItems": {"predictions": entries[1:]} if entries[1:] else {}}

    dynamodb.batch_write_item = throttled_half  # type: ignore[method-assign]
    sleeps: list[float] = []
    writer = DynamoDbWriter(dynamodb, "predictions", "id", sleep=sleeps.append)
    scorer = EventScorer(STORE, SETTINGS, writer)

    response = handle(sqs_batch(8), LambdaContext(), scorer)

    assert attempts == [8, 7, 6, 5, 4]  # five attempts, each retrying what was left
    assert len(sleeps) == 4
    assert sleeps == sorted(sleeps)  # a growing backoff between attempts
    written = dynamodb.scan(TableName="predictions")["Count"]
    assert written == 5
    assert len(failed(response)) == 3
    account(8, written, len(failed(response)), "DynamoDB UnprocessedItems after 5 attempts")


def test_eventbridge_throttling_is_retried_then_reported_failed(aws: None) -> None:
    boto3.client("events", region_name=REGION).create_event_bus(Name="predictions")
    scorer = scorer_for(Destination("events", "predictions"))
    calls = inject(scorer.writer.events, "PutEvents", lambda n: True, "ThrottlingException", 400)  # type: ignore[attr-defined]

    response = handle(sqs_batch(12), LambdaContext(), scorer)

    assert len(calls) == 2 * 4  # two PutEvents batches (10 + 2), each tried four times
    assert failed(response) == {f"m-{index}" for index in range(12)}
    account(12, 0, 12, "EventBridge ThrottlingException (3 retries)")


def test_an_s3_read_failing_mid_batch_fails_only_that_object(aws: None) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="incoming")
    csv = "id,sepal_length,sepal_width,petal_length,petal_width\n"
    for name in ("a", "b", "c"):
        rows = "".join(f"{name}-{row},5.1,3.5,1.4,0.2\n" for row in range(4))
        s3.put_object(Bucket="incoming", Key=f"{name}.csv", Body=(csv + rows).encode())
    scorer = EventScorer(STORE, SETTINGS, ReturnWriter(), s3=s3)
    inject(s3, "GetObject", lambda n: n >= 2 and n <= 4, "InternalError")  # b.csv's call and its retries

    event = {"Records": [sqs_message(n, s3_notification("incoming", f"{n}.csv")) for n in ("a", "b", "c")]}
    response = handle(event, LambdaContext(), scorer)

    assert failed(response) == {"b"}
    scored = {summary["key"]: summary["rows"] for summary in response["objects"]}
    assert scored == {"a.csv": 4, "c.csv": 4}
    account(12, sum(scored.values()), 4, "S3 GetObject 500 mid-batch")


def test_an_s3_destination_failing_fails_the_records_it_held(aws: None) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="predictions")
    scorer = scorer_for(Destination("s3", "predictions", "scored"))
    inject(scorer.writer.s3, "PutObject", lambda n: True, "SlowDown", 503)  # type: ignore[attr-defined]

    response = handle(sqs_batch(6), LambdaContext(), scorer)

    assert failed(response) == {f"m-{index}" for index in range(6)}
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket="predictions")
    assert listed["KeyCount"] == 0
    account(6, 0, 6, "S3 PutObject SlowDown 503")


def test_records_left_when_time_runs_out_are_reported_failed_not_dropped() -> None:
    class RunningOut:
        """150 ms pass each time the scorer looks at the clock; it stops 1000 ms before the end."""

        def __init__(self) -> None:
            self.left = 7100 + 150

        def get_remaining_time_in_millis(self) -> int:
            self.left -= 150
            return self.left

    diabetes = json.dumps({"instances": [[0.01] * 10]})
    event = sqs_batch(20)
    event["Records"] += [sqs_message(f"d-{index}", diabetes, {"model": "diabetes"}) for index in range(20)]
    response = handle(event, RunningOut(), EventScorer(STORE, SETTINGS, ReturnWriter()))

    scored = len(response["results"])
    assert failed(response)  # the deadline arrived mid-batch
    assert len(failed(response)) == 40 - scored
    account(40, scored, len(failed(response)), "invocation deadline mid-batch")


def test_a_full_tmp_while_downloading_a_model_is_a_clear_model_load_error(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="models")
    s3.put_object(Bucket="models", Key="prod/iris.onnx", Body=(BUNDLED_MODELS / "iris.onnx").read_bytes())

    def disk_full(self: Any, bucket: str, key: str, filename: str, *args: Any, **kwargs: Any) -> None:
        Path(filename).write_bytes(b"\0" * 100)  # the part written before the disk filled
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    monkeypatch.setattr("botocore.client.BaseClient.download_file", disk_full, raising=False)
    monkeypatch.setattr("boto3.s3.inject.download_file", disk_full)
    settings = Settings(models="s3://models/prod", model_cache=tmp_path)

    with pytest.raises(ModelLoadError) as raised:
        ModelStore.load(settings)

    message = raised.value.message
    assert "no space left" in message
    assert "s3://models/prod/iris.onnx" in message
    assert "ephemeral storage" in message
    assert not list(tmp_path.rglob("*.onnx"))  # nothing half-written that could pass for a model
    assert not list(tmp_path.rglob("*.partial"))
    with pytest.raises(ModelLoadError):
        download_models("s3://models/prod", tmp_path)
    record_figure("faults", 1, fault="/tmp full (ENOSPC) during model download", records_in=0, lost=0)


# --- through the local emulator: real processes, killed, timed out and refusing to start ---------


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    started: list[ThreadedEmulator] = []

    def start(function: FunctionConfig, **options: Any) -> Any:
        config = EmulatorConfig(
            function=function,
            http_port=0,
            invoke_port=0,
            failed_events=tmp_path_factory.mktemp("faults") / "failed-events.jsonl",
            event_retry_delays=(0.1, 0.1),
            **options,
        )
        threaded = ThreadedEmulator(config)
        started.append(threaded)
        return threaded.start()

    yield start
    for threaded in started:
        threaded.stop()


def post(url: str, body: bytes, timeout: float = 60) -> tuple[int, bytes]:
    request = urllib.request.Request(url, body, {"content-type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def invoke(emulator: Any, payload: Any, asynchronous: bool = False) -> tuple[int, dict[str, str], Any]:
    url = f"{emulator.invoke_url}/2015-03-31/functions/{emulator.config.function.name}/invocations"
    request = urllib.request.Request(url, json.dumps(payload).encode(), method="POST")
    if asynchronous:
        request.add_header("X-Amz-Invocation-Type", "Event")
    with urllib.request.urlopen(request, timeout=60) as response:
        raw = response.read()
        return response.status, dict(response.headers), json.loads(raw) if raw else None


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_an_instance_killed_mid_invocation_fails_that_call_and_the_event_is_delivered_again(
    emulators: Callable[..., Any], tmp_path: Path
) -> None:
    emulator = emulators(
        FunctionConfig(name="probe", handler="probe.handler", task_root=PROBE, memory_mb=256, timeout_s=10)
    )
    attempts = tmp_path / "attempts.jsonl"
    status, _, _ = invoke(emulator, {"action": "sleep", "seconds": 1.5, "record": str(attempts)}, True)
    assert status == 202
    assert wait_for(lambda: attempts.exists() and attempts.read_text().count("\n") == 1)
    (instance,) = emulator.function.instances
    os.kill(instance.process.pid, signal.SIGKILL)  # mid-invocation: it is sleeping

    assert wait_for(lambda: attempts.read_text().count("\n") == 2)  # the retry, on a fresh instance
    runs = [json.loads(line) for line in attempts.read_text().splitlines()]
    assert runs[0]["request_id"] == runs[1]["request_id"]
    failed_events = emulator.config.failed_events
    assert wait_for(lambda: emulator.function.busy == 0)  # the retry finished
    assert not failed_events.exists() or failed_events.read_text() == ""  # nothing kept as failed
    _, headers, _ = invoke(emulator, {"action": "echo"})
    assert "X-Amz-Function-Error" not in headers
    account(1, 1, 0, "instance killed mid-invocation (emulator, async retry)")


def test_an_instance_that_dies_mid_invocation_is_an_exit_error_and_the_next_request_is_served(
    emulators: Callable[..., Any],
) -> None:
    emulator = emulators(
        FunctionConfig(name="probe", handler="probe.handler", task_root=PROBE, memory_mb=256, timeout_s=10)
    )
    _, headers, body = invoke(emulator, {"action": "exit", "code": 9})

    assert headers["X-Amz-Function-Error"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    status, answer = post(emulator.http_url + "/anything", b"{}")
    assert status == 200  # a fresh instance answers the next request
    assert json.loads(answer)["count"] == 1
    record_figure("faults", 1, fault="instance exits mid-invocation (emulator)", records_in=0, lost=0)


def test_a_timeout_is_reported_as_lambda_does_and_the_next_call_runs_cold(
    emulators: Callable[..., Any],
) -> None:
    emulator = emulators(
        FunctionConfig(name="probe", handler="probe.handler", task_root=PROBE, memory_mb=256, timeout_s=1)
    )
    status, headers, body = invoke(emulator, {"action": "sleep", "seconds": 5})

    assert status == 200
    assert headers["X-Amz-Function-Error"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    status, headers, body = invoke(emulator, {"action": "echo"})
    assert "X-Amz-Function-Error" not in headers
    assert body["count"] == 1  # a new execution environment
    record_figure("faults", 1, fault="function timeout (emulator)", records_in=0, lost=0)


def test_a_corrupted_model_refuses_to_serve_and_is_an_init_error(
    emulators: Callable[..., Any], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(BUNDLED_MODELS / "iris.json", models / "iris.json")
    original = (BUNDLED_MODELS / "iris.onnx").read_bytes()
    pin = hashlib.sha256(original).hexdigest()
    corrupted = bytearray(original)
    corrupted[len(corrupted) // 2] ^= 0xFF  # one flipped byte, as a bad copy or a tampered file
    (models / "iris.onnx").write_bytes(bytes(corrupted))
    emulator = emulators(
        FunctionConfig(
            name="pinned",
            environment={"ONNX_LAMBDA_MODELS": str(models), "ONNX_LAMBDA_MODEL_SHA256": f"iris={pin}"},
        )
    )

    status, headers, body = invoke(emulator, {"version": "2.0"})
    assert headers["X-Amz-Function-Error"] == "Unhandled"
    assert body["errorType"] == "ModelLoadError"
    assert f"expected {pin}" in body["errorMessage"]
    assert "refusing to serve it" in body["errorMessage"]
    status, answer = post(emulator.http_url + "/v2/models/iris/infer", VALID_INFER)
    # An HTTP API's answer when the function cannot start: no error type, digest or path leaks.
    assert (status, json.loads(answer)) == (500, {"message": "Internal Server Error"})
    record_figure(
        "faults", 1, fault="corrupted model file, digest pin (emulator init error)", records_in=0, lost=0
    )


def test_the_bundled_function_keeps_serving_through_the_api_gateway_door(
    emulators: Callable[..., Any],
) -> None:
    """The control for the faults above: the same door, a healthy function, the right answer."""
    emulator = emulators(FunctionConfig(name="healthy"))
    status, body = post(emulator.http_url + "/v2/models/iris/infer", VALID_INFER)
    assert status == 200
    labels = next(o for o in json.loads(body)["outputs"] if o["name"] == "label")["data"]
    assert labels == VALID_LABELS
