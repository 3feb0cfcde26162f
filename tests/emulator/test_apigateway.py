"""The API Gateway front door, through real sockets: HTTP API 2.0 and REST API 1.0 events."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from onnx_lambda.emulator.config import FunctionConfig

IRIS = {
    "inputs": [
        {
            "name": "input",
            "shape": [2, 4],
            "datatype": "FP32",
            "data": [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]],
        }
    ]
}


@pytest.fixture(scope="module")
def probe_door(start_emulator, probe):
    return start_emulator(probe(), invoke_port=None)


def echoed(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()["event"]


def test_the_bundled_model_answers_through_the_http_api(start_emulator):
    emulator = start_emulator(FunctionConfig(), invoke_port=None)

    infer = httpx.post(emulator.http_url + "/v2/models/iris/infer", json=IRIS, timeout=30)
    ready = httpx.get(emulator.http_url + "/v2/health/ready")
    missing = httpx.post(emulator.http_url + "/v2/models/no-such-model/infer", json=IRIS)

    assert infer.status_code == 200
    assert infer.headers["content-type"] == "application/json"
    outputs = {output["name"]: output["data"] for output in infer.json()["outputs"]}
    assert outputs["label"] == [0, 2]
    assert ready.status_code == 200
    assert missing.status_code == 404
    assert "no-such-model" in missing.json()["error"]


def test_a_request_becomes_a_payload_2_event(probe_door):
    response = httpx.post(
        probe_door.http_url + "/v2/models/iris/infer?verbose=1&tag=a&tag=b",
        json={"instances": [[1, 2, 3, 4]]},
        headers={"X-Custom": "one", "Cookie": "session=abc; theme=dark"},
    )

    event = echoed(response)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/v2/models/iris/infer"
    assert event["rawQueryString"] == "verbose=1&tag=a&tag=b"
    assert event["queryStringParameters"] == {"verbose": "1", "tag": "a,b"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["x-custom"] == "one"
    assert event["headers"]["content-type"] == "application/json"
    assert "cookie" not in event["headers"]
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"instances": [[1, 2, 3, 4]]}
    context = event["requestContext"]
    assert context["http"]["method"] == "POST"
    assert context["http"]["path"] == "/v2/models/iris/infer"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["stage"] == "$default"
    assert context["requestId"]
    assert isinstance(context["timeEpoch"], int)


def test_the_function_s_response_becomes_the_http_response(probe_door):
    response = httpx.get(probe_door.http_url + "/anything")

    assert response.headers["x-probe"] == "yes"
    assert response.headers["set-cookie"] == "flavour=oat; Path=/"
    assert "body" not in echoed(response)


def test_binary_bodies_arrive_base64_encoded(probe_door):
    payload = bytes(range(256))
    response = httpx.post(
        probe_door.http_url + "/v2/models/iris/infer",
        content=payload,
        headers={"content-type": "application/octet-stream"},
    )

    event = echoed(response)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_a_function_error_is_a_500(start_emulator, probe):
    emulator = start_emulator(probe(name="failing", handler="broken_init.handler"), invoke_port=None)

    response = httpx.get(emulator.http_url + "/v2/health/ready")

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_a_named_stage_prefixes_every_path(start_emulator, probe):
    emulator = start_emulator(probe(), invoke_port=None, stage="prod")

    inside = httpx.get(emulator.http_url + "/prod/v2/health/ready")
    outside = httpx.get(emulator.http_url + "/v2/health/ready")

    event = echoed(inside)
    assert event["rawPath"] == "/prod/v2/health/ready"
    assert event["requestContext"]["stage"] == "prod"
    assert outside.status_code == 404


def test_rest_api_mode_sends_payload_1_events(start_emulator, probe):
    emulator = start_emulator(probe(), invoke_port=None, payload_version="1.0")

    response = httpx.get(emulator.http_url + "/v1/models/iris?a=1&a=2", headers={"X-Custom": "one"})

    event = echoed(response)
    assert event["httpMethod"] == "GET"
    assert event["path"] == "/v1/models/iris"
    assert event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "v1/models/iris"}
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["multiValueHeaders"]["X-Custom"] == ["one"]
    assert event["requestContext"]["stage"] == "prod"
    assert event["requestContext"]["path"] == "/prod/v1/models/iris"
    assert event["body"] is None


def test_the_bundled_model_answers_rest_api_events(start_emulator):
    emulator = start_emulator(FunctionConfig(name="rest"), invoke_port=None, payload_version="1.0")

    response = httpx.post(emulator.http_url + "/v2/models/iris/infer", json=IRIS, timeout=30)

    assert response.status_code == 200
    outputs = {output["name"]: output["data"] for output in response.json()["outputs"]}
    assert outputs["label"] == [0, 2]


def test_keep_alive_connections_serve_many_requests(probe_door):
    with httpx.Client(base_url=probe_door.http_url) as client:
        counts = [client.get("/ping").json()["count"] for _ in range(5)]

    assert counts == sorted(counts)
    assert len(set(counts)) == 5


def test_chunked_and_expect_continue_bodies_arrive_whole(probe_door):
    def chunks():
        yield b'{"instances": '
        yield b"[[1, 2, 3, 4]]}"

    chunked = httpx.post(
        probe_door.http_url + "/x", content=chunks(), headers={"content-type": "application/json"}
    )
    large = json.dumps({"blob": "x" * 2_000_000})
    expect = httpx.post(
        probe_door.http_url + "/x",
        content=large,
        headers={"content-type": "application/json", "expect": "100-continue"},
    )

    assert json.loads(echoed(chunked)["body"]) == {"instances": [[1, 2, 3, 4]]}
    assert echoed(expect)["body"] == large


def test_head_answers_headers_only_and_the_connection_stays_usable(probe_door):
    with httpx.Client(base_url=probe_door.http_url) as client:
        head = client.head("/ping")
        get = client.get("/ping")

    assert head.status_code == 200
    assert head.content == b""
    assert echoed(get)["requestContext"]["http"]["method"] == "GET"
