"""Record payloads: infer requests, instances and named features, each naming its model and id."""

from __future__ import annotations

import json

import pytest

from handler.errors import InvalidInput, ModelNotFound
from handler.events.records import Record, decode, parse, s3_objects


def record(body: object, **attributes: str) -> Record:
    return Record("msg-1", "msg-1", json.dumps(body), attributes)


@pytest.mark.parametrize(
    ("body", "answer", "rows"),
    [
        (
            {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]},
            "outputs",
            1,
        ),
        ({"instances": [[1, 2, 3, 4], [1, 2, 3, 4]]}, "predictions", 2),
        ({"inputs": [[1, 2, 3, 4]]}, "predictions", 1),
        ([[1, 2, 3, 4]], "predictions", 1),
        (
            {"sepal_length": 1, "sepal_width": 2, "petal_length": 3, "petal_width": 4, "other": "x"},
            "prediction",
            1,
        ),
    ],
    ids=["infer-request", "instances", "columns", "bare-list", "named-features"],
)
def test_each_payload_format_decodes_to_the_models_input(store, body, answer, rows):
    item = record(body)
    decoded = decode(item, parse(item.body), store, "id")
    assert decoded.answer == answer
    assert decoded.rows == rows
    assert decoded.inputs["input"].shape == (rows, 4)


def test_the_model_comes_from_attributes_then_fields_then_the_default(store):
    body = {"instances": [[0.0] * 10]}
    assert decode(record(body, model="diabetes"), body, store, "id").model.name == "diabetes"
    assert decode(record(body), {**body, "model_name": "diabetes"}, store, "id").model.name == "diabetes"
    with pytest.raises(ModelNotFound, match="version '9'"):
        decode(record(body, model="diabetes", model_version="9"), body, store, "id")


def test_a_model_without_features_refuses_named_feature_records(store):
    with pytest.raises(InvalidInput, match="no feature list"):
        decode(record({"a": 1}, model="cnn"), {"a": 1}, store, "id")


def test_s3_notifications_inside_messages_are_recognised():
    note = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "b"}, "object": {"key": "a+b%2Fc.csv", "eTag": "e"}},
            },
        ]
    }
    (ref,) = s3_objects(note)
    assert (ref.bucket, ref.key, ref.etag) == ("b", "a b/c.csv", "e")
    assert s3_objects({"Service": "Amazon S3", "Event": "s3:TestEvent"}) == []
    assert s3_objects({"instances": []}) is None
