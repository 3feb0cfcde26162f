"""Lambda's platform log lines (INIT_START, START, END, REPORT) and where the emulator's logs go."""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

LogSink = Callable[[str], None]
TAIL_BYTES = 4096


def print_sink(line: str) -> None:
    """Write a log line to stdout, as `sam local` does; the runtime's `\\r` joins become newlines."""
    sys.stdout.write(line.replace("\r", "\n") + "\n")
    sys.stdout.flush()


def start_line(request_id: str, version: str = "$LATEST") -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def init_start_line() -> str:
    version = f"python:{sys.version_info.major}.{sys.version_info.minor}"
    return f"INIT_START Runtime Version: {version} (onnx-lambda emulator, awslambdaric)"


def timeout_line(request_id: str, timeout_s: float) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
    return f"{stamp} {request_id} Task timed out after {timeout_s:.2f} seconds"


@dataclass(frozen=True)
class Report:
    """The figures of one invocation's REPORT line."""

    request_id: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    status: str | None = None
    error_type: str | None = None

    @property
    def billed_duration_ms(self) -> int:
        """Lambda bills in whole milliseconds, rounding up the duration the line shows."""
        return max(1, math.ceil(round(self.duration_ms, 2)))

    def line(self) -> str:
        parts = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_duration_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_used_mb} MB",
        ]
        if self.init_duration_ms is not None:
            parts.append(f"Init Duration: {self.init_duration_ms:.2f} ms")
        if self.status:
            parts.append(f"Status: {self.status}")
        if self.error_type:
            parts.append(f"Error Type: {self.error_type}")
        return "\t".join(parts)


class RecentLogs:
    """The last lines logged by every instance of a function, for tests and the /_emulator URL."""

    def __init__(self, sink: LogSink | None, keep: int = 2000) -> None:
        self.sink = sink
        self.lines: deque[str] = deque(maxlen=keep)

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if self.sink is not None:
            self.sink(line)

    def reports(self) -> list[str]:
        return [line for line in self.lines if line.startswith("REPORT ")]


def tail(lines: list[str], limit: int = TAIL_BYTES) -> bytes:
    """The last `limit` bytes of an invocation's log, as `X-Amz-Log-Result` carries (before base64)."""
    return ("\n".join(lines) + "\n").encode()[-limit:]
