"""Kinesis: base64 records scored, failures reported by sequence number."""

from __future__ import annotations

import base64
import json

from event_support import failed_ids, flower

from handler.events import handle


def test_failures_are_reported_by_sequence_number_and_the_good_records_are_scored(make_scorer, load_event):
    event = load_event("kinesis")
    first, second, third = event["Records"]
    second["kinesis"]["data"] = "%%% not base64 %%%"
    third["kinesis"]["data"] = base64.b64encode(b'{"id": "x", "sepal_length": 1}').decode()
    event["Records"].append(
        {
            **first,
            "kinesis": {
                **first["kinesis"],
                "sequenceNumber": "99",
                "data": base64.b64encode(json.dumps(flower(9)).encode()).decode(),
            },
        }
    )

    response = handle(event, None, make_scorer())

    assert failed_ids(response) == [second["kinesis"]["sequenceNumber"], third["kinesis"]["sequenceNumber"]]
    assert [doc["id"] for doc in response["results"]] == ["order-1001", "f9"]


def test_a_record_without_an_id_field_is_named_by_its_sequence_number(make_scorer, load_event):
    event = load_event("kinesis")
    record = event["Records"][0]["kinesis"]
    record["data"] = base64.b64encode(b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}').decode()
    response = handle(event, None, make_scorer())
    assert response["results"][0]["id"] == record["sequenceNumber"]
