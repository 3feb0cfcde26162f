"""`onnx-lambda invoke EVENT.json` prints the handler's response and a Lambda-style REPORT line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("onnx-lambda")
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d{2}) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<memory>\d+) MB\t"
    r"Max Memory Used: (?P<used>\d+) MB\tInit Duration: (?P<init>\d+\.\d{2}) ms$",
    re.MULTILINE,
)


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "invoke", *args], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def http_invoke() -> subprocess.CompletedProcess[str]:
    return invoke("events/http-api-v2-infer.json", "--memory", "512")


def test_prints_the_response(http_invoke):
    assert http_invoke.returncode == 0, http_invoke.stderr
    response = json.loads(http_invoke.stdout)

    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["id"] == "req-iris-42"
    labels = next(output for output in body["outputs"] if output["name"] == "label")
    assert labels["data"] == [0, 1, 2]


def test_prints_a_report_line_like_lambda(http_invoke):
    match = REPORT.search(http_invoke.stderr)

    assert match, http_invoke.stderr
    assert f"START RequestId: {match['id']}" in http_invoke.stderr
    assert f"END RequestId: {match['id']}" in http_invoke.stderr
    assert int(match["billed"]) >= float(match["duration"])
    assert int(match["billed"]) - float(match["duration"]) < 1
    assert match["memory"] == "512"
    assert 0 < int(match["used"]) < 4096
    assert float(match["init"]) > 0


def test_handler_error_is_printed_as_lambda_reports_it(tmp_path):
    event = tmp_path / "unknown.json"
    event.write_text(json.dumps({"detail-type": "nothing we score", "source": "example.app"}))

    done = invoke(str(event))

    assert done.returncode == 1
    response = json.loads(done.stdout)
    assert set(response) >= {"errorMessage", "errorType"}
    assert REPORT.search(done.stderr)


def test_unreadable_event_file_is_a_usage_error(tmp_path):
    done = invoke(str(tmp_path / "missing.json"))

    assert done.returncode == 2
    assert "cannot read event" in done.stderr
