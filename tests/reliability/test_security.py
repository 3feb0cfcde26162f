"""Security under bad input: no internals in responses, size caps, unforgeable logs, no secrets in
logs, the model digest pin, and a vulnerability audit of the locked runtime dependencies.

The SAM template's least privilege and checkov cleanliness are tested in tests/infra
(test_template.py: each function's role allows only its destination's actions on its resource;
test_checkov.py: checkov passes on infra/template.yaml); the catalogue in test_bad_input.py checks
every error body for tracebacks and paths.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from reliability_support import (
    ROOT,
    SETOSA,
    VALID_INFER,
    assert_no_leak,
    http_answer,
    http_event,
    iris_record,
    record_figure,
    sqs_message,
)

import handler
from handler.environment import STORE
from handler.errors import ModelLoadError
from handler.http.app import adapter_for, answer_event, create_app
from handler.settings import BUNDLED_MODELS, Settings
from handler.store import ModelStore
from onnx_lambda.context import LambdaContext
from onnx_lambda.emulator.config import FunctionConfig
from onnx_lambda.emulator.server import EmulatorConfig, ThreadedEmulator

LOCK = ROOT / "requirements" / "runtime.lock"
FORGED = '{"level": "ERROR", "message": "forged by the client"}'
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY-SENTINEL"
TOKEN = "IQoJb3JpZ2luX2VjE-SESSION-TOKEN-SENTINEL"


def test_a_fault_answers_500_with_a_request_id_and_nothing_of_the_internals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"session exploded in {ROOT}/handler/store.py line 212")

    monkeypatch.setattr(STORE.default, "run", broken)
    context = LambdaContext()
    status, body = http_answer(
        handler.lambda_handler(http_event("/v2/models/iris/infer", VALID_INFER), context)
    )

    assert status == 500
    assert json.loads(body) == {"error": f"internal error; request id {context.aws_request_id}"}
    assert_no_leak(body)


def test_the_body_and_batch_caps_are_the_configured_ones() -> None:
    settings = Settings(
        models=str(BUNDLED_MODELS), model_names=("iris",), max_body_bytes=2048, max_batch_size=3
    )
    app = create_app(ModelStore.load(settings), settings)
    adapter = adapter_for(app)

    def infer(rows: int, padding: int = 0) -> tuple[int, Any]:
        document = {
            "inputs": [{"name": "input", "shape": [rows, 4], "datatype": "FP32", "data": [SETOSA] * rows}]
        }
        body = json.dumps(document).encode() + b" " * padding
        event = http_event("/v2/models/iris/infer", body)
        status, answer = http_answer(answer_event(adapter, app, event, LambdaContext()))
        return status, json.loads(answer)

    assert infer(3)[0] == 200
    assert infer(4) == (400, {"error": "batch of 4 rows is over model 'iris' limit of 3"})
    status, answer = infer(1, padding=2048)
    assert status == 413
    assert "the limit is 2048 (ONNX_LAMBDA_MAX_BODY_BYTES)" in answer["error"]


def test_the_model_digest_pin_loads_the_right_model_and_refuses_any_other(tmp_path: Path) -> None:
    right = hashlib.sha256((BUNDLED_MODELS / "iris.onnx").read_bytes()).hexdigest()
    pinned = ModelStore.load(
        Settings(
            models=str(BUNDLED_MODELS), model_names=("iris",), model_sha256={"iris": right}, warmup=False
        )
    )
    assert pinned.get("iris").metadata["properties"]["sha256"] == right  # clients can check it too

    (tmp_path / "iris.onnx").write_bytes((BUNDLED_MODELS / "iris.onnx").read_bytes() + b"\0")
    with pytest.raises(ModelLoadError) as raised:
        ModelStore.load(Settings(models=str(tmp_path), model_sha256={"iris": right}, warmup=False))
    assert f"expected {right}" in raised.value.message
    assert "refusing to serve it" in raised.value.message


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def function_logs(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Every line the deployed function logged for an SQS batch with a forged record id, at DEBUG,
    with credentials in its environment, writing to an SQS destination in moto."""
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    queue = sqs.create_queue(QueueName="predictions")["QueueUrl"]
    function = FunctionConfig(
        name="onnx-lambda",
        environment={
            "AWS_ENDPOINT_URL": moto_endpoint,
            "ONNX_LAMBDA_DESTINATION": f"sqs://{queue}",
            "ONNX_LAMBDA_LOG_LEVEL": "DEBUG",
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_SESSION_TOKEN": TOKEN,
        },
    )
    config = EmulatorConfig(
        function=function,
        http_port=None,
        invoke_port=0,
        failed_events=tmp_path_factory.mktemp("security") / "failed.jsonl",
    )
    with ThreadedEmulator(config) as emulator:
        event = {
            "Records": [
                sqs_message("good", iris_record("good")),
                sqs_message("evil\n" + FORGED, '{"sepal_length": "not a number"}'),
                sqs_message("evil-2\r\n" + FORGED, "{broken json\n" + FORGED),
            ]
        }
        invoke = boto3.client(
            "lambda",
            endpoint_url=emulator.invoke_url,
            region_name="us-east-1",
            aws_access_key_id="t",
            aws_secret_access_key="t",
        )
        response = invoke.invoke(FunctionName="onnx-lambda", Payload=json.dumps(event))
        answer = json.loads(response["Payload"].read())
        assert "FunctionError" not in response, answer
        assert len(answer["batchItemFailures"]) == 2
        http = http_event(
            "/v2/models/iris/infer", b"{not json", headers={"x-request-id": "id-" + "\u2028" + FORGED}
        )
        invoke.invoke(FunctionName="onnx-lambda", Payload=json.dumps(http))
        assert [
            json.loads(m["Body"])["id"] for m in sqs.receive_message(QueueUrl=queue).get("Messages", [])
        ] == ["good"]
        return list(emulator.function.logs.lines)


PLATFORM = ("START ", "END ", "REPORT ", "INIT_START", "INIT_REPORT", "EXTENSION")


def test_a_record_id_with_newlines_is_one_log_line_and_cannot_forge_another(function_logs: list[str]) -> None:
    lines = [line for line in function_logs if not line.startswith(PLATFORM) and line.strip()]
    documents = [json.loads(line) for line in lines]  # every line is one whole JSON object

    assert not [d for d in documents if d.get("message") == "forged by the client"]
    failures = [d for d in documents if d.get("record_id", "").startswith("evil")]
    assert sorted(d["record_id"] for d in failures) == sorted(["evil\n" + FORGED, "evil-2\r\n" + FORGED])
    assert len(failures) == 2  # one line each
    record_figure("security", 1, check="log lines cannot be forged")


def test_credentials_in_the_environment_never_reach_the_logs(function_logs: list[str]) -> None:
    text = "\n".join(function_logs)
    assert len(function_logs) > 10  # DEBUG: the function said plenty
    assert SECRET not in text
    assert TOKEN not in text
    record_figure("security", 1, check="no secrets in logs")


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


def test_the_locked_runtime_dependencies_have_no_known_vulnerabilities() -> None:
    if not _pypi_reachable():
        pytest.skip("pip-audit needs PyPI's vulnerability data and pypi.org:443 is unreachable from here")
    audit = subprocess.run(
        [
            str(Path(sys.executable).with_name("pip-audit")),
            "--requirement",
            str(LOCK),
            "--no-deps",  # every package is pinned: audit exactly these versions, install nothing
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    report = json.loads(audit.stdout)
    pinned = [line for line in LOCK.read_text().splitlines() if line and not line.startswith("#")]
    assert len(report["dependencies"]) == len(pinned)
    vulnerable = {d["name"]: d["vulns"] for d in report["dependencies"] if d.get("vulns")}
    assert vulnerable == {}
    unknown = [d["name"] for d in report["dependencies"] if "skip_reason" in d]
    record_figure("audit", len(pinned), vulnerable=len(vulnerable), not_on_index=len(unknown))
