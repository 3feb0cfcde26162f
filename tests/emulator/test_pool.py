"""Execution environments: warm reuse, cold starts, timeouts, memory, crashes, throttling, reaping."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest


def invoke(client: Any, payload: Any, **options: Any) -> tuple[dict[str, Any], Any]:
    response = client.invoke(FunctionName="probe", Payload=json.dumps(payload), LogType="Tail", **options)
    return response, json.loads(response["Payload"].read() or b"null")


def report(log: str) -> str:
    (line,) = [line for line in log.splitlines() if line.startswith("REPORT ")]
    return line


def test_warm_instances_are_reused_and_only_cold_starts_report_init(
    start_emulator, probe, lambda_client, log_result
):
    client = lambda_client(start_emulator(probe(), http_port=None))

    cold, first = invoke(client, {})
    warm, second = invoke(client, {})

    assert "\tInit Duration: " in report(log_result(cold))
    assert "Init Duration" not in report(log_result(warm))
    assert log_result(cold).startswith("INIT_START ")
    assert second["pid"] == first["pid"]
    assert second["count"] == first["count"] + 1


def test_a_timeout_kills_the_instance_and_the_next_invocation_is_cold(
    start_emulator, probe, lambda_client, log_result
):
    client = lambda_client(start_emulator(probe(timeout_s=1.0), http_port=None))
    _, before = invoke(client, {})

    response, body = invoke(client, {"action": "sleep", "seconds": 30})
    after_response, after = invoke(client, {})

    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"] == f"RequestId: {request_id} Error: Task timed out after 1.00 seconds"
    log = log_result(response)
    assert f"{request_id} Task timed out after 1.00 seconds" in log
    assert report(log).endswith("Status: timeout")
    assert after["pid"] != before["pid"]
    assert after["count"] == 1
    assert "Init Duration" in report(log_result(after_response))


def test_going_over_the_memory_size_is_out_of_memory(start_emulator, probe, lambda_client, log_result):
    client = lambda_client(start_emulator(probe(memory_mb=128), http_port=None))
    _, before = invoke(client, {"action": "allocate", "mb": 16, "hold": 0})

    response, body = invoke(client, {"action": "allocate", "mb": 400, "hold": 2})
    _, after = invoke(client, {})

    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.OutOfMemory"
    line = report(log_result(response))
    assert "Memory Size: 128 MB" in line
    assert int(line.split("Max Memory Used: ")[1].split(" MB")[0]) > 128
    assert line.endswith("Status: error\tError Type: Runtime.OutOfMemory")
    assert after["pid"] != before["pid"]


def test_a_runtime_that_exits_mid_invocation_is_an_exit_error(start_emulator, probe, lambda_client):
    client = lambda_client(start_emulator(probe(), http_port=None))

    response, body = invoke(client, {"action": "exit", "code": 3})
    _, after = invoke(client, {})

    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "Runtime exited with error: exit status 3",
    }
    assert after["count"] == 1


def test_beyond_the_concurrency_limit_invocations_are_throttled(
    start_emulator, probe, lambda_client, wait_for
):
    emulator = start_emulator(probe(concurrency=1))
    client = lambda_client(emulator)
    invoke(client, {})  # one warm instance, the only one allowed
    slow = threading.Thread(target=invoke, args=(client, {"action": "sleep", "seconds": 1.5}))
    slow.start()
    try:
        assert wait_for(lambda: emulator.function.busy == 1)

        with pytest.raises(client.exceptions.TooManyRequestsException) as raised:
            client.invoke(FunctionName="probe", Payload=b"{}")
        door = httpx.get(emulator.http_url + "/anything")
    finally:
        slow.join()

    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Message"] == "Rate Exceeded."
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert door.status_code == 429
    assert door.json() == {"message": "Too Many Requests"}
    assert invoke(client, {})[0]["StatusCode"] == 200


def test_concurrent_invocations_get_their_own_instances(start_emulator, probe, lambda_client):
    client = lambda_client(start_emulator(probe(concurrency=3), http_port=None))
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(invoke(client, {"action": "sleep", "seconds": 1})[1]))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({result["pid"] for result in results}) == 3


def test_idle_instances_are_reaped(start_emulator, probe, lambda_client, log_result, wait_for):
    emulator = start_emulator(probe(idle_timeout_s=0.3), http_port=None)
    client = lambda_client(emulator)
    _, first = invoke(client, {})

    assert wait_for(lambda: not emulator.function.instances)
    response, second = invoke(client, {})

    assert second["pid"] != first["pid"]
    assert "Init Duration" in report(log_result(response))
