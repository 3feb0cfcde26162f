"""The EMF metrics record: one per invocation, valid by the published rules, with the values people graph."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from emf_schema import check_emf, emf_records, metric_units
from log_capture import HOSTILE

import handler.http
from handler.invocation import InitTimings, Invocation
from handler.metrics import DIMENSIONS, EmbeddedMetrics
from onnx_lambda.context import LambdaContext

ROOT = Path(__file__).resolve().parent.parent
ALWAYS = {"ColdStart", "RecordsScored", "RecordsFailed"}
INIT = {
    "InitDuration",
    "InitDurationImports",
    "InitDurationModelLoad",
    "InitDurationWarmUp",
    "InitDurationDestination",
}
INFERENCE = {
    "BatchSize",
    "InferenceLatency",
    "InferenceLatencyDecode",
    "InferenceLatencyRun",
    "InferenceLatencyEncode",
}


@dataclass(frozen=True)
class RanModel:
    name: str
    version: str = "1"


def init_timings() -> InitTimings:
    init = InitTimings()
    init.phases = {"imports": 0.2, "model_load": 0.05, "warm_up": 0.01, "destination": 0.03}
    init.total = 0.3
    return init


def invocation(cold: bool, ran: bool, wrote: bool, model: RanModel | None = None) -> Invocation:
    current = Invocation()
    current.begin(LambdaContext(), "sqs")
    if not cold:
        current.begin(LambdaContext(), "sqs")
    current.receive("sqs", 10)
    if ran:
        current.decode, current.encode = 0.000_2, 0.000_1
        current.ran(model or RanModel("iris"), 0.000_4, 25)
    if wrote:
        current.written(0.003)
    current.failed = 2
    return current


SHAPES = [
    pytest.param(
        cold,
        ran,
        wrote,
        id=f"{'cold' if cold else 'warm'}-{'ran' if ran else 'idle'}{'-wrote' if wrote else ''}",
    )
    for cold in (True, False)
    for ran in (True, False)
    for wrote in (True, False)
]


@pytest.mark.parametrize(("cold", "ran", "wrote"), SHAPES)
def test_every_shape_of_record_follows_the_emf_rules(cold, ran, wrote):
    metrics = EmbeddedMetrics("OnnxLambda", "scorer", init_timings())

    root = check_emf(metrics.record(invocation(cold, ran, wrote)))

    expected = ALWAYS | (INIT if cold else set()) | (INFERENCE if ran else set())
    expected |= {"DestinationWriteLatency"} if wrote else set()
    assert set(metric_units(root)) == expected
    assert root["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "OnnxLambda"
    assert root["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [list(DIMENSIONS)]
    assert (root["FunctionName"], root["EventSource"]) == ("scorer", "sqs")
    assert root["Model"] == ("iris" if ran else "none")
    assert root["ColdStart"] == (1 if cold else 0)
    assert (root["RecordsScored"], root["RecordsFailed"]) == (8, 2)


def test_values_are_the_measured_phases():
    metrics = EmbeddedMetrics("OnnxLambda", "scorer", init_timings())

    root = check_emf(metrics.record(invocation(cold=True, ran=True, wrote=True)))

    assert root["BatchSize"] == 25
    assert (root["InferenceLatencyDecode"], root["InferenceLatencyRun"], root["InferenceLatencyEncode"]) == (
        200,
        400,
        100,
    )
    assert root["InferenceLatency"] == 700
    assert root["DestinationWriteLatency"] == 3000
    assert metric_units(root)["InferenceLatency"] == "Microseconds"
    assert root["InitDuration"] == pytest.approx(300)
    assert root["InitDurationImports"] == pytest.approx(200)
    assert root["InitDurationModelLoad"] == pytest.approx(50)
    assert root["InitDurationWarmUp"] == pytest.approx(10)
    assert root["InitDurationDestination"] == pytest.approx(30)
    assert metric_units(root)["InitDuration"] == "Milliseconds"


def test_several_models_in_one_invocation_are_the_mixed_model():
    current = invocation(cold=False, ran=True, wrote=False)
    current.ran(RanModel("diabetes"), 0.001, 1)

    root = check_emf(EmbeddedMetrics("OnnxLambda", "scorer", init_timings()).record(current))

    assert root["Model"] == "mixed"
    assert "model_version" not in root
    assert root["BatchSize"] == 26


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_names_and_headers_leave_one_valid_line(text):
    current = invocation(cold=True, ran=True, wrote=False, model=RanModel(text, text))
    current.traceparent = text
    current.client_request_id = text

    line = EmbeddedMetrics(text[:255], text, init_timings()).record(current)

    root = check_emf(line)
    assert line.count("\n") == 1
    assert line.endswith("\n")
    assert root["Model"] == text[:255]
    assert root["x_request_id"] == text[:256]
    assert len(line) < 8000


def test_records_of_one_writer_carry_only_their_own_correlation_ids():
    metrics = EmbeddedMetrics("OnnxLambda", "scorer", init_timings())
    traced = invocation(cold=False, ran=True, wrote=False)
    traced.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    plain = invocation(cold=False, ran=True, wrote=False)
    plain.request_id = None

    first, second, third = (check_emf(metrics.record(current)) for current in (traced, plain, traced))

    assert first["traceparent"] == third["traceparent"] == traced.traceparent
    assert "traceparent" not in second
    assert "requestId" not in second
    assert first["requestId"] == traced.request_id


@pytest.mark.parametrize("trace_id", ["Root=1-6b133e0f-5d5991182044eb5ed27a5094;Sampled=0", 'Root="\n\\'])
def test_a_record_with_lambdas_request_and_trace_ids_carries_both_escaped(trace_id):
    metrics = EmbeddedMetrics("OnnxLambda", "scorer", init_timings())
    current = invocation(cold=False, ran=True, wrote=False)
    current.trace_id = trace_id

    line = metrics.record(current)

    root = check_emf(line)
    assert line.count("\n") == 1
    assert (root["requestId"], root["xray_trace_id"]) == (current.request_id, trace_id)
    assert "traceparent" not in root
    assert "x_request_id" not in root


# --- through the Lambda entry point ----------------------------------------------------------------


def http_event(load_event: Any, method: str, path: str, body: Any = None) -> dict[str, Any]:
    event = load_event("http-api-v2-infer")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["body"] = json.dumps(body) if body is not None else None
    return event


def invoke(
    event: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    capsys.readouterr()
    response = handler.http.lambda_handler(event, LambdaContext())
    records = emf_records(capsys.readouterr().out)
    assert len(records) == 1, "one record per invocation"
    return response, records[0]


def test_an_infer_request_reports_its_model_rows_and_phases(load_event, capsys):
    response, root = invoke(load_event("http-api-v2-infer"), capsys)

    assert response["statusCode"] == 200
    assert (root["EventSource"], root["Model"], root["model_version"]) == ("http", "iris", "1")
    assert (root["RecordsScored"], root["RecordsFailed"], root["BatchSize"]) == (1, 0, 3)
    phases = root["InferenceLatencyDecode"] + root["InferenceLatencyRun"] + root["InferenceLatencyEncode"]
    assert abs(root["InferenceLatency"] - phases) <= 2  # each is rounded down to whole microseconds
    assert root["InferenceLatencyRun"] > 0
    assert root["requestId"]


def test_a_rejected_request_is_a_failed_record(load_event, capsys):
    event = http_event(load_event, "POST", "/v2/models/iris/infer", {"inputs": [{"name": "input"}]})

    response, root = invoke(event, capsys)

    assert response["statusCode"] == 400
    assert (root["RecordsScored"], root["RecordsFailed"]) == (0, 1)
    assert "InferenceLatency" not in root


@pytest.mark.parametrize("path", ["/invocations", "/v1/models/iris:predict"])
def test_a_refused_content_type_is_a_failed_record(load_event, capsys, path):
    event = http_event(load_event, "POST", path, {"instances": [[5.1, 3.5, 1.4, 0.2]]})
    event["headers"]["content-type"] = "text/plain"

    response, root = invoke(event, capsys)

    assert response["statusCode"] == 415
    assert (root["RecordsScored"], root["RecordsFailed"]) == (0, 1)


def test_a_health_check_runs_no_model(load_event, capsys):
    response, root = invoke(http_event(load_event, "GET", "/v2/health/ready"), capsys)

    assert response["statusCode"] == 200
    assert root["Model"] == "none"
    assert (root["RecordsScored"], root["RecordsFailed"]) == (0, 0)
    assert not INFERENCE & set(metric_units(root))


COLD_SCRIPT = """
import json, sys
import handler.http
from onnx_lambda.context import LambdaContext
event = json.load(open("events/http-api-v2-infer.json"))
for _ in range(2):
    handler.http.lambda_handler(event, LambdaContext())
print("modules:" + json.dumps(sorted(m for m in sys.modules if m.startswith("handler."))))
"""


def run_fresh(**environ: str) -> subprocess.CompletedProcess[str]:
    """Two invocations in a fresh interpreter: a real cold start, then a warm one."""
    return subprocess.run(
        [sys.executable, "-c", COLD_SCRIPT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={**os.environ, "ONNX_LAMBDA_MODEL_NAMES": "iris", **environ},
    )


def test_the_first_invocation_reports_the_cold_start_and_its_init_phases():
    done = run_fresh(ONNX_LAMBDA_METRICS_NAMESPACE="Scoring/Prod", AWS_LAMBDA_FUNCTION_NAME="scorer")

    cold, warm = emf_records(done.stdout)

    assert cold["ColdStart"] == 1
    assert warm["ColdStart"] == 0
    assert set(metric_units(cold)) >= INIT
    assert not INIT & set(metric_units(warm))
    assert cold["InitDuration"] >= cold["InitDurationImports"] + cold["InitDurationModelLoad"] > 0
    assert cold["InitDurationWarmUp"] > 0
    for root in (cold, warm):
        assert root["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Scoring/Prod"
        assert root["FunctionName"] == "scorer"


def test_metrics_off_writes_no_record_and_imports_no_metrics_code():
    done = run_fresh(ONNX_LAMBDA_METRICS="false")

    assert emf_records(done.stdout) == []
    modules = json.loads(done.stdout.split("modules:")[1])
    assert "handler.metrics" not in modules
    assert "handler.logs" in modules


def test_on_lambdas_stdout_the_record_is_one_write_to_the_descriptor(tmp_path, monkeypatch):
    from awslambdaric.bootstrap import Unbuffered

    path = tmp_path / "stdout"
    with path.open("w") as stream:
        monkeypatch.setattr(sys, "stdout", Unbuffered(stream))
        metrics = EmbeddedMetrics("OnnxLambda", "scorer", init_timings())
        for cold in (True, False):
            metrics.emit(invocation(cold=cold, ran=True, wrote=False))
        print("a line printed after the records")

    lines = path.read_text().splitlines(keepends=True)
    assert [check_emf(line)["ColdStart"] for line in lines[:2]] == [1, 0]
    assert lines[2] == "a line printed after the records\n"
