"""Emulators started on free ports, clients pointed at them, and the probe function's settings."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from onnx_lambda.emulator.config import FunctionConfig
from onnx_lambda.emulator.server import Emulator, EmulatorConfig, ThreadedEmulator

FUNCTIONS = Path(__file__).resolve().parent / "functions"


@pytest.fixture(scope="module")
def probe() -> Callable[..., FunctionConfig]:
    """`probe(timeout_s=1)`: settings of the standard-library test function in functions/probe.py."""

    def config(**overrides: Any) -> FunctionConfig:
        settings: dict[str, Any] = {
            "name": "probe",
            "handler": "probe.handler",
            "task_root": FUNCTIONS,
            "memory_mb": 256,
            "timeout_s": 5.0,
        }
        settings.update(overrides)
        return FunctionConfig(**settings)

    return config


@pytest.fixture(scope="module")
def start_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Emulator]]:
    """`start_emulator(function_config, **emulator_options)`: a running emulator on free ports."""
    running: list[ThreadedEmulator] = []

    def start(function: FunctionConfig, **options: Any) -> Emulator:
        settings: dict[str, Any] = {
            "function": function,
            "http_port": 0,
            "invoke_port": 0,
            "failed_events": tmp_path_factory.mktemp("emulator") / "failed-events.jsonl",
            "event_retry_delays": (0.1, 0.1),
        }
        settings.update(options)
        threaded = ThreadedEmulator(EmulatorConfig(**settings))
        running.append(threaded)
        emulator = threaded.start()
        emulator.threaded = threaded  # type: ignore[attr-defined]
        return emulator

    yield start
    for threaded in running:
        threaded.stop()


@pytest.fixture(scope="module")
def lambda_client() -> Callable[[Emulator], Any]:
    """A boto3 Lambda client for an emulator's Invoke API, retries off so throttles show."""

    def client(emulator: Emulator) -> Any:
        return boto3.client(
            "lambda",
            endpoint_url=emulator.invoke_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 0}, read_timeout=60),
        )

    return client


@pytest.fixture(scope="module")
def log_result() -> Callable[[dict[str, Any]], str]:
    """The decoded `LogResult` of a boto3 `invoke` response."""
    return lambda response: base64.b64decode(response["LogResult"]).decode()


@pytest.fixture(scope="module")
def wait_for() -> Callable[..., bool]:
    """`wait_for(condition, seconds=20)`: poll until the condition holds; False if it never does."""

    def wait(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return False

    return wait
