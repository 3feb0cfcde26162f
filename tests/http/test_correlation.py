"""Correlation ids: X-Request-Id, traceparent and the X-Ray trace id come back in every HTTP response
and go into the invocation's log lines and metrics record, on the FastPath and the FastAPI routes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from emf_schema import emf_records
from log_capture import json_logs

import handler.http
from handler.logs import cap
from onnx_lambda.context import LambdaContext

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
FIXTURES = ["http-api-v2-infer", "http-api-v1-infer", "rest-v1-infer", "alb-infer", "function-url-infer"]


def with_headers(event: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """The event with extra request headers, where its payload format keeps them."""
    if event.get("multiValueHeaders") is not None and "headers" not in event:
        event["multiValueHeaders"].update({name: [value] for name, value in headers.items()})
    else:
        event["headers"] = {**(event.get("headers") or {}), **headers}
        if event.get("multiValueHeaders"):
            event["multiValueHeaders"].update({name: [value] for name, value in headers.items()})
    return event


def to_path(event: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """An HTTP API (2.0) event turned into `method path` with no body."""
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["body"] = None
    return event


def call(event: dict[str, Any], decode_response: Any) -> tuple[Any, LambdaContext]:
    context = LambdaContext()
    return decode_response(handler.http.lambda_handler(event, context)), context


@pytest.mark.parametrize("fixture", FIXTURES)
def test_the_callers_ids_come_back(load_event, decode_response, fixture):
    event = with_headers(
        load_event(fixture), {"X-Request-Id": "order-77/retry-2", "traceparent": TRACEPARENT}
    )

    response, _ = call(event, decode_response)

    assert response.status == 200
    assert response.headers["x-request-id"] == "order-77/retry-2"
    assert response.headers["traceparent"] == TRACEPARENT


@pytest.mark.parametrize("fixture", FIXTURES)
def test_without_a_caller_id_the_lambda_request_id_comes_back(load_event, decode_response, fixture):
    response, context = call(load_event(fixture), decode_response)

    assert response.headers["x-request-id"] == context.aws_request_id
    assert "traceparent" not in response.headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v2/models/iris", 200),  # FastAPI
        ("GET", "/v2/health/live", 200),  # FastPath
        ("GET", "/docs", 200),  # FastAPI
        ("GET", "/no/such/route", 404),  # FastAPI's error handler
        ("POST", "/v2/models/nope/infer", 404),  # FastPath's error reply
    ],
)
def test_every_route_returns_the_ids(load_event, decode_response, monkeypatch, method, path, status):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    event = with_headers(to_path(load_event("http-api-v2-infer"), method, path), {"traceparent": TRACEPARENT})

    response, context = call(event, decode_response)

    assert response.status == status
    assert response.headers["x-request-id"] == context.aws_request_id
    assert response.headers["traceparent"] == TRACEPARENT
    assert response.headers["x-amzn-trace-id"] == TRACE


MALFORMED = [
    pytest.param({"x-request-id": "a" * 500}, id="request-id-too-long"),
    pytest.param({"x-request-id": "two words"}, id="request-id-with-a-space"),
    pytest.param({"x-request-id": "id\r\nset-cookie: session=stolen"}, id="request-id-splitting-headers"),
    pytest.param({"traceparent": "00-not-a-trace-01"}, id="traceparent-malformed"),
    pytest.param({"traceparent": "00-" + "A" * 32 + "-" + "b" * 16 + "-01"}, id="traceparent-upper-case"),
]


@pytest.mark.parametrize("headers", MALFORMED)
def test_malformed_ids_are_logged_escaped_but_never_echoed(load_event, decode_response, capsys, headers):
    event = with_headers(to_path(load_event("http-api-v2-infer"), "POST", "/v2/models/nope/infer"), headers)

    with json_logs() as logs:
        response, context = call(event, decode_response)

    assert response.headers["x-request-id"] == context.aws_request_id
    assert "traceparent" not in response.headers
    assert all("\r" not in value and "\n" not in value for value in response.headers.values())
    assert "set-cookie" not in response.headers
    (failed,) = logs.with_message("1 of 1 records failed")
    assert logs.text.count("\n") == len(logs.lines())
    (record,) = emf_records(capsys.readouterr().out)
    sent = next(iter(headers.values()))
    field = "x_request_id" if "x-request-id" in headers else "traceparent"
    assert failed[field] == cap(sent, 256)
    assert record[field] == sent[:256]


def test_the_ids_are_in_the_log_lines_and_the_metrics_record(
    load_event, decode_response, capsys, monkeypatch
):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    event = with_headers(
        to_path(load_event("http-api-v2-infer"), "POST", "/v2/models/iris/infer"),
        {"x-request-id": "client-1", "traceparent": TRACEPARENT},
    )
    event["body"] = json.dumps(
        {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}
    )

    with json_logs() as logs:
        response, context = call(event, decode_response)

    assert response.status == 400
    (line,) = logs.with_message("1 of 1 records failed")
    assert line["requestId"] == context.aws_request_id
    assert (line["x_request_id"], line["traceparent"], line["xray_trace_id"]) == (
        "client-1",
        TRACEPARENT,
        TRACE,
    )
    assert line["status"] == 400
    assert "expects FP32 with shape [-1, 4]" in line["reason"]
    (record,) = emf_records(capsys.readouterr().out)
    assert record["requestId"] == context.aws_request_id
    assert (record["x_request_id"], record["traceparent"], record["xray_trace_id"]) == (
        "client-1",
        TRACEPARENT,
        TRACE,
    )


def test_served_outside_lambda_each_request_carries_only_its_own_ids():
    from handler.environment import SETTINGS, STORE
    from handler.http.app import create_app
    from handler.invocation import CURRENT

    async def two_requests() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(STORE, SETTINGS))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            first = await client.get(
                "/v2/models/iris", headers={"traceparent": TRACEPARENT, "x-request-id": "one"}
            )
            return first, await client.get("/v2/models/iris")

    loop = asyncio.new_event_loop()  # not asyncio.run, which leaves the thread with no current loop
    try:
        first, second = loop.run_until_complete(two_requests())
    finally:
        loop.close()

    assert first.headers["traceparent"] == TRACEPARENT
    assert first.headers["x-request-id"] == "one"
    assert "traceparent" not in second.headers
    assert "x-request-id" not in second.headers
    assert CURRENT.traceparent is None
    assert CURRENT.client_request_id is None
