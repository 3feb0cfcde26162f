"""`onnx-lambda run` and `onnx-lambda invoke --cold`, as a user runs them."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "onnx_lambda.cli"]


def test_run_serves_the_bundled_model_until_interrupted(tmp_path):
    process = subprocess.Popen(
        [*CLI, "run", "--http-port", "0", "--invoke-port", "0", "--failed-events", str(tmp_path / "f.jsonl")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    banner = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            banner.append(line)
            if "Ctrl-C to stop" in line or not line:
                break
        text = "".join(banner)
        http = re.search(r"stage \$default: (http://\S+)", text).group(1)
        invoke = re.search(r"Lambda Invoke API: (http://\S+)", text).group(1)
        assert f"curl -s {http}/v2/models/iris/infer" in text
        assert f"aws lambda invoke --endpoint-url {invoke} --function-name onnx-lambda" in text
        assert "boto3.client('lambda'" in text

        body = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]}).encode()
        request = urllib.request.Request(
            http + "/v1/models/iris:predict", body, {"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)

    assert answer["predictions"][0]["label"] == 0
    assert process.returncode == 0
    assert re.search(r"REPORT RequestId: \S+\tDuration: .*\tInit Duration: ", output)


def test_invoke_cold_runs_a_fixture_in_a_fresh_instance():
    result = subprocess.run(
        [*CLI, "invoke", "events/http-api-v2-infer.json", "--cold"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["id"] == "req-iris-42"
    report = result.stderr.strip().splitlines()[-1]
    assert report.startswith("REPORT RequestId: ")
    assert "\tInit Duration: " in report
    assert "Memory Size: 1024 MB" in report
