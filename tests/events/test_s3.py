"""S3 objects: CSV, JSON Lines and .npy streamed in chunks, written in order, overwritten on redelivery."""

from __future__ import annotations

import io
import json
import re

import boto3
import numpy as np
import pytest
from event_support import REGION, read_jsonl_objects

from handler.errors import RecordsFailed
from handler.events import aws as aws_module
from handler.events import handle
from handler.settings import Destination

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def s3_event(key: str, etag: str = "etag-1", version: str | None = None, bucket: str = "incoming") -> dict:
    obj = {"key": key.replace(" ", "+"), "size": 1, "eTag": etag, "sequencer": "01"}
    if version:
        obj["versionId"] = version
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2026-12-04T10:15:30.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": obj},
            }
        ]
    }


def csv_rows(count: int, with_id: bool = True, seed: int = 0) -> tuple[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.1, 7.0, size=(count, 4)).round(2)
    header = (["id"] if with_id else []) + ["petal_width", "sepal_length", "sepal_width", "petal_length"]
    lines = [",".join(header)]
    for index, row in enumerate(values):
        cells = [f"row-{index}"] if with_id else []
        cells += [str(row[3]), str(row[0]), str(row[1]), str(row[2])]
        lines.append(",".join(cells))
    return ("\r\n".join(lines) + "\r\n").encode(), values.astype(np.float32)


@pytest.fixture
def bucket(aws):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="incoming")
    s3.create_bucket(Bucket="predictions")
    return s3


def expected_labels(store, values: np.ndarray) -> list[int]:
    return store.get("iris").run({"input": values})["label"].tolist()


def test_csv_columns_are_mapped_by_header_name_and_rows_written_in_order(bucket, make_scorer, store):
    body, values = csv_rows(50)
    bucket.put_object(Bucket="incoming", Key="in/flowers.csv", Body=body)
    response = handle(s3_event("in/flowers.csv"), None, make_scorer(Destination("s3", "predictions", "out")))

    (summary,) = response["objects"]
    assert summary["rows"] == 50
    rows = read_jsonl_objects("predictions")["out/incoming/in/flowers.csv/etag-1.jsonl"]
    assert [row["id"] for row in rows] == [f"row-{n}" for n in range(50)]
    assert [row["prediction"]["label"] for row in rows] == expected_labels(store, values)
    head = bucket.head_object(Bucket="predictions", Key="out/incoming/in/flowers.csv/etag-1.jsonl")
    assert head["Metadata"]["model-name"] == "iris"


def test_a_large_object_is_streamed_in_chunks_and_uploaded_in_parts(bucket, make_scorer, store, monkeypatch):
    monkeypatch.setattr(aws_module, "PART_BYTES", 5 * 1024 * 1024)
    body, values = csv_rows(120_000, with_id=False)
    bucket.put_object(Bucket="incoming", Key="big.csv", Body=body)
    scorer = make_scorer(Destination("s3", "predictions"))
    parts = []
    real = scorer.writer.s3.upload_part
    monkeypatch.setattr(
        scorer.writer.s3, "upload_part", lambda **kw: parts.append(kw["PartNumber"]) or real(**kw)
    )

    handle(s3_event("big.csv"), None, scorer)

    assert len(parts) >= 2
    rows = read_jsonl_objects("predictions")["incoming/big.csv/etag-1.jsonl"]
    assert [row["id"] for row in rows] == list(range(120_000))
    assert [row["prediction"]["label"] for row in rows] == expected_labels(store, values)


def test_a_redelivered_event_overwrites_the_same_output_instead_of_duplicating(bucket, make_scorer):
    body, _ = csv_rows(5)
    put = bucket.put_object(Bucket="incoming", Key="again.csv", Body=body)
    bucket.put_bucket_versioning(Bucket="incoming", VersioningConfiguration={"Status": "Enabled"})
    put = bucket.put_object(Bucket="incoming", Key="again.csv", Body=body)
    event = s3_event("again.csv", version=put["VersionId"])
    scorer = make_scorer(Destination("s3", "predictions"))

    first = handle(event, None, scorer)
    second = handle(event, None, scorer)

    assert first == second
    outputs = read_jsonl_objects("predictions")
    assert list(outputs) == [f"incoming/again.csv/{put['VersionId']}.jsonl"]
    assert len(next(iter(outputs.values()))) == 5


def test_json_lines_and_npy_objects_are_scored(bucket, make_scorer, store):
    values = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)
    lines = "\n".join(
        json.dumps({"id": f"j{n}", **dict(zip(FEATURES, row.tolist(), strict=True))})
        for n, row in enumerate(values)
    )
    bucket.put_object(Bucket="incoming", Key="a.jsonl", Body=lines)
    bucket.put_object(Bucket="incoming", Key="b.ndjson", Body="[5.1, 3.5, 1.4, 0.2]\n[6.7, 3.0, 5.2, 2.3]\n")
    buffer = io.BytesIO()
    np.save(buffer, values.astype(np.float64))
    bucket.put_object(Bucket="incoming", Key="c.npy", Body=buffer.getvalue())
    event = s3_event("a.jsonl")
    event["Records"] += s3_event("b.ndjson")["Records"] + s3_event("c.npy")["Records"]

    response = handle(event, None, make_scorer())

    ids = [[row["id"] for row in summary["results"]] for summary in response["objects"]]
    labels = [[row["prediction"]["label"] for row in summary["results"]] for summary in response["objects"]]
    assert ids == [["j0", "j1"], [0, 1], [0, 1]]
    assert labels == [expected_labels(store, values)] * 3


def test_object_metadata_names_the_model(bucket, make_scorer):
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((3, 10), dtype=np.float32))
    bucket.put_object(Bucket="incoming", Key="d.npy", Body=buffer.getvalue(), Metadata={"model": "diabetes"})
    (summary,) = handle(s3_event("d.npy"), None, make_scorer())["objects"]
    assert summary["model_name"] == "diabetes"
    assert len(summary["results"]) == 3


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        ("bad.csv", b"id,sepal_length\n1,2\n", "lacks the model's features"),
        (
            "ragged.csv",
            b"sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4\n1,2\n",
            "line 3 has 2 fields",
        ),
        ("words.csv", b"sepal_length,sepal_width,petal_length,petal_width\n1,2,x,4\n", "non-numeric"),
        ("broken.jsonl", b'{"sepal_length": 1}\n{oops\n', "line 2 is not valid JSON"),
        ("wrong.npy", None, re.escape("expects FP32 with shape [-1, 4]")),
        ("notes.txt", b"hello", "is not .csv"),
    ],
    ids=["missing-column", "ragged", "non-numeric", "bad-json-line", "npy-shape", "unknown-format"],
)
def test_a_bad_object_raises_and_leaves_no_output(bucket, make_scorer, key, body, reason):
    if body is None:
        buffer = io.BytesIO()
        np.save(buffer, np.zeros((2, 3), dtype=np.float32))
        body = buffer.getvalue()
    bucket.put_object(Bucket="incoming", Key=key, Body=body)
    with pytest.raises(RecordsFailed, match=reason):
        handle(s3_event(key), None, make_scorer(Destination("s3", "predictions")))
    assert read_jsonl_objects("predictions") == {}


def test_a_deadline_mid_object_raises_and_aborts_the_upload(bucket, make_scorer, monkeypatch):
    from event_support import RunningOutContext

    monkeypatch.setattr(aws_module, "PART_BYTES", 5 * 1024 * 1024)
    body, _ = csv_rows(60_000)
    bucket.put_object(Bucket="incoming", Key="slow.csv", Body=body)
    scorer = make_scorer(Destination("s3", "predictions"))
    # One question before the object, then one per chunk of 8192 rows: time runs out at the fourth chunk.
    with pytest.raises(RecordsFailed, match="time"):
        handle(s3_event("slow.csv"), RunningOutContext(calls=4), scorer)
    assert read_jsonl_objects("predictions") == {}
    assert bucket.list_multipart_uploads(Bucket="predictions").get("Uploads", []) == []


@pytest.mark.parametrize("prefix", ["", "scored"])
def test_the_functions_own_output_is_never_scored_again(bucket, make_scorer, prefix):
    body, _ = csv_rows(3)
    bucket.create_bucket(Bucket="shared")
    bucket.put_object(Bucket="shared", Key="in.csv", Body=body)
    scorer = make_scorer(Destination("s3", "shared", prefix))
    (summary,) = handle(s3_event("in.csv", bucket="shared"), None, scorer)["objects"]
    output_key = summary["output"].removeprefix("s3://shared/")

    # The output lands in the watched bucket, whose notification then names it.
    response = handle(s3_event(output_key, bucket="shared"), None, scorer)

    assert response == {}
    assert len(bucket.list_objects_v2(Bucket="shared")["Contents"]) == 2


def test_s3_events_that_create_nothing_do_nothing(make_scorer, load_event):
    event = load_event("s3-put")
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert handle(event, None, make_scorer()) == {"results": []}
