"""Every HTTP route and error of the app, through an ASGI client and through Mangum events."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import onnxruntime as ort
import pytest

from handler.errors import UnrecognisedEvent
from handler.http.app import BAD_BASE64, adapter_for, answer_event, create_app
from handler.settings import BUNDLED_MODELS, Settings
from handler.store import ModelStore

IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]
IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
INFER = {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": IRIS_ROWS}]}


@dataclass
class Answer:
    """What a client got back, whichever way the request travelled."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class AsgiClient:
    """Requests through httpx's ASGI transport, on an event loop of its own."""

    def __init__(self, app: Any) -> None:
        # raise_app_exceptions off: Starlette re-raises a fault after sending the 500 it chose.
        self.transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.loop = asyncio.new_event_loop()

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, base_url="http://testserver") as client:
                return await client.request(method, path, content=body, headers=headers or {})

        response = self.loop.run_until_complete(send())
        return Answer(
            response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content
        )

    def close(self) -> None:
        self.loop.close()


class LambdaClient:
    """Requests as HTTP API (payload 2.0) events, answered the way `handler.http.lambda_handler` does."""

    def __init__(self, app: Any, template: dict[str, Any], context: Any, decode: Any) -> None:
        self.app = app
        self.adapter = adapter_for(app)
        self.template = template
        self.context = context
        self.decode = decode

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        event = copy.deepcopy(self.template)
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["requestContext"]["http"]["method"] = method
        kept = {k: v for k, v in event["headers"].items() if k not in ("content-type", "content-length")}
        event["headers"] = {**kept, **{k.lower(): v for k, v in (headers or {}).items()}}
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
        response = self.decode(answer_event(self.adapter, self.app, event, self.context))
        return Answer(response.status, response.headers, response.body)


@pytest.fixture(scope="module")
def store() -> ModelStore:
    return ModelStore.load(
        Settings(
            models=str(BUNDLED_MODELS), model_names=("iris", "diabetes", "breast_cancer"), intra_op_threads=1
        )
    )


@pytest.fixture(scope="module")
def app(store) -> Any:
    return create_app(store, Settings())


def make_client(
    kind: str, app: Any, load_event, lambda_context, decode_response
) -> AsgiClient | LambdaClient:
    if kind == "asgi":
        return AsgiClient(app)
    template = load_event("http-api-v2-infer")
    template["headers"].pop("inference-header-content-length", None)
    return LambdaClient(app, template, lambda_context, decode_response)


@pytest.fixture(params=["asgi", "lambda"])
def client(request, app, load_event, lambda_context, decode_response):
    """The app over the real bundled models, reached over ASGI or as a Lambda HTTP API event."""
    client = make_client(request.param, app, load_event, lambda_context, decode_response)
    yield client
    if isinstance(client, AsgiClient):
        client.close()


@pytest.fixture(params=["asgi", "lambda"])
def client_for(request, load_event, lambda_context, decode_response):
    """`client_for(app)`: the same two ways in, for an app built with other settings."""
    made: list[AsgiClient | LambdaClient] = []

    def build(app: Any) -> AsgiClient | LambdaClient:
        made.append(make_client(request.param, app, load_event, lambda_context, decode_response))
        return made[-1]

    yield build
    for client in made:
        if isinstance(client, AsgiClient):
            client.close()


def post_json(client, path: str, document: Any, content_type: str = "application/json") -> Answer:
    return client.request("POST", path, json.dumps(document).encode(), {"content-type": content_type})


def iris_expected(rows: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    session = ort.InferenceSession(str(BUNDLED_MODELS / "iris.onnx"), providers=["CPUExecutionProvider"])
    label, probabilities = session.run(None, {"input": np.array(rows, dtype=np.float32)})
    return label, probabilities


# --- server and model metadata -------------------------------------------------------------------


def test_server_metadata_advertises_the_extensions(client):
    answer = client.request("GET", "/v2")

    assert answer.status == 200
    document = answer.json()
    assert document["name"] == "onnx-lambda"
    assert document["version"]
    assert "binary_tensor_data" in document["extensions"]


@pytest.mark.parametrize(
    ("path", "body"),
    [("/v2/health/live", {"live": True}), ("/v2/health/ready", {"ready": True}), ("/ping", {"live": True})],
)
def test_health(client, path, body):
    answer = client.request("GET", path)

    assert answer.status == 200
    assert answer.json() == body


@pytest.mark.parametrize("path", ["/v2/models/iris", "/v2/models/iris/versions/1"])
def test_model_metadata(client, store, path):
    answer = client.request("GET", path)

    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == store.get("iris").metadata
    assert answer.json()["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]


@pytest.mark.parametrize("path", ["/v2/models/diabetes/ready", "/v2/models/diabetes/versions/1/ready"])
def test_model_ready(client, path):
    answer = client.request("GET", path)

    assert answer.status == 200
    assert answer.json() == {"name": "diabetes", "versions": ["1"], "ready": True}


def test_repository_index_lists_every_model(client):
    answer = client.request("POST", "/v2/repository/index")

    assert answer.status == 200
    assert sorted(entry["name"] for entry in answer.json()) == ["breast_cancer", "diabetes", "iris"]
    assert {entry["state"] for entry in answer.json()} == {"READY"}


# --- inference -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v2/models/iris/infer", "/v2/models/iris/versions/1/infer"])
def test_infer_json(client, path):
    label, probabilities = iris_expected(IRIS_ROWS)

    answer = post_json(client, path, {**INFER, "id": "abc"})

    assert answer.status == 200
    document = answer.json()
    assert document["id"] == "abc"
    assert document["model_name"] == "iris"
    outputs = {output["name"]: output for output in document["outputs"]}
    assert outputs["label"]["data"] == label.tolist()
    assert outputs["probabilities"]["shape"] == [2, 3]
    np.testing.assert_allclose(outputs["probabilities"]["data"], probabilities.ravel(), rtol=1e-6)


def test_infer_without_content_type_is_read_as_json(client):
    answer = client.request("POST", "/v2/models/iris/infer", json.dumps(INFER).encode(), {})

    assert answer.status == 200


def test_infer_binary_extension(client):
    data = np.array(IRIS_ROWS, dtype="<f4").tobytes()
    header = json.dumps(
        {
            "inputs": [
                {"name": "input", "shape": [2, 4], "datatype": "FP32", "parameters": {"binary_data_size": 32}}
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    label, probabilities = iris_expected(IRIS_ROWS)

    answer = client.request(
        "POST",
        "/v2/models/iris/infer",
        header + data,
        {"content-type": "application/octet-stream", "inference-header-content-length": str(len(header))},
    )

    assert answer.status == 200
    assert answer.headers["content-type"] == "application/octet-stream"
    length = int(answer.headers["inference-header-content-length"])
    document = json.loads(answer.body[:length])
    sizes = [output["parameters"]["binary_data_size"] for output in document["outputs"]]
    binary = answer.body[length:]
    assert sizes == [16, 24]
    assert np.frombuffer(binary[:16], dtype="<i8").tolist() == label.tolist()
    np.testing.assert_allclose(np.frombuffer(binary[16:], dtype="<f4"), probabilities.ravel(), rtol=1e-6)


def test_v1_predict_with_named_features(client):
    records = [dict(zip(IRIS_FEATURES, row, strict=True)) for row in IRIS_ROWS]
    label, _ = iris_expected(IRIS_ROWS)

    answer = post_json(client, "/v1/models/iris:predict", {"instances": records})

    assert answer.status == 200
    assert [row["label"] for row in answer.json()["predictions"]] == label.tolist()


def test_v1_predict_regressor_returns_one_value_per_row(client):
    answer = post_json(client, "/v1/models/diabetes:predict", {"inputs": [[0.0] * 10, [0.05] * 10]})

    assert answer.status == 200
    predictions = answer.json()["predictions"]
    assert len(predictions) == 2
    assert all(len(row) == 1 and isinstance(row[0], float) for row in predictions)


def test_sagemaker_invocations_json_and_csv_agree(client):
    label, _ = iris_expected(IRIS_ROWS)

    from_json = post_json(client, "/invocations", {"instances": IRIS_ROWS})
    csv_body = "".join(",".join(map(str, row)) + "\r\n" for row in IRIS_ROWS).encode()
    from_csv = client.request("POST", "/invocations", csv_body, {"content-type": "text/csv; charset=utf-8"})

    assert from_json.status == from_csv.status == 200
    assert from_json.json() == from_csv.json()
    assert [row["label"] for row in from_csv.json()["predictions"]] == label.tolist()


def test_docs_and_openapi(client):
    docs = client.request("GET", "/docs")
    spec = client.request("GET", "/openapi.json")

    assert docs.status == 200
    assert "swagger-ui" in docs.body.decode()
    assert "url: '/openapi.json'" in docs.body.decode()
    assert spec.status == 200
    paths = spec.json()["paths"]
    for path in [
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/{name}",
        "/v2/models/{name}/versions/{version}",
        "/v2/models/{name}/ready",
        "/v2/models/{name}/infer",
        "/v2/models/{name}/versions/{version}/infer",
        "/v1/models/{name}:predict",
        "/ping",
        "/invocations",
    ]:
        assert path in paths, path
    assert "requestBody" in paths["/v2/models/{name}/infer"]["post"]


# --- errors --------------------------------------------------------------------------------------


def assert_error(answer: Answer, status: int, *fragments: str) -> str:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/json"
    document = answer.json()
    assert list(document) == ["error"]
    for fragment in fragments:
        assert fragment in document["error"]
    return str(document["error"])


@pytest.mark.parametrize(
    ("path", "document", "fragments"),
    [
        (
            "/v2/models/iris/infer",
            {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
            ("input 'input' expects FP32 with shape [-1, 4]", "[1, 3]"),
        ),
        (
            "/v2/models/iris/infer",
            {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "INT64", "data": [1, 2, 3, 4]}]},
            ("input 'input' expects FP32", "got INT64 [1, 4]"),
        ),
        ("/v1/models/iris:predict", {"instances": [{"sepal_length": 1}]}, ("missing features",)),
        ("/v1/models/iris:predict", {"rows": []}, ('expected {"instances": [...]}',)),
        ("/invocations", {"instances": [[1, 2]]}, ("input 'input' expects FP32 with shape [-1, 4]",)),
    ],
)
def test_invalid_input_is_400(client, path, document, fragments):
    assert_error(post_json(client, path, document), 400, *fragments)


def test_malformed_json_is_400(client):
    answer = client.request(
        "POST", "/v2/models/iris/infer", b'{"inputs": [', {"content-type": "application/json"}
    )

    assert_error(answer, 400, "not valid JSON")


def test_bad_csv_is_400(client):
    answer = client.request("POST", "/invocations", b"5.1,3.5,abc,0.2\n", {"content-type": "text/csv"})

    assert_error(answer, 400, "CSV line 1")


@pytest.mark.parametrize(
    ("method", "path", "fragments"),
    [
        (
            "GET",
            "/v2/models/resnet",
            ("model 'resnet' is not loaded", "available: ['breast_cancer', 'diabetes', 'iris']"),
        ),
        ("GET", "/v2/models/iris/versions/9", ("model 'iris' has no version '9'", "available: ['1']")),
        ("GET", "/v2/models/resnet/ready", ("model 'resnet' is not loaded",)),
        ("POST", "/v2/models/resnet/infer", ("model 'resnet' is not loaded",)),
        ("POST", "/v2/models/iris/versions/9/infer", ("model 'iris' has no version '9'",)),
        ("POST", "/v1/models/resnet:predict", ("model 'resnet' is not loaded",)),
    ],
)
def test_unknown_model_or_version_is_404(client, method, path, fragments):
    assert_error(
        client.request(method, path, json.dumps(INFER).encode(), {"content-type": "application/json"}),
        404,
        *fragments,
    )


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v3"), ("POST", "/v2/models/iris/explain"), ("GET", "/")]
)
def test_unknown_route_is_404(client, method, path):
    assert_error(client.request(method, path), 404, f"no route for {path}")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/models/iris/infer"),
        ("PUT", "/v2/models/iris/infer"),
        ("DELETE", "/v2/models/iris"),
        ("POST", "/v2/health/live"),
        ("GET", "/invocations"),
    ],
)
def test_wrong_method_is_405(client, method, path):
    answer = client.request(method, path)

    assert_error(answer, 405, f"{method} is not allowed on {path}")
    assert answer.headers["allow"]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v2/models/iris/infer", "text/plain"),
        ("/v1/models/iris:predict", "text/csv"),
        ("/invocations", "application/xml"),
    ],
)
def test_unsupported_content_type_is_415(client, path, content_type):
    answer = post_json(client, path, INFER, content_type)

    assert_error(answer, 415, content_type)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v2/models/iris/infer", "application/json"),
        ("/v1/models/iris:predict", "application/json"),
        ("/invocations", "application/json"),
        ("/invocations", "text/csv"),
    ],
)
def test_body_over_the_limit_is_413(client_for, store, path, content_type):
    client = client_for(create_app(store, Settings(max_body_bytes=64)))
    body = ("5.1,3.5,1.4,0.2\n" * 8).encode() if content_type == "text/csv" else json.dumps(INFER).encode()

    answer = client.request("POST", path, body, {"content-type": content_type})

    assert_error(answer, 413, f"request body is {len(body)} bytes; the limit is 64")


def test_body_under_the_limit_is_served(client_for, store):
    client = client_for(create_app(store, Settings(max_body_bytes=len(json.dumps(INFER)))))

    assert post_json(client, "/v2/models/iris/infer", INFER).status == 200


@pytest.fixture
def faulty_app(store, monkeypatch):
    """An app whose iris session fails the way a real fault would: a RuntimeError from ORT."""

    def broken_run(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated ORT fault: /src/onnxruntime/core/session.cc:42 secret detail")

    monkeypatch.setattr(store.get("iris").session, "run", broken_run)
    return create_app(store, Settings())


@pytest.mark.parametrize(
    ("path", "document"),
    [
        ("/v2/models/iris/infer", INFER),
        ("/v1/models/iris:predict", {"instances": IRIS_ROWS}),
        ("/invocations", {"instances": IRIS_ROWS}),
    ],
)
def test_fault_is_500_with_a_request_id_and_no_stack_trace(client_for, faulty_app, caplog, path, document):
    client = client_for(faulty_app)

    with caplog.at_level(logging.ERROR, logger="onnx_lambda.http"):
        answer = post_json(client, path, document)

    message = assert_error(answer, 500, "request id")
    request_id = answer.headers["x-request-id"]
    assert request_id in message
    for leak in ("Traceback", "RuntimeError", "session.cc", "secret"):
        assert leak not in answer.body.decode()
    if isinstance(client, LambdaClient):
        assert request_id == client.context.aws_request_id
    logged = [record for record in caplog.records if request_id in record.getMessage()]
    assert logged
    assert logged[0].exc_info is not None


# --- events no front door would send ----------------------------------------------------------------


@pytest.mark.parametrize("body", ["!!!not base64@@@", "é"], ids=["garbage", "not-ascii"])
def test_a_body_marked_base64_that_is_not_is_a_400_with_the_request_id(app, load_event, body):
    event = load_event("http-api-v2-infer")
    event.update(body=body, isBase64Encoded=True)
    event["headers"]["x-request-id"] = "req-77"

    response = answer_event(adapter_for(app), app, event, None)

    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"error": BAD_BASE64}
    assert response["headers"]["x-request-id"] == "req-77"


def _body_object(event: dict[str, Any]) -> None:
    event["body"] = {"inputs": []}


def _no_request_line(event: dict[str, Any]) -> None:
    del event["requestContext"]["http"]


def _no_front_door(event: dict[str, Any]) -> None:
    event.clear()
    event.update(httpMethod="POST", requestContext={})


@pytest.mark.parametrize(
    "spoil", [_body_object, _no_request_line, _no_front_door], ids=lambda f: f.__name__[1:]
)
def test_a_malformed_http_event_says_so_instead_of_failing_inside_mangum(app, load_event, spoil):
    event = load_event("http-api-v2-infer")
    spoil(event)

    with pytest.raises(UnrecognisedEvent, match=r"the HTTP event is malformed .*; expected the shape"):
        answer_event(adapter_for(app), app, event, None)
