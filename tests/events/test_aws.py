"""AWS destinations: every batch API's per-entry failures fail exactly their records."""

from __future__ import annotations

from botocore.exceptions import ClientError
from event_support import failed_ids, flower, sqs_event

from handler.events import handle


def test_eventbridge_entries_with_an_error_code_fail_their_records(landing, make_scorer, monkeypatch):
    target = landing("events")
    scorer = make_scorer(target.destination)
    real = scorer.writer.events.put_events

    def throttle_second(**request):
        kept = [entry for position, entry in enumerate(request["Entries"]) if position != 1]
        response = real(Entries=kept)
        entries = list(response["Entries"])
        entries.insert(1, {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"})
        return {"FailedEntryCount": 1, "Entries": entries}

    monkeypatch.setattr(scorer.writer.events, "put_events", throttle_second)
    response = handle(sqs_event([flower(n) for n in range(12)]), None, scorer)

    assert failed_ids(response) == ["m1", "m11"]
    assert sorted(int(doc["id"][1:]) for doc in target.read()) == [0, *range(2, 11)]


def test_sns_failed_entries_fail_their_records(landing, make_scorer, monkeypatch):
    target = landing("sns")
    scorer = make_scorer(target.destination)
    real = scorer.writer.sns.publish_batch

    def reject_f2(**request):
        rejected = [e for e in request["PublishBatchRequestEntries"] if '"f2"' in e["Message"]]
        kept = [e for e in request["PublishBatchRequestEntries"] if e not in rejected]
        response = real(TopicArn=request["TopicArn"], PublishBatchRequestEntries=kept)
        response["Failed"] = [
            {"Id": e["Id"], "Code": "KMSThrottling", "SenderFault": False} for e in rejected
        ]
        return response

    monkeypatch.setattr(scorer.writer.sns, "publish_batch", reject_f2)
    response = handle(sqs_event([flower(n) for n in range(4)]), None, scorer)

    assert failed_ids(response) == ["m2"]
    assert sorted(doc["id"] for doc in target.read()) == ["f0", "f1", "f3"]


def test_an_s3_outage_fails_every_record_of_the_object_it_could_not_write(landing, make_scorer, monkeypatch):
    target = landing("s3")
    scorer = make_scorer(target.destination)

    def down(**request):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "reduce your request rate"}}, "PutObject")

    monkeypatch.setattr(scorer.writer.s3, "put_object", down)
    response = handle(sqs_event([flower(0), "{bad", flower(2)]), None, scorer)

    assert failed_ids(response) == ["m0", "m1", "m2"]
    assert target.read() == []


def test_messages_too_large_for_one_batch_are_split_across_calls(landing, make_scorer, monkeypatch):
    target = landing("sqs")
    scorer = make_scorer(target.destination)
    real = scorer.writer.sqs.send_message_batch
    sizes = []

    def counting(**request):
        sizes.append(len(request["Entries"]))
        return real(**request)

    monkeypatch.setattr(scorer.writer.sqs, "send_message_batch", counting)
    big = [{"id": f"b{n}", "instances": [[5.0, 3.0, 1.5, 0.2]] * 1200} for n in range(3)]
    response = handle(sqs_event(big), None, scorer)

    assert failed_ids(response) == []
    assert len(sizes) >= 2
    assert sorted(doc["id"] for doc in target.read()) == ["b0", "b1", "b2"]
