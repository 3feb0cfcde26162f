"""The emulator as a whole: its doors open together, and a start that fails leaves nothing running."""

from __future__ import annotations

import socket
import threading

import pytest

from onnx_lambda.emulator.server import EmulatorConfig, ThreadedEmulator


def test_a_start_that_fails_on_a_taken_port_leaves_no_door_or_thread(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = EmulatorConfig(http_port=0, invoke_port=port, failed_events=tmp_path / "failed.jsonl")
        emulator = ThreadedEmulator(config)

        with pytest.raises(OSError, match="address already in use"), emulator:
            pass

    assert emulator.loop.is_closed()
    assert not any(thread.name == "onnx-lambda-emulator" for thread in threading.enumerate())
    http = emulator.emulator.http
    assert http is None or http._server is None  # the HTTP door that had bound is closed again
