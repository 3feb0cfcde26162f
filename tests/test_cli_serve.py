"""`onnx-lambda serve` answers a real Open Inference Protocol client (tritonclient) with its defaults."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "models"


def fixture_rows(name: str) -> list[list[float]]:
    """The rows an HTTP event fixture sends, so the server sees the same requests as the handler."""
    event = json.loads((ROOT / "events" / name).read_text())
    return list(json.loads(event["body"])["inputs"][0]["data"])


IRIS_ROWS = fixture_rows("http-api-v2-infer.json")
ROWS = {"iris": IRIS_ROWS, "breast_cancer": fixture_rows("alb-infer.json")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`onnx-lambda serve` on a free port, up once /v2/health/ready answers; yields host:port."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONNX_LAMBDA_")}
    env["ONNX_LAMBDA_MODEL_NAMES"] = "iris,breast_cancer"  # the CNN's warm-up is not needed here
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "onnx_lambda.cli",
                "serve",
                "--port",
                str(port),
                "--models",
                str(MODELS_DIR),
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"onnx-lambda serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/v2/health/ready", timeout=1
                ) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"onnx-lambda serve was not ready in 30 s:\n{log.read_text()}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def client(server):
    client = triton.InferenceServerClient(url=server)
    yield client
    client.close()
    # Its __del__ closes it again, through gevent, on whichever thread collects it; gevent refuses
    # any thread but this one (a warning in a later test). Closed once is enough.
    client.close = lambda: None


def run_directly(model: str, rows: list[list[float]]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(MODELS_DIR / f"{model}.onnx"), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, {"input": np.array(rows, dtype=np.float32)}), strict=True))


def test_server_is_live_and_ready(client):
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("iris")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]


def test_model_metadata(client):
    metadata = client.get_model_metadata("breast_cancer")

    assert metadata["name"] == "breast_cancer"
    assert metadata["versions"] == ["1"]
    assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 30]}]
    assert [output["name"] for output in metadata["outputs"]] == ["label", "probabilities"]


@pytest.mark.parametrize("binary", [True, False], ids=["binary-defaults", "json"])
@pytest.mark.parametrize("model", ["iris", "breast_cancer"])
def test_infer_matches_the_session_run_directly(client, model, binary):
    rows = np.array(ROWS[model], dtype=np.float32)
    tensor = triton.InferInput("input", list(rows.shape), "FP32")
    if binary:
        tensor.set_data_from_numpy(rows)  # the client's default: binary_data=True
        outputs = [triton.InferRequestedOutput("label"), triton.InferRequestedOutput("probabilities")]
    else:
        tensor.set_data_from_numpy(rows, binary_data=False)
        outputs = [
            triton.InferRequestedOutput("label", binary_data=False),
            triton.InferRequestedOutput("probabilities", binary_data=False),
        ]
    expected = run_directly(model, ROWS[model])

    result = client.infer(model, [tensor], outputs=outputs, request_id="req-1")

    response = result.get_response()
    assert response["model_name"] == model
    assert response["id"] == "req-1"
    for output in response["outputs"]:
        assert ("parameters" in output and "binary_data_size" in output["parameters"]) is binary
    np.testing.assert_array_equal(result.as_numpy("label"), expected["label"])
    np.testing.assert_allclose(result.as_numpy("probabilities"), expected["probabilities"], rtol=1e-6)


def test_infer_without_requested_outputs_returns_all_of_them(client):
    rows = np.array(IRIS_ROWS, dtype=np.float32)
    tensor = triton.InferInput("input", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows)
    expected = run_directly("iris", IRIS_ROWS)

    result = client.infer("iris", [tensor])

    np.testing.assert_array_equal(result.as_numpy("label"), expected["label"])
    np.testing.assert_allclose(result.as_numpy("probabilities"), expected["probabilities"], rtol=1e-6)


def test_client_sees_our_error_message(client):
    rows = np.zeros((1, 3), dtype=np.float32)
    tensor = triton.InferInput("input", [1, 3], "FP32")
    tensor.set_data_from_numpy(rows)

    with pytest.raises(InferenceServerException) as raised:
        client.infer("iris", [tensor])

    assert "input 'input' expects FP32 with shape [-1, 4]" in str(raised.value)
