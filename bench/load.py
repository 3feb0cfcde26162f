"""Load: concurrent clients through the local emulator's API Gateway door, loopback only, bounded.

Each client thread keeps one HTTP/1.1 connection to the door (`onnx-lambda run`'s HTTP API) and
sends its share of a fixed number of requests: a mix of OIP JSON and binary infer, v1 predict and
SageMaker CSV on the bundled models. Every answer is checked (status and the predicted labels), so
"errors" counts wrong answers as well as failed requests; latency is the client's, door included.

    .venv/bin/python bench/load.py                       # 2,000 requests from 8 clients
    .venv/bin/python bench/load.py --requests 20000 --clients 16 --json
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402
from onnx_lambda.emulator.config import FunctionConfig  # noqa: E402
from onnx_lambda.emulator.server import EmulatorConfig, ThreadedEmulator  # noqa: E402

SETOSA, VIRGINICA = [5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]


@dataclass(frozen=True)
class Request:
    """One kind of request the clients send, and the labels a right answer carries."""

    name: str
    path: str
    body: bytes
    headers: dict[str, str]
    labels: list[int]


def _binary_infer() -> Request:
    header = json.dumps(
        {
            "inputs": [
                {"name": "input", "shape": [2, 4], "datatype": "FP32", "parameters": {"binary_data_size": 32}}
            ],
            "outputs": [{"name": "label"}],
        }
    ).encode()
    data = np.array([SETOSA, VIRGINICA], dtype="<f4").tobytes()
    return Request(
        "infer-binary",
        "/v2/models/iris/infer",
        header + data,
        {"content-type": "application/octet-stream", "inference-header-content-length": str(len(header))},
        [0, 2],
    )


MIX = [
    Request(
        "infer-json",
        "/v2/models/iris/infer",
        json.dumps(
            {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [SETOSA, VIRGINICA]}]}
        ).encode(),
        {"content-type": "application/json"},
        [0, 2],
    ),
    _binary_infer(),
    Request(
        "predict",
        "/v1/models/iris:predict",
        json.dumps({"instances": [SETOSA, VIRGINICA]}).encode(),
        {"content-type": "application/json"},
        [0, 2],
    ),
    Request(
        "invocations-csv",
        "/invocations",
        b"5.1,3.5,1.4,0.2\n6.3,3.3,6.0,2.5\n",
        {"content-type": "text/csv"},
        [0, 2],
    ),
]


def labels_of(request: Request, status: int, body: bytes) -> list[int] | None:
    """The predicted labels in an answer, or None when the answer is not a right one."""
    if status != 200:
        return None
    document = json.loads(body)
    if "outputs" in document:
        return next(o["data"] for o in document["outputs"] if o["name"] == "label")  # type: ignore[no-any-return]
    return [row["label"] for row in document["predictions"]]


@dataclass
class Result:
    latencies_ms: list[float]
    errors: Counter[str]
    sent: int


def client(host: str, port: int, count: int, offset: int, result: Result, lock: threading.Lock) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=60)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    for index in range(count):
        request = MIX[(offset + index) % len(MIX)]
        started = time.perf_counter()
        try:
            connection.request("POST", request.path, request.body, request.headers)
            response = connection.getresponse()
            body = response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            if labels_of(request, response.status, body) != request.labels:
                errors[f"{request.name}: HTTP {response.status} {body[:120]!r}"] += 1
        except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
            errors[f"{request.name}: {type(exc).__name__}: {exc}"] += 1
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=60)
    connection.close()
    with lock:
        result.latencies_ms.extend(latencies)
        result.errors.update(errors)
        result.sent += count


def run_load(requests: int, clients: int, memory_mb: int = 1024) -> dict[str, Any]:
    """Start the emulator (one instance per client allowed), send `requests`, return the figures."""
    function = FunctionConfig(name="onnx-lambda", memory_mb=memory_mb, concurrency=clients, timeout_s=30)
    config = EmulatorConfig(function=function, http_port=0, invoke_port=None, failed_events=None)
    with ThreadedEmulator(config) as emulator:
        host, port = "127.0.0.1", emulator.http.port  # type: ignore[union-attr]
        warm = Result([], Counter(), 0)
        lock = threading.Lock()
        # Cold starts first, one per client, so the figures below are of warm instances.
        threads = [
            threading.Thread(target=client, args=(host, port, 1, i, warm, lock)) for i in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result = Result([], Counter(), 0)
        shares = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
        started = time.perf_counter()
        threads = [
            threading.Thread(target=client, args=(host, port, share, i, result, lock))
            for i, share in enumerate(shares)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        instances = len(emulator.function.instances)  # type: ignore[union-attr]
    latencies = result.latencies_ms or [0.0]
    return {
        "requests": result.sent,
        "clients": clients,
        "errors": sum(result.errors.values()),
        "error_kinds": dict(result.errors.most_common(5)),
        "warm_up_errors": sum(warm.errors.values()),
        "seconds": round(elapsed, 2),
        "requests_per_s": round(result.sent / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p90_ms": round(percentile(latencies, 0.90), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "instances": instances,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="total requests (default 2000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    figures = run_load(args.requests, args.clients)
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"load through the emulator's API Gateway door (HTTP API 2.0), {args.clients} clients, loopback"
        )
        print("| requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | instances |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {figures['requests']:,} | {figures['errors']} | {figures['requests_per_s']} | "
            f"{figures['p50_ms']} | {figures['p90_ms']} | {figures['p99_ms']} | {figures['max_ms']} | "
            f"{figures['instances']} |"
        )
        for kind, count in figures["error_kinds"].items():
            print(f"  {count} x {kind}")
    return 1 if figures["errors"] or figures["warm_up_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
