"""Records as sources deliver them, and their payloads decoded into tensors for one model."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from handler.codec import InferRequest, decode_infer_document, parse_json, tensor_data
from handler.datatypes import datatype_of
from handler.errors import InvalidInput
from handler.instances import rows_from_records, tensors_from_document, to_tensor
from handler.store import Model, ModelStore


class ObjectRef(NamedTuple):
    """One S3 object named by a notification: the version or ETag pins the exact bytes."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class Record(NamedTuple):
    """One message or stream record as its source delivered it, not yet decoded."""

    identifier: str
    """What Lambda wants back in batchItemFailures: a message id or a sequence number."""
    source_id: str
    """The source's own id for the record, used when the payload carries no id field."""
    body: Any
    """The payload: JSON text or bytes, or a document the source already parsed."""
    attributes: Mapping[str, str] = MappingProxyType({})
    """Message attributes that may name the model (`model`, `model_version`)."""
    group: str | None = None
    """The SQS FIFO message group, whose order a failure must not break."""
    item: Mapping[str, Any] | None = None
    """A DynamoDB stream record's NewImage, in DynamoDB JSON, written back with the prediction."""
    objects: list[ObjectRef] | None = None
    """The S3 objects an S3 notification names, when the record is one."""
    error: str | None = None
    """Why the source could not unwrap the record (bad base64, say): it fails without decoding."""


class Decoded(NamedTuple):
    """A record's tensors for its model, ready to stack with other records' rows."""

    record: Record
    record_id: str
    model: Model
    inputs: dict[str, np.ndarray]
    rows: int
    answer: str
    """How the result reads: `prediction` (one named-feature object), `predictions` or `outputs`."""
    request: InferRequest | None = None


def parse(body: Any) -> Any:
    """The record's JSON document (bodies that are already documents pass through)."""
    if isinstance(body, str | bytes):
        return parse_json(body, "record body")
    return body


def s3_objects(document: Any) -> list[ObjectRef] | None:
    """The objects of an S3 event notification (e.g. inside an SQS or SNS message), else None."""
    if not isinstance(document, dict):
        return None
    if document.get("Event") == "s3:TestEvent" and document.get("Service") == "Amazon S3":
        return []
    records = document.get("Records")
    if not isinstance(records, list) or not records:
        return None
    if not all(isinstance(entry, dict) and entry.get("eventSource") == "aws:s3" for entry in records):
        return None
    from urllib.parse import unquote_plus  # 2 ms of cold start, paid only by S3 notifications

    refs = []
    for entry in records:
        if not str(entry.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = entry["s3"]
        obj = s3["object"]
        refs.append(
            ObjectRef(
                bucket=s3["bucket"]["name"],
                # Notifications URL-encode keys, with '+' for spaces.
                key=unquote_plus(obj["key"]),
                version_id=obj.get("versionId") or None,
                etag=obj.get("eTag") or None,
            )
        )
    return refs


def decode(record: Record, document: Any, store: ModelStore, id_field: str) -> Decoded:
    """Pick the record's model and decode its payload: an OIP infer request, instances, or named features."""
    model = store.get(*_model_named(record, document))
    record_id = _record_id(record, document, id_field)
    if isinstance(document, dict) and _is_infer_request(document):
        request = decode_infer_document(document, model)
        rows = model.check(request.inputs)
        return Decoded(record, record_id, model, request.inputs, rows, "outputs", request)
    if isinstance(document, list) or (isinstance(document, dict) and _is_instances(document)):
        instances = document.get("instances") if isinstance(document, dict) else document
        if _plain_rows(instances) and len(model.inputs) == 1:
            # Rows of numbers for a one-input model, the common case: straight to the tensor.
            inputs = {model.inputs[0].name: to_tensor(instances, model.inputs[0])}
        else:
            inputs = tensors_from_document(document, model)
        rows = model.check(inputs)
        return Decoded(record, record_id, model, inputs, rows, "predictions")
    if isinstance(document, dict):
        if not model.features or len(model.inputs) != 1:
            raise InvalidInput(
                f"model '{model.name}' has no feature list, so a record must be an infer request "
                '({"inputs": [...]}) or {"instances": [...]}'
            )
        inputs = {model.inputs[0].name: rows_from_records([document], model, _the_record)}
        model.check(inputs)
        return Decoded(record, record_id, model, inputs, 1, "prediction")
    raise InvalidInput(f"a record must be a JSON object or list; got a {type(document).__name__}")


def _the_record(index: int) -> str:
    """How an error names a message's one named-feature record."""
    return "the record"


def _is_infer_request(document: Mapping[str, Any]) -> bool:
    inputs = document.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        return False
    for tensor in inputs:  # noqa: SIM110 -- a loop, not all(<generator>): asked of every record
        if not isinstance(tensor, dict) or "datatype" not in tensor:
            return False
    return True


def _plain_rows(instances: Any) -> bool:
    return isinstance(instances, list) and bool(instances) and isinstance(instances[0], list)


def _is_instances(document: Mapping[str, Any]) -> bool:
    return "instances" in document or "inputs" in document


def _model_named(record: Record, document: Any) -> tuple[str | None, str | None]:
    fields = document if isinstance(document, dict) else {}
    if record.item is not None:
        # A DynamoDB image's model_name and model_version are what this function wrote back with
        # the last prediction, not a choice: a changed item is scored by today's model.
        fields = {key: value for key, value in fields.items() if key not in PREDICTION_ATTRIBUTES}
    name = record.attributes.get("model") or fields.get("model_name") or fields.get("model")
    version = record.attributes.get("model_version") or fields.get("model_version")
    return (name if isinstance(name, str) else None, str(version) if version is not None else None)


def _record_id(record: Record, document: Any, id_field: str) -> str:
    if isinstance(document, dict):
        value = document.get(id_field)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return record.source_id


def result_document(
    decoded: Decoded, outputs: Mapping[str, np.ndarray], rows: list[Any], id_field: str
) -> dict[str, Any]:
    """What lands at the destination for one record: its id, the model, and the prediction."""
    model = decoded.model
    document: dict[str, Any] = {
        id_field: decoded.record_id,
        "model_name": model.name,
        "model_version": model.version,
    }
    if decoded.answer == "outputs":
        request = decoded.request
        names = [output.name for output in request.outputs] if request and request.outputs else None
        tensors = []
        for name in names or model.output_names:
            array = outputs[name]
            tensors.append(
                {
                    "name": name,
                    "datatype": datatype_of(array),
                    "shape": list(array.shape),
                    "data": tensor_data(array),
                }
            )
        document["outputs"] = tensors
    elif decoded.answer == "predictions":
        document["predictions"] = rows
    else:
        document["prediction"] = rows[0]
    return document


SCORED_FROM = "onnx-lambda-scored-from"
"""S3 metadata on every object this function writes; an object carrying it is never scored."""
PREDICTION_ATTRIBUTES = frozenset({"prediction", "predictions", "outputs", "model_name", "model_version"})
"""The attributes a result adds to a record; an item already carrying them was written by us."""
