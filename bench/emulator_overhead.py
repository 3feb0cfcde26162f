"""The emulator's own overhead per warm invocation, over loopback: target <= 1 ms p50.

Runs `onnx-lambda run` in its own process on the bundled model and sends sequential requests with a
keep-alive `http.client` connection, through the API Gateway door (payload 2.0) and the Invoke
API. For each request, overhead = the client's round trip minus the REPORT line's Duration (the
time the instance spent between receiving the event and posting its answer: awslambdaric plus the
handler). Baseline measured in the same run: the same client against a bare HTTP server on the
emulator's own socket layer, answering at once — the floor no emulator can go below.

    .venv/bin/python bench/emulator_overhead.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import queue
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EVENTS, ROOT, percentile

from onnx_lambda.emulator.http11 import HttpRequest, HttpResponse, HttpServer

INFER = json.dumps(
    {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}
).encode()
DURATION = re.compile(r"^REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms")


def bare_server() -> None:
    """Serve a fixed answer on a free port (printed), with the emulator's HTTP layer."""
    answer = HttpResponse(200, [("Content-Type", "application/json")], b'{"ok":true}')

    async def handle(_request: HttpRequest) -> HttpResponse:
        return answer

    async def main() -> None:
        server = HttpServer(handle, "127.0.0.1", 0)
        await server.start()
        print(server.port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


class Emulator:
    """`onnx-lambda run` in a child process; its REPORT lines arrive on `reports`."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "onnx_lambda.cli", "run", "--http-port", "0", "--invoke-port", "0",
             "--failed-events", "/tmp/onnx-lambda-bench-failed.jsonl"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        banner = ""
        for line in self.process.stdout:
            banner += line
            if "Ctrl-C to stop" in line:
                break
        self.http = _port(re.search(r"stage \$default: (http://\S+)", banner))
        self.invoke = _port(re.search(r"Lambda Invoke API: (http://\S+)", banner))
        self.reports: queue.Queue[tuple[str, float]] = queue.Queue()
        self.init_lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            match = DURATION.match(line)
            if match:
                self.reports.put((match.group(1), float(match.group(2))))
                if "Init Duration" in line:
                    self.init_lines.append(line.strip())

    def stop(self) -> None:
        self.process.send_signal(2)
        self.process.wait(30)


def _port(match: re.Match[str] | None) -> int:
    assert match is not None
    return int(match.group(1).rsplit(":", 1)[1])


def measure(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str], requests: int,
            reports: queue.Queue[tuple[str, float]] | None) -> tuple[list[float], list[float]]:  # fmt: skip
    """Round trips (ms) and, with `reports`, the matching REPORT Durations (ms)."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    trips: list[float] = []
    durations: list[float] = []
    for index in range(requests + 50):
        started = time.perf_counter()
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        response.read()
        trip = (time.perf_counter() - started) * 1000
        assert response.status in (200, 202), response.status
        duration = reports.get(timeout=30)[1] if reports is not None else 0.0
        if index >= 50:  # the first 50 are a warm-up: the cold start, lazy imports, the connection
            trips.append(trip)
            durations.append(duration)
    connection.close()
    return trips, durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server()
        return

    bare = subprocess.Popen([sys.executable, __file__, "--bare-server"], stdout=subprocess.PIPE, text=True)
    assert bare.stdout is not None
    bare_port = int(bare.stdout.readline())
    emulator = Emulator()
    event = (EVENTS / "http-api-v2-infer.json").read_bytes()
    json_headers = {"Content-Type": "application/json"}
    rows = []
    try:
        trips, _ = measure(bare_port, "POST", "/", INFER, json_headers, args.requests, None)
        rows.append(("bare HTTP server (floor)", trips, None))
        trips, durations = measure(
            emulator.http,
            "POST",
            "/v2/models/iris/infer",
            INFER,
            json_headers,
            args.requests,
            emulator.reports,
        )
        rows.append(("API Gateway door, POST /v2/models/iris/infer", trips, durations))
        path = "/2015-03-31/functions/onnx-lambda/invocations"
        trips, durations = measure(
            emulator.invoke, "POST", path, event, json_headers, args.requests, emulator.reports
        )
        rows.append(("Invoke API, http-api-v2-infer.json", trips, durations))
    finally:
        emulator.stop()
        bare.terminate()

    floor = statistics.median(rows[0][1])
    print(f"Emulator overhead per warm invocation: {args.requests} sequential requests per row, loopback,")
    print("one keep-alive http.client connection; overhead = round trip - REPORT Duration (ms).\n")
    print(f"{'path':<46} {'trip p50':>9} {'Duration p50':>13} {'overhead p50':>13} {'p90':>6} {'p99':>6}"
          f" {'p50 - floor':>12}")  # fmt: skip
    for name, trips, durations in rows:
        if durations is None:
            print(
                f"{name:<46} {statistics.median(trips):>9.3f} {'-':>13} {'-':>13} {'-':>6} {'-':>6} {'-':>12}"
            )
            continue
        overhead = [trip - duration for trip, duration in zip(trips, durations, strict=True)]
        p50 = statistics.median(overhead)
        print(
            f"{name:<46} {statistics.median(trips):>9.3f} {statistics.median(durations):>13.3f} {p50:>13.3f}"
            f" {percentile(overhead, 0.9):>6.3f} {percentile(overhead, 0.99):>6.3f} {p50 - floor:>12.3f}"
        )
    worst = max(statistics.median([t - d for t, d in zip(r[1], r[2], strict=True)]) for r in rows[1:] if r[2])
    verdict = "meets" if worst <= 1.0 else "MISSES"
    print(f"\nworst p50 overhead {worst:.3f} ms: {verdict} the target of <= 1 ms p50")
    for line in emulator.init_lines:
        print(f"cold start: {line.split(chr(9))[-1]}")


if __name__ == "__main__":
    main()
