"""Every source fixture through `handle` into every destination: what lands, and where."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from typing import Any

import boto3
import numpy as np
import pytest
from event_support import DESTINATIONS, REGION, read_jsonl_objects

from handler.errors import UnrecognisedEvent
from handler.events import handle, recognise

RECORD_SOURCES = {
    "sqs-batch": {"order-1001", "059f36b4-87a3-44ab-83d2-661975830a72", "req-7", "patient-17"},
    "sqs-fifo": {"order-1001", "order-1002", "order-1003", "order-1004"},
    "sns": {"order-1002"},
    "kinesis": {"order-1001", "order-1002", "order-1003"},
    "dynamodb-stream": {"order-1001", "order-1002"},
    "eventbridge": {"order-1003"},
}
OBJECT_SOURCES = {
    "s3-put": {"f-1", "f-2", "f-3"},
    "s3-via-eventbridge": {"j-1", "j-2", "j-3"},
    "s3-via-sqs": {"0", "1", "2", "3"},
    "s3-via-sns": {"0", "1", "2", "3"},
}
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5], [6.3, 2.5, 5.0, 1.9]]


def stage_objects(name: str, event: dict[str, Any]) -> None:
    """Put the object the S3 fixture names into moto, and pin the event to its real version."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="incoming-data")
    s3.put_bucket_versioning(Bucket="incoming-data", VersioningConfiguration={"Status": "Enabled"})
    if name == "s3-put":
        lines = ["id,sepal_length,sepal_width,petal_length,petal_width"]
        lines += [f"f-{n},{','.join(map(str, row))}" for n, row in enumerate(ROWS[:3], start=1)]
        s3.put_object(
            Bucket="incoming-data", Key="batches/2026-12-04/flowers batch.csv", Body="\n".join(lines)
        )
    elif name == "s3-via-eventbridge":
        features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        body = "".join(
            json.dumps({"id": f"j-{n}", **dict(zip(features, row, strict=True))}) + "\n"
            for n, row in enumerate(ROWS[:3], start=1)
        )
        put = s3.put_object(Bucket="incoming-data", Key="batches/2026-12-04/flowers.jsonl", Body=body)
        event["detail"]["object"]["version-id"] = put["VersionId"]
    else:
        buffer = io.BytesIO()
        np.save(buffer, np.array(ROWS, dtype=np.float64))
        s3.put_object(Bucket="incoming-data", Key="batches/2026-12-04/flowers.npy", Body=buffer.getvalue())


def returned_ids(response: dict[str, Any]) -> set[str]:
    ids = {str(document["id"]) for document in response.get("results", [])}
    for summary in response.get("objects", []):
        ids |= {str(document["id"]) for document in summary["results"]}
    return ids


@pytest.mark.parametrize("destination", DESTINATIONS)
@pytest.mark.parametrize("source", sorted(RECORD_SOURCES) + sorted(OBJECT_SOURCES))
def test_every_source_lands_every_record_at_every_destination(
    source, destination, landing, make_scorer, load_event
):
    target = landing(destination)
    event = load_event(source)
    if source in OBJECT_SOURCES:
        stage_objects(source, event)
    response = handle(event, None, make_scorer(target.destination))

    expected = {**RECORD_SOURCES, **OBJECT_SOURCES}[source]
    assert response.get("batchItemFailures", []) == []
    if source in OBJECT_SOURCES:  # every source, batch or not, says which objects it scored
        assert [summary["rows"] for summary in response["objects"]] == [len(expected)]
    if destination == "return":
        assert returned_ids(response) == expected
        return
    landed = target.read()
    assert {str(document["id"]) for document in landed} == expected
    if not (source in OBJECT_SOURCES and destination == "s3"):  # there the model is the object's metadata
        assert all(document["model_name"] in {"iris", "diabetes"} for document in landed)
    assert all({"prediction", "predictions", "outputs"} & document.keys() for document in landed)
    assert "results" not in response


def test_s3_object_predictions_land_at_a_key_derived_from_the_input(landing, make_scorer, load_event):
    target = landing("s3")
    event = load_event("s3-put")
    stage_objects("s3-put", event)
    response = handle(event, None, make_scorer(target.destination))

    etag = event["Records"][0]["s3"]["object"]["eTag"]
    key = f"scored/incoming-data/batches/2026-12-04/flowers batch.csv/{etag}.jsonl"
    assert response["objects"][0]["output"] == f"s3://predictions/{key}"
    rows = read_jsonl_objects("predictions")[key]
    assert [row["id"] for row in rows] == ["f-1", "f-2", "f-3"]
    assert [row["prediction"]["label"] for row in rows] == [0, 2, 1]


def test_a_batch_of_records_is_written_once_per_redelivery_not_duplicated(landing, make_scorer, load_event):
    target = landing("s3")
    scorer = make_scorer(target.destination)
    handle(load_event("kinesis"), None, scorer)
    handle(load_event("kinesis"), None, scorer)

    objects = read_jsonl_objects("predictions", "scored/kinesis/")
    assert len(objects) == 1
    assert [doc["id"] for doc in next(iter(objects.values()))] == ["order-1001", "order-1002", "order-1003"]


def test_an_event_nobody_recognises_names_what_arrived_and_what_was_expected(load_event):
    with pytest.raises(UnrecognisedEvent) as caught:
        recognise({"Records": [{"eventSource": "aws:kafka", "payload": "x"}]})
    assert "a Records event from aws:kafka" in caught.value.message
    assert "aws:sqs" in caught.value.message
    with pytest.raises(UnrecognisedEvent, match="an object with keys"):
        recognise({"hello": "world"})
    with pytest.raises(UnrecognisedEvent, match="a JSON list"):
        recognise([1, 2])


@pytest.mark.parametrize(
    ("fixture", "source"),
    [
        ("s3-put", "S3Source"),
        ("s3-via-eventbridge", "S3EventBridgeSource"),
        ("s3-via-sqs", "SqsSource"),
        ("s3-via-sns", "SnsSource"),
        ("sqs-batch", "SqsSource"),
        ("sqs-fifo", "SqsSource"),
        ("sns", "SnsSource"),
        ("kinesis", "KinesisSource"),
        ("dynamodb-stream", "DynamoDbSource"),
        ("eventbridge", "EventBridgeSource"),
    ],
)
def test_each_fixture_is_recognised_by_its_own_source(fixture, source, load_event):
    assert type(recognise(load_event(fixture))).__name__ == source


def test_scoring_an_sqs_event_through_the_universal_handler_never_imports_the_web_stack_or_boto3():
    script = (
        "import json, sys\n"
        "import handler\n"
        "event = json.load(open('events/sqs-batch.json'))\n"
        "response = handler.lambda_handler(event, None)\n"
        "assert response['batchItemFailures'] == [], response\n"
        "assert len(response['results']) == 4, response\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'fastapi', 'starlette', 'mangum', 'pydantic', 'boto3', 'botocore'})\n"
        "print(json.dumps(heavy))\n"
    )
    environ = {key: value for key, value in os.environ.items() if not key.startswith("ONNX_LAMBDA_")}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=environ, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
