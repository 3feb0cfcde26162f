"""EventBridge: the detail is the record; any failure raises."""

from __future__ import annotations

import pytest

from handler.errors import RecordsFailed
from handler.events import handle


def test_the_detail_is_scored_and_named_by_its_id_field(make_scorer, load_event):
    response = handle(load_event("eventbridge"), None, make_scorer())
    (result,) = response["results"]
    assert result["id"] == "order-1003"
    assert result["prediction"]["label"] == 1


def test_a_detail_may_name_its_model_and_version(make_scorer, load_event):
    event = load_event("eventbridge")
    event["detail"] = {"model_name": "diabetes", "model_version": "1", "instances": [[0.0] * 10, [0.01] * 10]}
    (result,) = handle(event, None, make_scorer())["results"]
    assert result["model_name"] == "diabetes"
    assert result["id"] == event["id"]
    assert len(result["predictions"]) == 2


def test_a_detail_that_does_not_fit_the_model_raises(make_scorer, load_event):
    event = load_event("eventbridge")
    event["detail"] = {"instances": [[1.0, 2.0]]}
    with pytest.raises(RecordsFailed, match="input"):
        handle(event, None, make_scorer())
