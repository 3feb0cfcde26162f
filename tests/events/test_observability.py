"""Event scoring as an operator sees it: one log line per failed record, one metrics record per batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from emf_schema import emf_records
from event_support import failed_ids
from log_capture import json_logs

import handler.events
from onnx_lambda.context import LambdaContext

ROOT = Path(__file__).resolve().parents[2]

HOSTILE_IDS = [
    pytest.param("msg-1", id="plain"),
    pytest.param('msg"}, "level": "INFO", "message": "all good', id="quotes"),
    pytest.param('msg\n{"message": "forged line"}\r\n', id="newlines"),
    pytest.param("m" * 300_000, id="huge"),
]


def poisoned(load_event: Any, message_id: str) -> dict[str, Any]:
    """The SQS batch fixture with one more message, whose body is not JSON."""
    event = load_event("sqs-batch")
    poison = json.loads(json.dumps(event["Records"][0]))
    poison["messageId"] = message_id
    poison["body"] = "{not json"
    event["Records"].append(poison)
    return event


@pytest.mark.parametrize("message_id", HOSTILE_IDS)
def test_a_failed_record_is_one_log_line_with_its_id_and_reason(load_event, capsys, message_id):
    event = poisoned(load_event, message_id)

    with json_logs() as logs:
        response = handler.events.lambda_handler(event, LambdaContext())

    assert failed_ids(response) == [message_id]
    failures = [line for line in logs.lines() if line.get("record_id") is not None]
    assert len(failures) == 1
    (line,) = failures
    assert line["level"] == "WARNING"
    assert line["event_source"] == "sqs"
    assert message_id.startswith(line["record_id"].split("...[")[0])
    assert line["record_id"] == message_id or len(message_id) > 1024
    assert "not valid JSON" in line["reason"] or "JSON" in line["reason"]
    assert logs.text.count("\n") == len(logs.lines())
    (summary,) = logs.with_message(f"1 of {len(event['Records'])} records failed")
    assert summary["records_failed"] == 1
    assert set(summary["timings_ms"]) == {"decode", "run", "encode", "write"}


def test_the_batch_writes_one_metrics_record(load_event, capsys):
    event = poisoned(load_event, "poison-1")
    capsys.readouterr()

    handler.events.lambda_handler(event, LambdaContext())

    (record,) = emf_records(capsys.readouterr().out)
    assert record["EventSource"] == "sqs"
    assert (record["RecordsScored"], record["RecordsFailed"]) == (len(event["Records"]) - 1, 1)
    assert record["BatchSize"] >= len(event["Records"]) - 1
    assert record["InferenceLatencyRun"] > 0
    assert "DestinationWriteLatency" not in record  # predictions go back in the response


def test_writing_to_a_destination_is_timed(load_event, capsys, landing, make_scorer, monkeypatch):
    s3 = landing("s3")
    monkeypatch.setattr(handler.events, "SCORER", make_scorer(s3.destination))
    event = load_event("sqs-batch")
    capsys.readouterr()

    response = handler.events.lambda_handler(event, LambdaContext())

    assert failed_ids(response) == []
    assert len(s3.read()) == len(event["Records"])
    (record,) = emf_records(capsys.readouterr().out)
    assert record["DestinationWriteLatency"] > 0
    assert record["RecordsScored"] == len(event["Records"])


def test_a_batch_with_nothing_scored_writes_nothing(load_event, capsys, landing, make_scorer, monkeypatch):
    s3 = landing("s3")
    monkeypatch.setattr(handler.events, "SCORER", make_scorer(s3.destination))
    event = load_event("sqs-batch")
    for message in event["Records"]:
        message["body"] = "{not json"
    capsys.readouterr()

    response = handler.events.lambda_handler(event, LambdaContext())

    assert len(failed_ids(response)) == len(event["Records"])
    assert s3.read() == []
    (record,) = emf_records(capsys.readouterr().out)
    assert (record["RecordsScored"], record["RecordsFailed"]) == (0, len(event["Records"]))
    assert "DestinationWriteLatency" not in record


def test_an_unrecognised_event_is_logged_and_still_counted(capsys):
    with json_logs() as logs, pytest.raises(Exception, match="no event source recognises"):
        handler.events.lambda_handler({"hello": "world\nforged"}, LambdaContext())

    (line,) = [line for line in logs.lines() if line["level"] == "ERROR"]
    assert "no event source recognises" in line["message"]
    assert "stackTrace" not in line
    (record,) = emf_records(capsys.readouterr().out)
    assert record["EventSource"] == "unknown"


COLD_EVENT_SCRIPT = """
import handler.events
from onnx_lambda.context import LambdaContext
event = {"Records": [{"eventSource": "aws:sqs", "messageId": "m-1", "body": "{not json"}]}
handler.events.lambda_handler(event, LambdaContext())
"""


def test_the_cold_record_accounts_for_the_destination_client():
    # An SQS destination: boto3 is imported and its client created at init. The one message fails,
    # so nothing is sent anywhere and no AWS endpoint is needed.
    done = subprocess.run(
        [sys.executable, "-c", COLD_EVENT_SCRIPT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={
            **os.environ,
            "ONNX_LAMBDA_MODEL_NAMES": "iris",
            "ONNX_LAMBDA_DESTINATION": "sqs://predictions",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
    )

    (cold,) = emf_records(done.stdout)
    phases = ("Imports", "ModelLoad", "WarmUp", "Destination")
    accounted = sum(cold[f"InitDuration{phase}"] for phase in phases)
    assert cold["InitDurationDestination"] > 0
    assert cold["InitDuration"] >= accounted >= 0.8 * cold["InitDuration"]
