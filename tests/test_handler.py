"""Every HTTP event fixture through the Lambda entry points, checked against the model run directly."""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

import handler
import handler.http

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"
MODELS_DIR = ROOT / "models"
DEFAULT_MODEL = "iris"
WEB_STACK = ("fastapi", "starlette", "mangum", "pydantic")


def _is_http(event: Any) -> bool:
    context = event.get("requestContext") if isinstance(event, dict) else None
    return isinstance(context, dict) and ("httpMethod" in event or "http" in context or "elb" in context)


HTTP_EVENTS = sorted(
    path.name for path in EVENTS_DIR.glob("*.json") if _is_http(json.loads(path.read_text()))
)
INFERENCE_EVENTS = [name for name in HTTP_EVENTS if name != "http-api-v2-docs.json"]
ENTRY_POINTS = {
    "handler.lambda_handler": handler.lambda_handler,
    "handler.http.lambda_handler": handler.http.lambda_handler,
}

_SESSIONS: dict[str, ort.InferenceSession] = {}


def session(model: str) -> ort.InferenceSession:
    """The bundled model loaded independently of the handler, to compute what it should answer."""
    if model not in _SESSIONS:
        _SESSIONS[model] = ort.InferenceSession(
            str(MODELS_DIR / f"{model}.onnx"), providers=["CPUExecutionProvider"]
        )
    return _SESSIONS[model]


def features(model: str) -> list[str]:
    return list(json.loads((MODELS_DIR / f"{model}.json").read_text())["features"])


def request_of(event: dict[str, Any]) -> tuple[str, str, dict[str, str], bytes]:
    """The method, routed path (no stage), lower-cased headers and raw body an event carries."""
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    for key, values in (event.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ", ".join(values)
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    if event.get("version") == "2.0":
        method, path = event["requestContext"]["http"]["method"], event["rawPath"]
        stage = event["requestContext"].get("stage", "$default")
        if stage != "$default":
            path = path.removeprefix(f"/{stage}")
    else:
        method, path = event["httpMethod"], event["path"]
    return method, path, headers, raw


def request_inputs(event: dict[str, Any]) -> tuple[str, str, dict[str, np.ndarray], list[str] | None]:
    """Decode the fixture's request independently: (model, route kind, inputs, requested outputs)."""
    _, path, headers, body = request_of(event)
    if path.startswith("/v2/models/") and path.endswith("/infer"):
        model = path.split("/")[3]
        split = int(headers.get("inference-header-content-length", len(body)))
        document, binary = json.loads(body[:split]), body[split:]
        inputs, offset = {}, 0
        for tensor in document["inputs"]:
            size = (tensor.get("parameters") or {}).get("binary_data_size")
            if size is None:
                data = np.array(tensor["data"], dtype=np.float32)
            else:
                data = np.frombuffer(binary[offset : offset + size], dtype="<f4")
                offset += size
            inputs[tensor["name"]] = data.reshape(tensor["shape"])
        wanted = [output["name"] for output in document.get("outputs", [])] or None
        return model, "infer", inputs, wanted
    if path == "/invocations":
        rows = [[float(cell) for cell in row] for row in csv.reader(io.StringIO(body.decode())) if row]
        return DEFAULT_MODEL, "predict", {"input": np.array(rows, dtype=np.float32)}, None
    model = path.removeprefix("/v1/models/").removesuffix(":predict")
    instances = json.loads(body)["instances"]
    if isinstance(instances[0], dict):
        instances = [[row[name] for name in features(model)] for row in instances]
    return model, "predict", {"input": np.array(instances, dtype=np.float32)}, None


def expected_outputs(
    model: str, inputs: dict[str, np.ndarray], wanted: list[str] | None
) -> dict[str, np.ndarray]:
    names = wanted or [output.name for output in session(model).get_outputs()]
    return dict(zip(names, session(model).run(names, inputs), strict=True))


def assert_outputs_equal(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert sorted(actual) == sorted(expected)
    for name, want in expected.items():
        got = np.asarray(actual[name])
        assert got.shape == want.shape, name
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)


def predictions_as_outputs(predictions: list[Any], names: list[str]) -> dict[str, np.ndarray]:
    if len(names) == 1:
        return {names[0]: np.array(predictions)}
    return {name: np.array([row[name] for row in predictions]) for name in names}


@pytest.mark.parametrize("entry", ENTRY_POINTS.values(), ids=ENTRY_POINTS.keys())
@pytest.mark.parametrize(
    "name", INFERENCE_EVENTS, ids=[name.removesuffix(".json") for name in INFERENCE_EVENTS]
)
def test_fixture_predictions_match_the_model_run_directly(
    name, entry, load_event, lambda_context, decode_response
):
    event = load_event(name)
    model, kind, inputs, wanted = request_inputs(event)
    expected = expected_outputs(model, inputs, wanted)

    response = decode_response(entry(event, lambda_context))

    assert response.status == 200, response.body
    if kind == "infer":
        binary = "inference-header-content-length" in response.headers
        document = json.loads(
            response.body[: int(response.headers["inference-header-content-length"])]
            if binary
            else response.body
        )
        assert document["model_name"] == model
        assert document["model_version"] == "1"
        requested_binary = event.get("isBase64Encoded") and name.endswith("binary.json")
        assert binary == bool(requested_binary)
        assert response.headers["content-type"] == (
            "application/octet-stream" if binary else "application/json"
        )
        assert_outputs_equal(response.infer_outputs(), expected)
    else:
        assert response.headers["content-type"] == "application/json"
        assert_outputs_equal(predictions_as_outputs(response.json()["predictions"], list(expected)), expected)


def test_binary_fixture_answers_binary_tensors_with_the_json_header_length(
    load_event, lambda_context, decode_response
):
    event = load_event("http-api-v2-infer-binary")

    raw = handler.lambda_handler(event, lambda_context)
    response = decode_response(raw)

    assert raw["isBase64Encoded"] is True
    length = int(response.headers["inference-header-content-length"])
    header = json.loads(response.body[:length])
    sizes = [output["parameters"]["binary_data_size"] for output in header["outputs"]]
    assert all("data" not in output for output in header["outputs"])
    assert length + sum(sizes) == len(response.body)


def test_request_id_is_echoed(load_event, lambda_context, decode_response):
    response = decode_response(handler.lambda_handler(load_event("http-api-v2-infer"), lambda_context))

    assert response.json()["id"] == "req-iris-42"


def test_docs_fixture_serves_swagger_ui_pointing_at_the_openapi_document(
    load_event, lambda_context, decode_response
):
    response = decode_response(handler.lambda_handler(load_event("http-api-v2-docs"), lambda_context))

    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    assert b"url: '/openapi.json'" in response.body


def test_alb_single_value_request_gets_single_value_headers(load_event, lambda_context):
    response = handler.lambda_handler(load_event("alb-infer"), lambda_context)

    # ALB needs statusCode, isBase64Encoded and headers; Mangum leaves statusDescription to ALB.
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert response["headers"]["content-type"] == "application/json"


def test_alb_multi_value_request_gets_multi_value_headers(load_event, lambda_context):
    response = handler.lambda_handler(load_event("alb-multivalue-predict"), lambda_context)

    # With multi-value headers on, ALB reads only multiValueHeaders from the response.
    assert set(response) == {"statusCode", "multiValueHeaders", "body", "isBase64Encoded"}
    assert response["multiValueHeaders"]["content-type"] == ["application/json"]


def test_every_fixture_kind_is_covered():
    kinds = set()
    for name in HTTP_EVENTS:
        event = json.loads((EVENTS_DIR / name).read_text())
        if "elb" in event["requestContext"]:
            kinds.add("alb-multi" if "multiValueHeaders" in event else "alb")
        elif event.get("version") == "2.0":
            kinds.add(
                "function-url" if ".lambda-url." in event["requestContext"]["domainName"] else "http-api-v2"
            )
        else:
            kinds.add("http-api-v1" if event.get("version") == "1.0" else "rest-v1")
    assert kinds == {"alb", "alb-multi", "function-url", "http-api-v2", "http-api-v1", "rest-v1"}


def _modules_loaded_after(event: dict[str, Any]) -> list[str]:
    """Run one event through `handler.lambda_handler` in a fresh interpreter; the web stack it loaded."""
    script = textwrap.dedent(
        f"""
        import json, sys
        import handler
        from onnx_lambda.context import LambdaContext
        try:
            handler.lambda_handler(json.loads(sys.stdin.read()), LambdaContext())
        except Exception as exc:
            print(type(exc).__name__, exc, file=sys.stderr)
        stack = {WEB_STACK!r}
        print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set(stack))))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


SQS_EVENT = {
    "Records": [
        {
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
            "body": json.dumps({"id": "flower-1", "input": [5.1, 3.5, 1.4, 0.2]}),
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1545082649183",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": "1545082649185",
            },
            "messageAttributes": {},
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:onnx-lambda-requests",
            "awsRegion": "us-east-1",
        }
    ]
}


def test_non_http_event_does_not_import_the_web_stack():
    assert _modules_loaded_after(SQS_EVENT) == []


@pytest.mark.parametrize(
    "fixture",
    ["http-api-v2-infer", "rest-v1-predict-base64", "http-api-v2-sagemaker-invocations-csv", "alb-infer"],
)
def test_inference_requests_import_mangum_but_not_fastapi(load_event, fixture):
    assert _modules_loaded_after(load_event(fixture)) == ["mangum"]


def test_metadata_requests_do_not_import_fastapi(load_event):
    event = load_event("http-api-v2-infer")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/v2/models/iris"
    event["requestContext"]["http"]["method"] = "GET"
    event["body"] = None

    assert _modules_loaded_after(event) == ["mangum"]


def test_the_docs_import_the_web_stack_on_first_use(load_event):
    assert _modules_loaded_after(load_event("http-api-v2-docs")) == sorted(WEB_STACK)
