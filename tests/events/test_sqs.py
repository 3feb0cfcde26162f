"""SQS: partial failures by message id, FIFO groups kept in order, poison messages, outages, deadlines."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import ClientError
from event_support import RunningOutContext, failed_ids, flower, sqs_event

from handler.events import handle


def test_each_payload_format_is_scored_by_the_model_it_names(make_scorer, load_event):
    response = handle(load_event("sqs-batch"), None, make_scorer())

    named, instances, infer, diabetes = response["results"]
    assert named["id"] == "order-1001"
    assert named["prediction"]["label"] == 0
    assert [row["label"] for row in instances["predictions"]] == [0, 2]
    assert infer["id"] == "req-7"
    assert {output["name"]: output["shape"] for output in infer["outputs"]} == {
        "label": [2],
        "probabilities": [2, 3],
    }
    assert diabetes["model_name"] == "diabetes"
    assert isinstance(diabetes["prediction"], list)


def test_poison_messages_fail_alone_and_are_logged_once_each(landing, make_scorer, caplog):
    target = landing("sqs")
    bodies = [
        flower(0),
        "{not json",
        flower(2),
        {"id": "f3", "sepal_length": 5.0},
        flower(4, model="no-such-model"),
        {"id": "f5", "sepal_length": "big", "sepal_width": 3, "petal_length": 1, "petal_width": 1},
        flower(6),
    ]
    with caplog.at_level(logging.WARNING, logger="onnx_lambda.events"):
        response = handle(sqs_event(bodies), None, make_scorer(target.destination))

    assert failed_ids(response) == ["m1", "m3", "m4", "m5"]
    assert sorted(doc["id"] for doc in target.read()) == ["f0", "f2", "f6"]
    logged = [(record.record_id, record.reason) for record in caplog.records]
    assert [record_id for record_id, _ in logged] == ["m1", "m3", "m4", "m5"]
    assert "not valid JSON" in logged[0][1]
    assert logged[1][1].startswith("the record is missing features ['sepal_width'")
    assert "no-such-model" in logged[2][1]


def test_fifo_failure_fails_the_rest_of_its_group_and_nothing_after_it_is_written(landing, make_scorer):
    target = landing("sqs")
    bodies = [flower(0), "{poison", flower(2), flower(3), flower(4), flower(5)]
    groups = ["a", "a", "b", "a", "b", "c"]
    event = sqs_event(bodies, queue="orders.fifo", groups=groups)

    response = handle(event, None, make_scorer(target.destination))

    assert failed_ids(response) == ["m1", "m3"]
    assert [doc["id"] for doc in target.read()] == ["f0", "f2", "f4", "f5"]


def test_fifo_write_failure_also_fails_the_later_messages_of_the_group(landing, make_scorer, monkeypatch):
    target = landing("sqs")
    scorer = make_scorer(target.destination)
    real = scorer.writer.sqs.send_message_batch

    def reject_f1(**request):
        rejected = [entry for entry in request["Entries"] if '"f1"' in entry["MessageBody"]]
        accepted = [entry for entry in request["Entries"] if entry not in rejected]
        response = real(QueueUrl=request["QueueUrl"], Entries=accepted)
        response["Failed"] = [
            {"Id": entry["Id"], "Code": "InternalError", "Message": "try again", "SenderFault": False}
            for entry in rejected
        ]
        return response

    monkeypatch.setattr(scorer.writer.sqs, "send_message_batch", reject_f1)
    event = sqs_event(
        [flower(0), flower(1), flower(2), flower(3)], queue="orders.fifo", groups=["a", "a", "b", "a"]
    )

    response = handle(event, None, scorer)

    assert failed_ids(response) == ["m1", "m3"]


def test_an_outage_mid_batch_fails_exactly_the_records_that_were_not_written(
    landing, make_scorer, monkeypatch
):
    target = landing("sqs")
    scorer = make_scorer(target.destination)
    real = scorer.writer.sqs.send_message_batch
    calls = []

    def flaky(**request):
        calls.append(len(request["Entries"]))
        if len(calls) == 2:
            raise ClientError(
                {"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessageBatch"
            )
        if len(calls) == 1:  # SQS takes every entry but Id 3
            entries = [entry for entry in request["Entries"] if entry["Id"] != "3"]
            response = real(QueueUrl=request["QueueUrl"], Entries=entries)
            response["Failed"] = [
                {"Id": "3", "Code": "InternalError", "Message": "oops", "SenderFault": False}
            ]
            return response
        return real(**request)

    monkeypatch.setattr(scorer.writer.sqs, "send_message_batch", flaky)
    response = handle(sqs_event([flower(n) for n in range(25)]), None, scorer)

    assert calls == [10, 10, 5]
    assert failed_ids(response) == ["m3"] + [f"m{n}" for n in range(10, 20)]
    landed = sorted(int(doc["id"][1:]) for doc in target.read())
    assert landed == [n for n in range(25) if n != 3 and not 10 <= n < 20]


def test_a_deadline_mid_write_reports_the_unwritten_records_instead_of_timing_out(landing, make_scorer):
    target = landing("sqs")
    # 25 questions while decoding, 1 before the one session run, 1 before the first batch of 10.
    context = RunningOutContext(calls=27)

    response = handle(sqs_event([flower(n) for n in range(25)]), context, make_scorer(target.destination))

    assert failed_ids(response) == [f"m{n}" for n in range(10, 25)]
    assert sorted(int(doc["id"][1:]) for doc in target.read()) == list(range(10))


def test_a_deadline_while_decoding_reports_every_record_not_yet_written(make_scorer):
    response = handle(sqs_event([flower(n) for n in range(8)]), RunningOutContext(calls=5), make_scorer())

    assert failed_ids(response) == [f"m{n}" for n in range(8)]
    assert response["results"] == []


@pytest.mark.parametrize("margin", ["0", "1000"])
def test_with_time_to_spare_nothing_fails(make_scorer, margin):
    scorer = make_scorer(ONNX_LAMBDA_DEADLINE_MARGIN_MS=margin)
    response = handle(sqs_event([flower(n) for n in range(5)]), RunningOutContext(calls=10**6), scorer)
    assert failed_ids(response) == []
    assert [doc["id"] for doc in response["results"]] == ["f0", "f1", "f2", "f3", "f4"]


def test_the_id_field_setting_picks_which_field_names_a_record(make_scorer):
    scorer = make_scorer(ONNX_LAMBDA_ID_FIELD="order")
    response = handle(sqs_event([flower(0, order="A-1"), flower(1)]), None, scorer)
    assert [doc["order"] for doc in response["results"]] == ["A-1", "m1"]
