"""boto3 `lambda.invoke` against the emulator's Invoke API: sync, Event, DryRun, errors, log tails."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from onnx_lambda.emulator.config import FunctionConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def probe_emulator(start_emulator, probe):
    return start_emulator(probe(environment={"PROBE_RECORD": ""}))


@pytest.fixture(scope="module")
def client(probe_emulator, lambda_client):
    return lambda_client(probe_emulator)


def invoke(client: Any, payload: Any, **options: Any) -> tuple[dict[str, Any], Any]:
    response = client.invoke(FunctionName="probe", Payload=json.dumps(payload), **options)
    return response, json.loads(response["Payload"].read() or b"null")


def test_request_response_runs_the_handler_under_lambda_s_environment(client):
    response, body = invoke(client, {"action": "echo", "n": 1})

    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert body["event"] == {"action": "echo", "n": 1}
    assert body["function_name"] == "probe"
    assert body["memory_limit_in_mb"] == "256"  # a string, as in Lambda's Python runtime
    assert 0 < body["remaining_ms"] <= 5000
    env = body["environment"]
    assert env["_HANDLER"] == "probe.handler"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/probe"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["TZ"] == ":UTC"
    assert env["AWS_ACCESS_KEY_ID"]
    assert env["LAMBDA_TASK_ROOT"].endswith("functions")


def test_client_context_reaches_the_handler(client):
    custom = base64.b64encode(json.dumps({"custom": {"tenant": "acme"}}).encode()).decode()
    response = client.invoke(FunctionName="probe", Payload=b"{}", ClientContext=custom)

    assert json.loads(response["Payload"].read())["client_context"] == {"tenant": "acme"}


def test_function_name_may_be_an_arn(client):
    arn = "arn:aws:lambda:us-east-1:123456789012:function:probe"
    response = client.invoke(FunctionName=arn, Payload=b"{}")
    assert response["StatusCode"] == 200


def test_a_raised_exception_is_an_unhandled_function_error(client):
    response, body = invoke(client, {"action": "fail", "message": "no such feature 'colour'"})

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "no such feature 'colour'"
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]


def test_log_type_tail_returns_the_invocation_s_log(client, log_result):
    response, _ = invoke(client, {"action": "log", "lines": 3}, LogType="Tail")

    log = log_result(response).splitlines()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert [line for line in log if line.startswith("probe log line")] == [
        "probe log line 0",
        "probe log line 1",
        "probe log line 2",
    ]
    assert f"END RequestId: {request_id}" in log
    report = log[-1].split("\t")
    assert report[0] == f"REPORT RequestId: {request_id}"
    assert report[1].startswith("Duration: ")
    assert report[2].startswith("Billed Duration: ")
    assert report[3] == "Memory Size: 256 MB"
    assert report[4].startswith("Max Memory Used: ")


def test_log_tail_is_the_last_4_kb(client, log_result):
    response, _ = invoke(client, {"action": "log", "lines": 500}, LogType="Tail")

    log = log_result(response)
    assert len(log.encode()) == 4096
    assert log.rstrip("\n").splitlines()[-1].startswith("REPORT RequestId:")
    assert "probe log line 499" in log
    assert "probe log line 0\n" not in log


def test_dry_run_checks_access_without_running(client, tmp_path):
    record = tmp_path / "runs.jsonl"
    response = client.invoke(
        FunctionName="probe", InvocationType="DryRun", Payload=json.dumps({"record": str(record)})
    )

    assert response["StatusCode"] == 204
    assert not record.exists()


def test_event_invocations_are_queued_and_run(client, tmp_path, wait_for):
    record = tmp_path / "runs.jsonl"
    response = client.invoke(
        FunctionName="probe", InvocationType="Event", Payload=json.dumps({"record": str(record)})
    )

    assert response["StatusCode"] == 202
    assert wait_for(lambda: record.exists() and len(record.read_text().splitlines()) == 1)


def test_failing_event_invocations_are_retried_twice_then_kept(client, probe_emulator, tmp_path, wait_for):
    record = tmp_path / "runs.jsonl"
    payload = {"action": "fail", "message": "poison", "record": str(record)}
    response = client.invoke(FunctionName="probe", InvocationType="Event", Payload=json.dumps(payload))
    request_id = response["ResponseMetadata"]["RequestId"]

    def kept() -> list[dict[str, Any]]:
        url = probe_emulator.invoke_url + "/_emulator/failed-events"
        with urllib.request.urlopen(url) as answer:
            records = json.loads(answer.read())
        return [r for r in records if r["requestContext"]["requestId"] == request_id]

    assert wait_for(lambda: bool(kept()))
    attempts = [json.loads(line) for line in record.read_text().splitlines()]
    assert [attempt["request_id"] for attempt in attempts] == [request_id] * 3
    (failure,) = kept()
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestPayload"] == payload
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["responsePayload"]["errorMessage"] == "poison"
    on_disk = [json.loads(line) for line in probe_emulator.config.failed_events.read_text().splitlines()]
    assert failure in on_disk


def test_an_unknown_function_is_resource_not_found(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="Function not found"):
        client.invoke(FunctionName="nobody", Payload=b"{}")


def test_a_payload_that_is_not_json_is_rejected(client):
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="probe", Payload=b"{not json")


def test_the_bundled_function_answers_an_http_event_fixture(start_emulator, lambda_client, load_event):
    emulator = start_emulator(FunctionConfig(name="onnx-lambda"), http_port=None)
    response = lambda_client(emulator).invoke(
        FunctionName="onnx-lambda", Payload=json.dumps(load_event("http-api-v2-infer"))
    )

    answer = json.loads(response["Payload"].read())
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert answer["statusCode"] == 200
    outputs = {output["name"]: output for output in json.loads(answer["body"])["outputs"]}
    assert outputs["label"]["data"] == [0, 1, 2]


def test_an_import_error_at_init_is_reported_as_lambda_does(start_emulator, probe, lambda_client, log_result):
    emulator = start_emulator(probe(name="missing", handler="no_such_module.handler"), http_port=None)
    response = lambda_client(emulator).invoke(FunctionName="missing", Payload=b"{}", LogType="Tail")

    body = json.loads(response["Payload"].read())
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert (
        body["errorMessage"] == "Unable to import module 'no_such_module': No module named 'no_such_module'"
    )
    log = log_result(response)
    assert "INIT_REPORT Init Duration:" in log
    assert "Status: error\tError Type: Runtime.ImportModuleError" in log


def test_an_exception_during_init_is_reported_with_its_type(start_emulator, probe, lambda_client):
    emulator = start_emulator(probe(name="broken", handler="broken_init.handler"), http_port=None)
    response = lambda_client(emulator).invoke(FunctionName="broken", Payload=b"{}")

    body = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "RuntimeError"
    assert body["errorMessage"] == "model 'iris' failed its SHA-256 check"


def test_a_model_digest_mismatch_fails_the_bundled_function_s_init(start_emulator, lambda_client):
    pin = {"ONNX_LAMBDA_MODEL_SHA256": "iris=" + "0" * 64}
    emulator = start_emulator(FunctionConfig(name="pinned", environment=pin), http_port=None)
    response = lambda_client(emulator).invoke(FunctionName="pinned", Payload=b"{}")

    body = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ModelLoadError"
    assert "iris" in body["errorMessage"]
