"""SNS: payloads and S3 notifications; any failure raises so Lambda retries the delivery."""

from __future__ import annotations

import json

import pytest

from handler.errors import RecordsFailed
from handler.events import handle


def test_the_model_named_in_a_message_attribute_scores_it(make_scorer, load_event):
    event = load_event("sns")
    event["Records"][0]["Sns"]["MessageAttributes"] = {"model": {"Type": "String", "Value": "diabetes"}}
    event["Records"][0]["Sns"]["Message"] = json.dumps({"id": "p1", "instances": [[0.0] * 10]})
    response = handle(event, None, make_scorer())
    assert response["results"][0]["model_name"] == "diabetes"
    assert len(response["results"][0]["predictions"]) == 1


def test_a_poison_message_raises_naming_the_message_and_the_reason(make_scorer, load_event):
    event = load_event("sns")
    event["Records"][0]["Sns"]["Message"] = "definitely not json"
    with pytest.raises(RecordsFailed) as caught:
        handle(event, None, make_scorer())
    assert "95df01b4-ee98-5cb9-9903-4c221d41eb5e" in caught.value.message
    assert "not valid JSON" in caught.value.message
