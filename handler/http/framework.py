"""The FastAPI application: every route declared and documented (OpenAPI at /openapi.json, /docs).

Importing FastAPI costs about 250 ms of cold start, so this module is imported, and the app built,
only when a request needs it: `FastPath` answers the inference, health and metadata routes itself,
and hands FastAPI what is left (the docs, unknown paths and methods).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from handler.codec import HEADER_LENGTH
from handler.errors import OnnxLambdaError
from handler.http.service import (
    SERVER_NAME,
    SERVER_VERSION,
    InferenceService,
    Reply,
    error_reply,
    internal_error,
)

_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {
            "type": "string",
            "enum": [
                "BOOL",
                "UINT8",
                "UINT16",
                "UINT32",
                "UINT64",
                "INT8",
                "INT16",
                "INT32",
                "INT64",
                "FP16",
                "FP32",
                "FP64",
                "BYTES",
            ],
        },
        "data": {"type": "array"},
        "parameters": {"type": "object"},
    },
}
_INFER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "parameters": {"type": "object"},
                        "inputs": {"type": "array", "items": _TENSOR, "minItems": 1},
                        "outputs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}, "parameters": {"type": "object"}},
                            },
                        },
                    },
                },
                "example": {
                    "inputs": [
                        {"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}
                    ]
                },
            }
        },
    }
}
_PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"instances": {"type": "array", "minItems": 1}, "inputs": {}},
                },
                "example": {"instances": [[5.1, 3.5, 1.4, 0.2]]},
            }
        },
    }
}
_CSV_OR_JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "example": {"instances": [[5.1, 3.5, 1.4, 0.2]]},
            },
            "text/csv": {"schema": {"type": "string"}, "example": "5.1,3.5,1.4,0.2\n"},
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": meaning, "content": {"application/json": {"example": {"error": "..."}}}}
    for status, meaning in [
        (400, "Invalid input"),
        (404, "Unknown model or version"),
        (413, "Body or batch over the limit"),
        (415, "Unsupported content type"),
    ]
}


def to_response(reply: Reply) -> Response:
    return Response(reply.body, reply.status, reply.headers, media_type=reply.content_type)


def fastapi_app(service: InferenceService) -> FastAPI:
    """Build the FastAPI application over the routes' shared behaviour."""
    app = FastAPI(
        title=SERVER_NAME,
        version=SERVER_VERSION,
        description="ONNX models served from AWS Lambda: Open Inference Protocol v2, v1 predict, SageMaker.",
    )
    _add_error_handlers(app)

    @app.get("/v2", tags=["server"])
    async def server_metadata() -> Response:
        return to_response(service.server_metadata)

    @app.get("/v2/health/live", tags=["server"])
    async def live() -> Response:
        return to_response(service.live)

    @app.get("/v2/health/ready", tags=["server"])
    async def ready() -> Response:
        return to_response(service.ready)

    @app.post("/v2/repository/index", tags=["server"])
    async def repository_index() -> Response:
        return to_response(service.repository_index())

    @app.get("/v2/models/{name}", tags=["models"], responses=_ERRORS)
    async def model_metadata(name: str) -> Response:
        return to_response(service.model_metadata(name))

    @app.get("/v2/models/{name}/versions/{version}", tags=["models"], responses=_ERRORS)
    async def model_version_metadata(name: str, version: str) -> Response:
        return to_response(service.model_metadata(name, version))

    @app.get("/v2/models/{name}/ready", tags=["models"], responses=_ERRORS)
    async def model_ready(name: str) -> Response:
        return to_response(service.model_ready(name))

    @app.get("/v2/models/{name}/versions/{version}/ready", tags=["models"], responses=_ERRORS)
    async def model_version_ready(name: str, version: str) -> Response:
        return to_response(service.model_ready(name, version))

    @app.post("/v2/models/{name}/infer", tags=["inference"], openapi_extra=_INFER_BODY, responses=_ERRORS)
    async def infer(name: str, request: Request) -> Response:
        headers = request.headers
        return to_response(
            service.infer(
                name, None, await request.body(), headers.get("content-type"), headers.get(HEADER_LENGTH)
            )
        )

    @app.post(
        "/v2/models/{name}/versions/{version}/infer",
        tags=["inference"],
        openapi_extra=_INFER_BODY,
        responses=_ERRORS,
    )
    async def infer_version(name: str, version: str, request: Request) -> Response:
        headers = request.headers
        return to_response(
            service.infer(
                name, version, await request.body(), headers.get("content-type"), headers.get(HEADER_LENGTH)
            )
        )

    @app.post("/v1/models/{name}:predict", tags=["inference"], openapi_extra=_PREDICT_BODY, responses=_ERRORS)
    async def predict(name: str, request: Request) -> Response:
        return to_response(
            service.predict(name, None, await request.body(), request.headers.get("content-type"))
        )

    @app.get("/ping", tags=["sagemaker"])
    async def ping() -> Response:
        return to_response(service.live)

    @app.post("/invocations", tags=["sagemaker"], openapi_extra=_CSV_OR_JSON_BODY, responses=_ERRORS)
    async def invocations(request: Request) -> Response:
        return to_response(service.invocations(await request.body(), request.headers.get("content-type")))

    return app


def _add_error_handlers(app: FastAPI) -> None:
    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OnnxLambdaError)
        return to_response(error_reply(exc.status, exc.message))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = {
            404: f"no route for {request.url.path}",
            405: f"{request.method} is not allowed on {request.url.path}",
        }
        return to_response(
            error_reply(exc.status_code, message.get(exc.status_code, str(exc.detail)), exc.headers)
        )

    # No route validates a body or query today (path parameters are plain strings); kept so that a
    # route that does answers 400 in the house format, not FastAPI's 422.
    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return to_response(error_reply(400, f"invalid request: {details}"))

    async def on_fault(request: Request, exc: Exception) -> Response:
        return to_response(internal_error(request.scope, exc))

    app.add_exception_handler(OnnxLambdaError, on_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_fault)
