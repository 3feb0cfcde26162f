"""The docs work behind an API Gateway stage: links carry the stage the browser sees in its URL."""

from __future__ import annotations

import pytest

import handler.http
from handler.http.stage import stage_prefix


def rest_get(event: dict, path: str, public_path: str) -> dict:
    """A REST API (payload 1.0) GET: the app routes on `path`, the browser's URL is `public_path`."""
    event.update(
        httpMethod="GET", path=path, body=None, isBase64Encoded=False, pathParameters={"proxy": path[1:]}
    )
    event["requestContext"].update(httpMethod="GET", path=public_path)
    for headers in (event["headers"], event["multiValueHeaders"]):
        for name in ("Content-Type", "Content-Length"):
            headers.pop(name, None)
    return event


def http_api_get(event: dict, stage: str, path: str) -> dict:
    """An HTTP API (payload 2.0) GET on a named stage, which API Gateway puts in front of the path."""
    raw_path = f"/{stage}{path}"
    event.update(rawPath=raw_path, pathParameters={"proxy": path[1:]})
    event["requestContext"].update(stage=stage)
    event["requestContext"]["http"].update(method="GET", path=raw_path)
    return event


@pytest.fixture
def get(lambda_context, decode_response):
    return lambda event: decode_response(handler.http.lambda_handler(event, lambda_context))


def test_docs_behind_a_rest_api_stage_load_the_staged_openapi_document(get, load_event):
    docs = get(rest_get(load_event("rest-v1-infer"), "/docs", "/prod/docs"))
    spec = get(rest_get(load_event("rest-v1-infer"), "/openapi.json", "/prod/openapi.json"))

    assert docs.status == 200
    assert "url: '/prod/openapi.json'" in docs.body.decode()
    assert "'/prod/docs/oauth2-redirect'" in docs.body.decode()
    assert spec.status == 200
    assert spec.json()["servers"] == [{"url": "/prod"}]
    assert "/v2/models/{name}/infer" in spec.json()["paths"]


def test_docs_behind_an_http_api_named_stage_load_the_staged_openapi_document(get, load_event):
    docs = get(http_api_get(load_event("http-api-v2-docs"), "prod", "/docs"))
    spec = get(http_api_get(load_event("http-api-v2-docs"), "prod", "/openapi.json"))

    assert docs.status == 200
    assert "url: '/prod/openapi.json'" in docs.body.decode()
    assert spec.status == 200
    assert spec.json()["servers"] == [{"url": "/prod"}]


def test_docs_on_the_default_stage_have_no_prefix(get, load_event):
    docs = get(load_event("http-api-v2-docs"))

    assert docs.status == 200
    assert "url: '/openapi.json'" in docs.body.decode()


def test_inference_and_errors_behind_a_named_stage(get, load_event):
    ready = get(http_api_get(load_event("http-api-v2-docs"), "prod", "/v2/health/ready"))
    metadata = get(http_api_get(load_event("http-api-v2-docs"), "prod", "/v2/models/iris"))
    missing = get(http_api_get(load_event("http-api-v2-docs"), "prod", "/v3"))

    assert ready.status == 200
    assert metadata.json()["name"] == "iris"
    assert missing.status == 404
    assert missing.json() == {"error": "no route for /prod/v3"}


@pytest.mark.parametrize(
    ("stage", "path"),
    [("v2", "/v2/health/ready"), ("v2", "/v2/models/iris"), ("docs", "/docs")],
)
def test_a_rest_stage_named_like_a_route_prefix_still_routes(get, load_event, stage, path):
    response = get(rest_get(load_event("rest-v1-infer"), path, f"/{stage}{path}"))

    assert response.status == 200


def test_an_http_api_stage_named_like_a_route_prefix_still_routes(get, load_event):
    ready = get(http_api_get(load_event("http-api-v2-docs"), "v2", "/v2/health/ready"))

    assert ready.status == 200


@pytest.mark.parametrize(
    ("event", "path", "prefix"),
    [
        ({"requestContext": {"stage": "prod", "path": "/prod/docs"}}, "/docs", ("/prod", False)),
        ({"requestContext": {"stage": "v2", "path": "/v2/v2/models"}}, "/v2/models", ("/v2", False)),
        ({"requestContext": {"stage": "prod", "path": "/ml/docs"}}, "/docs", ("/ml", False)),
        ({"requestContext": {"stage": "prod", "path": "/docs"}}, "/docs", ("", False)),
        ({"requestContext": {"stage": "prod"}}, "/prod/docs", ("/prod", True)),
        ({"requestContext": {"stage": "$default"}}, "/docs", ("", False)),
        ({"requestContext": {"elb": {"targetGroupArn": "arn"}}}, "/docs", ("", False)),
    ],
    ids=[
        "rest-stage",
        "rest-stage-named-like-a-route",
        "rest-custom-domain-base-path",
        "rest-custom-domain-root",
        "http-api-stage",
        "default",
        "alb",
    ],
)
def test_stage_prefix(event, path, prefix):
    assert stage_prefix(event, path) == prefix
