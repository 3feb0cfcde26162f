"""DynamoDB Streams: INSERT and MODIFY scored, REMOVE skipped, and a table scored into itself stops."""

from __future__ import annotations

import boto3
import pytest
from event_support import REGION, failed_ids

from handler.events import handle
from handler.events.dynamodb_json import dynamodb_value, plain_value, to_dynamodb, to_plain
from handler.settings import Destination


def test_inserts_and_modifies_are_scored_and_removes_skipped(make_scorer, load_event):
    response = handle(load_event("dynamodb-stream"), None, make_scorer())
    assert failed_ids(response) == []
    assert [doc["id"] for doc in response["results"]] == ["order-1001", "order-1002"]


def test_a_keys_only_stream_fails_its_records_with_a_way_to_fix_it(make_scorer, load_event):
    event = load_event("dynamodb-stream")
    del event["Records"][0]["dynamodb"]["NewImage"]
    response = handle(event, None, make_scorer())
    assert failed_ids(response) == [event["Records"][0]["dynamodb"]["SequenceNumber"]]


def _scan(table: str) -> list[dict]:
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=table)["Items"]


def _write_counter(scorer, monkeypatch) -> list[int]:
    real = scorer.writer.dynamodb.batch_write_item
    counts: list[int] = []

    def counting(**request):
        counts.append(sum(len(entries) for entries in request["RequestItems"].values()))
        return real(**request)

    monkeypatch.setattr(scorer.writer.dynamodb, "batch_write_item", counting)
    return counts


def test_scoring_a_table_into_itself_enriches_the_item_and_skips_its_own_write(
    landing, make_scorer, load_event, monkeypatch
):
    landing("dynamodb")  # moto up, with a table of its own we do not use here
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="flowers",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    scorer = make_scorer(Destination("dynamodb", "flowers"))
    writes = _write_counter(scorer, monkeypatch)
    event = load_event("dynamodb-stream")
    insert = event["Records"][0]

    assert failed_ids(handle(event, None, scorer)) == []
    items = {item["id"]["S"]: item for item in _scan("flowers")}
    enriched = items["order-1001"]
    assert enriched["sepal_length"] == {"N": "5.1"}  # the item's own attributes are kept, exactly
    assert to_plain(enriched)["prediction"]["label"] == 0
    assert writes == [2]

    # The stream then carries our own write as a MODIFY: only prediction attributes changed.
    echo = {
        **insert,
        "eventName": "MODIFY",
        "dynamodb": {
            **insert["dynamodb"],
            "SequenceNumber": "222200000000000000001",
            "OldImage": insert["dynamodb"]["NewImage"],
            "NewImage": enriched,
        },
    }
    assert failed_ids(handle({"Records": [echo]}, None, scorer)) == []
    assert writes == [2]

    # A person then changes a feature of the scored item: that is scored again.
    changed = {**enriched, "petal_length": {"N": "5.5"}, "petal_width": {"N": "2.1"}}
    edit = {**echo, "dynamodb": {**echo["dynamodb"], "OldImage": enriched, "NewImage": changed}}
    assert failed_ids(handle({"Records": [edit]}, None, scorer)) == []
    assert writes == [2, 1]
    rescored = {item["id"]["S"]: item for item in _scan("flowers")}["order-1001"]
    assert to_plain(rescored)["prediction"]["label"] != 0


def test_a_changed_item_is_scored_by_the_loaded_model_not_the_one_it_was_scored_with(make_scorer, load_event):
    modify = load_event("dynamodb-stream")["Records"][1]
    # Scored earlier by iris version 0, since replaced by version 1; then a feature changed.
    ours = {"model_name": {"S": "iris"}, "model_version": {"S": "0"}, "prediction": {"N": "0"}}
    for image in ("OldImage", "NewImage"):
        modify["dynamodb"][image] = {**modify["dynamodb"][image], **ours}

    response = handle({"Records": [modify]}, None, make_scorer())

    assert failed_ids(response) == []
    [result] = response["results"]
    assert (result["id"], result["model_name"], result["model_version"]) == ("order-1002", "iris", "1")


def test_a_new_image_only_stream_skips_items_that_already_carry_a_prediction(make_scorer, load_event):
    event = load_event("dynamodb-stream")
    record = event["Records"][0]["dynamodb"]
    record["StreamViewType"] = "NEW_IMAGE"
    record["NewImage"] = {**record["NewImage"], "model_name": {"S": "iris"}, "prediction": {"N": "0"}}
    response = handle({"Records": [event["Records"][0]]}, None, make_scorer())
    assert response == {"batchItemFailures": [], "results": []}


def test_unprocessed_items_are_retried_with_backoff_until_written(
    landing, make_scorer, load_event, monkeypatch
):
    target = landing("dynamodb")
    scorer = make_scorer(target.destination)
    scorer.writer.sleep = lambda seconds: None
    real = scorer.writer.dynamodb.batch_write_item
    attempts: list[int] = []

    def throttled(**request):
        entries = request["RequestItems"]["predictions"]
        attempts.append(len(entries))
        if len(attempts) == 1:  # DynamoDB takes one item and hands the rest back
            real(RequestItems={"predictions": entries[:1]})
            return {"UnprocessedItems": {"predictions": entries[1:]}}
        return real(**request)

    monkeypatch.setattr(scorer.writer.dynamodb, "batch_write_item", throttled)
    response = handle(load_event("kinesis"), None, scorer)

    assert failed_ids(response) == []
    assert attempts == [3, 2]
    assert sorted(doc["id"] for doc in target.read()) == ["order-1001", "order-1002", "order-1003"]


def test_items_left_unprocessed_after_every_retry_fail_their_records(
    landing, make_scorer, load_event, monkeypatch
):
    target = landing("dynamodb")
    scorer = make_scorer(target.destination)
    scorer.writer.sleep = lambda seconds: None
    real = scorer.writer.dynamodb.batch_write_item

    def never_order_1002(**request):
        entries = request["RequestItems"]["predictions"]
        stuck = [entry for entry in entries if entry["PutRequest"]["Item"]["id"] == {"S": "order-1002"}]
        taken = [entry for entry in entries if entry not in stuck]
        if taken:
            real(RequestItems={"predictions": taken})
        return {"UnprocessedItems": {"predictions": stuck} if stuck else {}}

    monkeypatch.setattr(scorer.writer.dynamodb, "batch_write_item", never_order_1002)
    event = load_event("kinesis")
    response = handle(event, None, scorer)

    assert failed_ids(response) == [event["Records"][1]["kinesis"]["sequenceNumber"]]
    assert sorted(doc["id"] for doc in target.read()) == ["order-1001", "order-1003"]


def test_two_records_with_one_id_are_both_written_in_order(landing, make_scorer, load_event):
    target = landing("dynamodb")
    event = load_event("kinesis")
    import base64
    import json

    for record, petal in zip(event["Records"], (1.4, 1.4, 6.0), strict=True):
        record["kinesis"]["data"] = base64.b64encode(
            json.dumps(
                {
                    "id": "same",
                    "sepal_length": 6.0,
                    "sepal_width": 3.0,
                    "petal_length": petal,
                    "petal_width": 2.0,
                }
            ).encode()
        ).decode()
    response = handle(event, None, make_scorer(target.destination))
    assert failed_ids(response) == []
    (item,) = target.read()
    assert item["prediction"]["label"] == 2


@pytest.mark.parametrize(
    "value",
    [None, True, 3, -2.5, "text", b"\x00\x01", [1, "a", [2.0]], {"nested": {"deep": [True, None]}}],
    ids=["null", "bool", "int", "float", "string", "binary", "list", "map"],
)
def test_dynamodb_json_round_trips(value):
    attribute = dynamodb_value(value)
    if isinstance(value, bytes):
        import base64

        attribute = {"B": base64.b64encode(value).decode()}  # streams carry binaries as base64
    assert plain_value(attribute) == value


def test_dynamodb_json_reads_sets_and_numbers_as_python_values():
    item = {"n": {"N": "42"}, "f": {"N": "0.5"}, "ns": {"NS": ["1", "2.5"]}, "ss": {"SS": ["a"]}}
    assert to_plain(item) == {"n": 42, "f": 0.5, "ns": [1, 2.5], "ss": ["a"]}
    assert to_dynamodb({"bad": float("nan")}) == {"bad": {"NULL": True}}
