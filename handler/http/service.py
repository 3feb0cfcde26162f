"""What each HTTP route does, independent of the web framework that routes to it."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from time import perf_counter
from typing import Any, NamedTuple

from handler.codec import decode_infer_request, dumps, encode_infer_response, parse_json
from handler.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from handler.instances import predictions, tensors_from_document, to_tensor
from handler.invocation import CURRENT
from handler.settings import Settings
from handler.store import Model, ModelStore

logger = logging.getLogger("onnx_lambda.http")

JSON = "application/json"
OCTET_STREAM = "application/octet-stream"
EXTENSIONS = ["binary_tensor_data", "model_repository_metadata", "v1_predict", "sagemaker"]
SERVER_NAME = "onnx-lambda"
SERVER_VERSION = "0.1.0"


class Reply(NamedTuple):
    """A response ready to send: status, body bytes and headers."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] | None = None


def json_reply(document: Any) -> Reply:
    return Reply(200, dumps(document))


def error_reply(status: int, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    """The body every error has: `{"error": message}`."""
    CURRENT.reason = message
    return Reply(status, dumps({"error": message}), headers=dict(headers) if headers else None)


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lower-cased ('' when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


class InferenceService:
    """The routes' behaviour over one model store; shared by every HTTP adapter."""

    def __init__(self, store: ModelStore, settings: Settings) -> None:
        """Prepare the constant replies once, at init.

        store: the models to serve.
        settings: the function's configuration (body limit and such).
        """
        self.store = store
        self.settings = settings
        self.server_metadata = json_reply(
            {"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": EXTENSIONS}
        )
        self.live = json_reply({"live": True})
        self.ready = json_reply({"ready": True})
        self.model_metadata_replies = {
            (model.name, version): json_reply(model.metadata)
            for model in store
            for version in (model.version, None)
            if version is not None or store.latest[model.name] is model
        }

    def _begin(self, body: bytes) -> float:
        """Count an inference request as one record and check its size; returns when decoding began."""
        CURRENT.records = 1
        started = perf_counter()
        if len(body) > self.settings.max_body_bytes:
            raise PayloadTooLarge(
                f"request body is {len(body)} bytes; the limit is {self.settings.max_body_bytes} "
                "(ONNX_LAMBDA_MAX_BODY_BYTES)"
            )
        return started

    def model_metadata(self, name: str, version: str | None = None) -> Reply:
        reply = self.model_metadata_replies.get((name, version))
        # Built at init for every model and version; store.get names what is loaded when missing.
        return reply if reply is not None else json_reply(self.store.get(name, version).metadata)

    def model_ready(self, name: str, version: str | None = None) -> Reply:
        model = self.store.get(name, version)
        return json_reply({"name": model.name, "versions": [model.version], "ready": True})

    def repository_index(self) -> Reply:
        return json_reply(
            [
                {"name": model.name, "version": model.version, "state": "READY", "reason": ""}
                for model in self.store
            ]
        )

    def infer(
        self,
        name: str,
        version: str | None,
        body: bytes,
        content_type: str | None,
        inference_header_length: str | None,
    ) -> Reply:
        """POST /v2/models/{name}[/versions/{version}]/infer."""
        started = self._begin(body)
        model = self.store.get(name, version)
        header_length = _header_length(inference_header_length)
        if header_length is None and content_type and media_type(content_type) != JSON:
            raise UnsupportedMediaType(
                f"infer takes {JSON}, or any type with an Inference-Header-Content-Length header; "
                f"got {content_type!r}"
            )
        request = decode_infer_request(body, model, header_length)
        model.check(request.inputs)
        results, ran = self._run(model, request.inputs, started, [output.name for output in request.outputs])
        payload, json_length = encode_infer_response(model, request, results)
        CURRENT.encode += perf_counter() - ran
        if json_length is None:
            return Reply(200, payload)
        return Reply(200, payload, OCTET_STREAM, {"Inference-Header-Content-Length": str(json_length)})

    def predict(self, name: str, version: str | None, body: bytes, content_type: str | None) -> Reply:
        """POST /v1/models/{name}:predict with `{"instances": ...}` or `{"inputs": ...}`."""
        started = self._begin(body)
        model = self.store.get(name, version)
        if media_type(content_type) not in ("", JSON):
            raise UnsupportedMediaType(f"predict takes {JSON}; got {content_type!r}")
        tensors = tensors_from_document(parse_json(body), model)
        model.check(tensors)
        return self._predictions(model, tensors, started)

    def invocations(self, body: bytes, content_type: str | None) -> Reply:
        """SageMaker's POST /invocations on the default model: JSON or CSV rows."""
        kind = media_type(content_type)
        if kind == "text/csv":
            started = self._begin(body)
            model = self.store.default
            if len(model.inputs) != 1:
                raise InvalidInput(f"model '{model.name}' has several inputs; CSV rows feed only one")
            tensors = {model.inputs[0].name: to_tensor(_csv_rows(body), model.inputs[0])}
            model.check(tensors)
            return self._predictions(model, tensors, started)
        if kind not in ("", JSON):
            CURRENT.records = 1  # refused, it still counts as a failed record, as on infer and predict
            raise UnsupportedMediaType(f"invocations takes {JSON} or text/csv; got {content_type!r}")
        return self.predict(self.store.default_name, None, body, JSON)

    def _predictions(self, model: Model, tensors: dict[str, Any], started: float) -> Reply:
        """Run checked tensors and answer `{"predictions": ...}`; decoding was timed from `started`."""
        results, ran = self._run(model, tensors, started)
        reply = json_reply({"predictions": predictions(results)})
        CURRENT.encode += perf_counter() - ran
        return reply

    @staticmethod
    def _run(
        model: Model, inputs: dict[str, Any], started: float, outputs: list[str] | None = None
    ) -> tuple[dict[str, Any], float]:
        """Run checked inputs, counting decoding from `started`; returns the results and when it ended."""
        decoded = perf_counter()
        results = model.run(inputs, outputs or None)
        CURRENT.decode += decoded - started
        return results, perf_counter()


def _header_length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"Inference-Header-Content-Length must be an integer; got {value!r}") from None


def _csv_rows(body: bytes) -> list[list[float]]:
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise InvalidInput("CSV body is not UTF-8 text") from None
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            if not row:
                continue
            try:
                rows.append([float(cell) for cell in row])
            except ValueError:
                raise InvalidInput(
                    f"CSV line {reader.line_num} holds a value that is not a number: {row[:8]}"
                ) from None
    except csv.Error as exc:
        raise InvalidInput(f"CSV body is malformed at line {reader.line_num}: {exc}") from None
    if not rows:
        raise InvalidInput("CSV body has no rows")
    return rows


def internal_error(scope: Mapping[str, Any], exc: BaseException) -> Reply:
    """Log a real fault with its traceback and a request id; the caller sees only the id."""
    context = scope.get("aws.context")
    request_id = getattr(context, "aws_request_id", None)
    if request_id is None:  # served outside Lambda
        import uuid

        request_id = str(uuid.uuid4())
    logger.error("internal error on request %s", request_id, exc_info=exc)
    return error_reply(500, f"internal error; request id {request_id}", {"x-request-id": request_id})
