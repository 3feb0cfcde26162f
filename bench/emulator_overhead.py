"""The emulator's own overhead per warm invocation, over loopback: target <= 1 ms p50.

Runs `onnx-lambda run` in its own process on the bundled model and sends sequential requests on
keep-alive `http.client` connections, through the API Gateway door (payload 2.0) and the Invoke
API, interleaved request by request with the baseline so that every row sees the same machine.
For each request, overhead = the client's round trip minus the REPORT line's Duration (the time
the instance held the event: awslambdaric plus the handler). Baseline measured in the same run:
the same client against a bare server on the emulator's own HTTP layer, answering at once — the
floor no emulator can go below.

    .venv/bin/python bench/emulator_overhead.py [--rounds 5] [--requests 400]
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
from collections.abc import Callable
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
        http_url = re.search(r"stage \$default: (http://\S+)", banner)
        invoke_url = re.search(r"Lambda Invoke API: (http://\S+)", banner)
        if http_url is None or invoke_url is None:
            self.process.terminate()
            _wait_or_kill(self.process)
            raise SystemExit(f"onnx-lambda run did not start; it printed:\n{banner[-3000:]}")
        self.http, self.invoke = _port(http_url), _port(invoke_url)
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
        _wait_or_kill(self.process, 30)


def _wait_or_kill(process: subprocess.Popen[str], timeout: float = 10) -> None:
    """Wait for a child that was asked to stop; kill it if it has not stopped within `timeout` s."""
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _port(match: re.Match[str]) -> int:
    return int(match.group(1).rsplit(":", 1)[1])


class Target:
    """One row of the table: a keep-alive connection and the request it repeats."""

    def __init__(
        self, name: str, port: int, path: str, body: bytes, reports: queue.Queue[tuple[str, float]] | None
    ):
        self.name = name
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.path = path
        self.body = body
        self.reports = reports
        self.rounds: list[tuple[list[float], list[float]]] = []

    def once(self) -> tuple[float, float]:
        """One round trip (ms) and, for the emulator, the REPORT Duration (ms) that goes with it."""
        started = time.perf_counter()
        self.connection.request("POST", self.path, self.body, {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        response.read()
        trip = (time.perf_counter() - started) * 1000
        assert response.status == 200, response.status
        duration = self.reports.get(timeout=30)[1] if self.reports is not None else 0.0
        return trip, duration


def run_rounds(targets: list[Target], rounds: int, requests: int) -> None:
    """Interleave the targets request by request, so every row sees the same machine."""
    for _ in range(50):  # warm-up: the cold start, lazy imports, the connections
        for target in targets:
            target.once()
    for _ in range(rounds):
        samples: dict[str, tuple[list[float], list[float]]] = {t.name: ([], []) for t in targets}
        for _ in range(requests):
            for target in targets:
                trip, duration = target.once()
                samples[target.name][0].append(trip)
                samples[target.name][1].append(duration)
        for target in targets:
            target.rounds.append(samples[target.name])


def across_rounds(target: Target, statistic: Callable[[list[float]], float], overhead: bool) -> float:
    """The median over rounds of a per-round statistic of the trips (or of trip - Duration)."""
    values = []
    for trips, durations in target.rounds:
        series = (
            [trip - duration for trip, duration in zip(trips, durations, strict=True)] if overhead else trips
        )
        values.append(statistic(series))
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400, help="requests per door per round")
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server()
        return

    bare = subprocess.Popen([sys.executable, __file__, "--bare-server"], stdout=subprocess.PIPE, text=True)
    emulator = None
    try:
        assert bare.stdout is not None
        bare_port = int(bare.stdout.readline())
        emulator = Emulator()
        event = (EVENTS / "http-api-v2-infer.json").read_bytes()
        invoke_path = "/2015-03-31/functions/onnx-lambda/invocations"
        floor = Target("bare HTTP server (floor)", bare_port, "/", INFER, None)
        doors = [
            Target("API Gateway door, POST /v2/models/iris/infer", emulator.http, "/v2/models/iris/infer",
                   INFER, emulator.reports),
            Target("Invoke API, http-api-v2-infer.json", emulator.invoke, invoke_path, event,
                   emulator.reports),
        ]  # fmt: skip
        run_rounds([floor, *doors], args.rounds, args.requests)
    finally:
        try:
            if emulator is not None:
                emulator.stop()
        finally:
            bare.terminate()
            _wait_or_kill(bare)

    def p90(values: list[float]) -> float:
        return percentile(values, 0.9)

    def p99(values: list[float]) -> float:
        return percentile(values, 0.99)

    floor_p50 = across_rounds(floor, statistics.median, overhead=False)
    print(
        f"Emulator overhead per warm invocation: {args.rounds} rounds x {args.requests} requests per door, "
        "interleaved,\nover loopback on keep-alive http.client connections; overhead = round trip - REPORT "
        "Duration.\nMedians over the rounds of each round's percentile, in ms.\n"
    )
    print(f"{'path':<46} {'trip p50':>9} {'Duration p50':>13} {'overhead p50':>13} {'p90':>6} {'p99':>6}"
          f" {'p50 - floor':>12}")  # fmt: skip
    print(f"{floor.name:<46} {floor_p50:>9.3f} {'-':>13} {'-':>13} {'-':>6} {'-':>6} {'-':>12}")
    worst = 0.0
    for door in doors:
        p50 = across_rounds(door, statistics.median, overhead=True)
        durations = statistics.median([statistics.median(d) for _, d in door.rounds])
        worst = max(worst, p50)
        trip = across_rounds(door, statistics.median, overhead=False)
        print(
            f"{door.name:<46} {trip:>9.3f} {durations:>13.3f}"
            f" {p50:>13.3f} {across_rounds(door, p90, overhead=True):>6.3f}"
            f" {across_rounds(door, p99, overhead=True):>6.3f} {p50 - floor_p50:>12.3f}"
        )
    verdict = "meets" if worst <= 1.0 else "MISSES"
    print(f"\nworst p50 overhead {worst:.3f} ms: {verdict} the target of <= 1 ms p50")
    for line in emulator.init_lines:
        print(f"cold start: {line.split(chr(9))[-1]}")


if __name__ == "__main__":
    main()
