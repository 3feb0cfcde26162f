"""Fuzzing: the codecs and the event router under arbitrary input, and the app under its own schema.

Only the documented errors escape: `OnnxLambdaError` subclasses, with a 4xx status when the
input is the client's. Each property counts the examples it ran and records the figure for the
README; the counts are bounded so this file stays well under a minute.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from reliability_support import assert_no_leak, record_figure

from handler.codec import decode_infer_request, encode_infer_response, json_array
from handler.datatypes import NUMPY_DTYPES
from handler.environment import SETTINGS, STORE
from handler.errors import InvalidInput, OnnxLambdaError, RecordsFailed
from handler.events import handle
from handler.events.batch import EventScorer
from handler.events.destinations import ReturnWriter
from handler.http.app import create_app
from handler.instances import tensors_from_document
from onnx_lambda.context import LambdaContext

EXAMPLES = 200
SCHEMA_EXAMPLES = 15
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
DATATYPES = [*NUMPY_DTYPES, "FP128", "float32", "", 7]
MODELS = [model for model in STORE if model.name != "cnn"]  # cnn's 12k-value rows add nothing but time

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=40,
)
numbers = st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True)
rows = st.lists(st.lists(numbers | scalars, min_size=0, max_size=6), min_size=0, max_size=4)
shapes = st.lists(st.integers(-2, 6) | st.booleans() | st.just(10**20), max_size=4) | json_values


@st.composite
def tensors(draw: Any) -> dict[str, Any]:
    """A tensor object with each field valid, wrong or missing."""
    tensor: dict[str, Any] = {}
    if draw(st.booleans()):
        tensor["name"] = draw(st.sampled_from(["input", "x", "image"]) | json_values)
    if draw(st.booleans()):
        tensor["shape"] = draw(shapes)
    tensor["datatype"] = draw(st.sampled_from(DATATYPES))
    if draw(st.integers(0, 4)):
        tensor["data"] = draw(rows | st.lists(numbers, max_size=12) | json_values)
    else:
        tensor["parameters"] = {"binary_data_size": draw(st.integers(-4, 64) | json_values)}
    return tensor


@st.composite
def infer_requests(draw: Any) -> tuple[bytes, int | None]:
    """An infer request body, sometimes with binary tensor data after the JSON."""
    document: dict[str, Any] = {"inputs": draw(st.lists(tensors(), max_size=3))}
    for key, values in (("outputs", json_values), ("parameters", json_values), ("id", json_values)):
        if draw(st.booleans()):
            document[key] = draw(values)
    header = json.dumps(document).encode()  # NaN and Infinity literals included, as some clients send
    if not draw(st.booleans()):
        return header, None
    binary = draw(st.binary(max_size=64))
    length = draw(st.sampled_from([len(header), len(header) + 1, -1, 0]) | st.integers(-5, 500))
    return header + binary, length


def assert_client_error(exc: OnnxLambdaError) -> None:
    assert 400 <= exc.status < 500, f"{type(exc).__name__} {exc.status}: {exc.message}"
    assert exc.message
    assert_no_leak(exc.message)


def test_decode_infer_request_raises_only_invalid_input() -> None:
    ran = 0

    @FUZZ
    @given(infer_requests(), st.sampled_from(MODELS))
    def decode_and_run(request: tuple[bytes, int | None], model: Any) -> None:
        nonlocal ran
        ran += 1
        body, header_length = request
        try:
            decoded = decode_infer_request(body, model, header_length)
            model.check(decoded.inputs)
            results = model.run(decoded.inputs, [output.name for output in decoded.outputs] or None)
            encode_infer_response(model, decoded, results)
        except OnnxLambdaError as exc:
            assert_client_error(exc)

    decode_and_run()
    record_figure("fuzz", ran, target="decode_infer_request")


def test_arbitrary_bytes_are_never_more_than_invalid_input() -> None:
    ran = 0

    @FUZZ
    @given(st.binary(max_size=200), st.none() | st.integers(-10, 300))
    def decode(body: bytes, header_length: int | None) -> None:
        nonlocal ran
        ran += 1
        try:
            decode_infer_request(body, STORE.default, header_length)
        except InvalidInput as exc:
            assert_client_error(exc)

    decode()
    record_figure("fuzz", ran, target="decode_infer_request bytes")


def test_json_array_converts_or_refuses_any_json() -> None:
    ran = 0

    @FUZZ
    @given(json_values | rows, st.sampled_from(list(NUMPY_DTYPES)))
    def convert(data: Any, datatype: str) -> None:
        nonlocal ran
        ran += 1
        try:
            array = json_array("x", data, datatype)
        except InvalidInput as exc:
            assert_client_error(exc)
            return
        if datatype.startswith("FP") and array.size:
            assert np.isfinite(array).all()
        assert array.dtype == NUMPY_DTYPES[datatype]

    with np.errstate(over="ignore", invalid="ignore"):
        convert()
    record_figure("fuzz", ran, target="json_array")


@st.composite
def binary_bytes_tensors(draw: Any) -> tuple[bytes, int]:
    """A BYTES tensor in the binary extension: length-prefixed elements, sometimes cut or lying."""
    parts = []
    for item in draw(st.lists(st.binary(max_size=12), max_size=5)):
        length = len(item) + draw(st.sampled_from([0, 0, 0, 1, -1, 1000]))
        parts.append(struct.pack("<I", max(length, 0)) + item)
    chunk = b"".join(parts)
    if draw(st.booleans()):
        chunk = chunk[: draw(st.integers(0, len(chunk)))]
    return chunk, draw(st.integers(0, 6))


def test_binary_bytes_elements_decode_or_refuse() -> None:
    ran = 0
    model = STORE.default

    @FUZZ
    @given(binary_bytes_tensors())
    def decode(tensor: tuple[bytes, int]) -> None:
        nonlocal ran
        ran += 1
        chunk, count = tensor
        header = json.dumps(
            {
                "inputs": [
                    {
                        "name": "s",
                        "shape": [count],
                        "datatype": "BYTES",
                        "parameters": {"binary_data_size": len(chunk)},
                    }
                ]
            }
        ).encode()
        try:
            request = decode_infer_request(header + chunk, model, len(header))
        except InvalidInput as exc:
            assert_client_error(exc)
            return
        assert all(isinstance(item, str) for item in request.inputs["s"].ravel())

    decode()
    record_figure("fuzz", ran, target="binary BYTES")


def test_instances_documents_become_tensors_or_invalid_input() -> None:
    ran = 0
    feature_rows = st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(
            ("sepal_length", "sepal_width", "petal_length", "petal_width", "id"), numbers | scalars
        ),
    )
    documents = (
        st.fixed_dictionaries(
            {"instances": st.lists(feature_rows | st.lists(numbers, max_size=5), max_size=4)}
        )
        | st.fixed_dictionaries({"inputs": json_values | rows})
        | json_values
    )

    @FUZZ
    @given(documents, st.sampled_from(MODELS))
    def decode_and_run(document: Any, model: Any) -> None:
        nonlocal ran
        ran += 1
        try:
            inputs = tensors_from_document(document, model)
            model.check(inputs)
            model.run(inputs)
        except OnnxLambdaError as exc:
            assert_client_error(exc)

    decode_and_run()
    record_figure("fuzz", ran, target="instances")


class MissingObjects:
    """An S3 client for which no object exists (the router must never reach real AWS)."""

    def get_object(self, **request: Any) -> Any:
        raise InvalidInput(f"s3://{request['Bucket']}/{request['Key']} does not exist")


SOURCES = ["aws:sqs", "aws:sns", "aws:kinesis", "aws:dynamodb", "aws:s3", "aws:kafka", None]
bodies = json_values.map(json.dumps) | st.text(max_size=30) | json_values


@st.composite
def records(draw: Any) -> dict[str, Any]:
    """A record claiming some event source, with plausible and implausible fields."""
    source = draw(st.sampled_from(SOURCES))
    record: dict[str, Any] = {"EventSource" if source == "aws:sns" else "eventSource": source}
    identifier = draw(st.text(min_size=1, max_size=8))
    body = draw(bodies)
    if source == "aws:sqs":
        record.update(messageId=identifier, body=body)
    elif source == "aws:sns":
        record["Sns"] = {"MessageId": identifier, "Message": body}
    elif source == "aws:kinesis":
        record["kinesis"] = {
            "sequenceNumber": identifier,
            "data": draw(
                st.text(max_size=20) | st.binary().map(lambda b: __import__("base64").b64encode(b).decode())
            ),
        }
    elif source == "aws:dynamodb":
        image = draw(
            st.dictionaries(
                st.sampled_from(["id", "sepal_length", "sepal_width", "petal_length", "petal_width"]),
                st.fixed_dictionaries({"N": st.text(max_size=5)})
                | st.fixed_dictionaries({"S": st.text(max_size=5)})
                | json_values,
            )
        )
        record.update(
            eventName=draw(st.sampled_from(["INSERT", "MODIFY", "REMOVE"])),
            dynamodb={"SequenceNumber": identifier, "NewImage": image},
        )
    elif source == "aws:s3":
        record.update(
            eventName="ObjectCreated:Put",
            s3={"bucket": {"name": "b"}, "object": {"key": draw(st.text(max_size=10))}},
        )
    for _ in range(draw(st.integers(0, 2))):
        record[draw(st.text(max_size=6))] = draw(json_values)
    return record


events = (
    st.fixed_dictionaries({"Records": st.lists(records(), min_size=1, max_size=4)})
    | st.fixed_dictionaries(
        {"source": st.text(max_size=6), "detail-type": st.text(max_size=6), "detail": json_values}
    )
    | json_values
)


def test_the_event_router_raises_only_documented_errors_and_accounts_for_every_record() -> None:
    ran = 0
    scorer = EventScorer(STORE, SETTINGS, ReturnWriter(), s3=MissingObjects())

    @FUZZ
    @given(events)
    def route(event: Any) -> None:
        nonlocal ran
        ran += 1
        try:
            response = handle(event, LambdaContext(), scorer)
        except OnnxLambdaError as exc:
            # SNS, EventBridge and S3 have no partial response: a failed record raises RecordsFailed
            # so that Lambda retries the event; anything else must be the caller's mistake.
            if not isinstance(exc, RecordsFailed):
                assert_client_error(exc)
            return
        if _is_sqs(event):
            failed = {entry["itemIdentifier"] for entry in response["batchItemFailures"]}
            accounted = len(failed) + len(response.get("results", [])) + len(response.get("objects", []))
            # Every message is scored (one result) or reported failed: none vanishes. S3 test
            # notifications and notifications of deletions score nothing, by design.
            assert accounted >= len({r["messageId"] for r in event["Records"]}) - _notifications(event)

    route()
    record_figure("fuzz", ran, target="event router")


def _is_sqs(event: Any) -> bool:
    return (
        isinstance(event, dict) and "Records" in event and event["Records"][0].get("eventSource") == "aws:sqs"
    )


def _notifications(event: dict[str, Any]) -> int:
    """SQS messages that carry S3 notifications, which may name no created object."""
    count = 0
    for record in event["Records"]:
        try:
            body = json.loads(record["body"]) if isinstance(record["body"], str) else record["body"]
        except ValueError:
            continue
        if isinstance(body, dict) and (body.get("Event") == "s3:TestEvent" or "Records" in body):
            count += 1
    return count


@pytest.fixture(scope="module")
def api_schema() -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(STORE, SETTINGS))


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda mode: mode.value)
def test_no_request_the_schema_allows_or_forbids_gets_a_5xx(api_schema: Any, mode: Any) -> None:
    ran = 0
    statuses: dict[int, int] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        strategies = [operation.as_strategy(generation_mode=mode)]
        if "{name}" in operation.path:  # also aim at a loaded model, or nearly every case is a 404
            named = {"name": "iris", "version": "1"} if "{version}" in operation.path else {"name": "iris"}
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=named))
        for strategy in strategies:

            @settings(
                max_examples=SCHEMA_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy)
            def call(case: Any) -> None:
                nonlocal ran
                ran += 1
                response = case.call()
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                assert response.status_code < 500, (
                    f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
                )
                assert_no_leak(response.text if response.status_code >= 400 else "")

            try:
                call()
            except Unsatisfiable:  # negative mode: an operation without parameters cannot be made invalid
                continue
    assert ran >= 13
    record_figure("fuzz", ran, target=f"schemathesis {mode.value}", statuses=statuses)
