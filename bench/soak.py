"""Soak: one warm instance's memory over 100,000 invocations, to show it does not leak.

The invocations rotate through good and bad HTTP requests (OIP JSON and binary, predict, CSV, bad
JSON, wrong shapes, unknown models, over-limit batches) and SQS batches with a failing record, so
the error paths are soaked too. In the default mode they go through the local emulator's Invoke API
to a single execution environment (concurrency 1), whose resident memory (RSS) is read from /proc
every `--sample` invocations; `--in-process` calls handler.lambda_handler in this process instead.

The verdict compares the RSS after the warm-up (the first 10%) with the end. Through the emulator,
the same runtime (awslambdaric) with a handler that does nothing is soaked for as many invocations
in the same run, and only the growth beyond that baseline counts against onnx-lambda: the runtime's
native client grows by about 100 bytes per invocation on its own (its Python heap stays flat under
tracemalloc).

    .venv/bin/python bench/soak.py                         # 100,000 through the emulator
    .venv/bin/python bench/soak.py --invocations 20000 --in-process --json
"""

from __future__ import annotations

import argparse
import base64
import copy
import gc
import http.client
import json
import sys
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from onnx_lambda.emulator.config import FunctionConfig  # noqa: E402
from onnx_lambda.emulator.server import EmulatorConfig, ThreadedEmulator  # noqa: E402

FLAT_MB = 4.0
"""Growth after warm-up allowed before the soak calls the memory not flat."""
SETOSA, VIRGINICA = [5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]


def _http(path: str, body: bytes, content_type: str = "application/json", **headers: str) -> dict[str, Any]:
    event = json.loads((ROOT / "events" / "http-api-v2-infer.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    kept = {k: v for k, v in event["headers"].items() if k not in ("content-type", "content-length")}
    event["headers"] = {**kept, "content-type": content_type, **headers}
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    return event


def _sqs(count: int) -> dict[str, Any]:
    template = json.loads((ROOT / "events" / "sqs-batch.json").read_text())["Records"][0]
    features = ("sepal_length", "sepal_width", "petal_length", "petal_width")
    records = []
    for index in range(count):
        message = copy.deepcopy(template)
        message["messageId"] = f"m-{index}"
        row = SETOSA if index % 2 else VIRGINICA
        message["body"] = json.dumps({"id": f"m-{index}", **dict(zip(features, row, strict=True))})
        records.append(message)
    records[-1]["body"] = '{"id": "poison", "sepal_length": "x"}'
    return {"Records": records}


def workload() -> list[tuple[str, dict[str, Any], int | None]]:
    """(name, event, expected HTTP status or None for an event batch) in rotation."""
    infer = {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [SETOSA, VIRGINICA]}]}
    header = json.dumps(
        {
            "inputs": [
                {"name": "input", "shape": [1, 4], "datatype": "FP32", "parameters": {"binary_data_size": 16}}
            ]
        }
    ).encode()
    import numpy as np

    binary = header + np.array(SETOSA, dtype="<f4").tobytes()
    return [
        ("infer", _http("/v2/models/iris/infer", json.dumps(infer).encode()), 200),
        (
            "infer-binary",
            _http(
                "/v2/models/iris/infer",
                binary,
                "application/octet-stream",
                **{"inference-header-content-length": str(len(header))},
            ),
            200,
        ),
        ("predict", _http("/v1/models/iris:predict", json.dumps({"instances": [SETOSA] * 8}).encode()), 200),
        ("csv", _http("/invocations", b"5.1,3.5,1.4,0.2\n", "text/csv"), 200),
        ("bad-json", _http("/v2/models/iris/infer", b'{"inputs": ['), 400),
        ("wrong-shape", _http("/v1/models/iris:predict", b'{"instances": [[1, 2, 3]]}'), 400),
        ("unknown-model", _http("/v2/models/tulip/infer", json.dumps(infer).encode()), 404),
        (
            "over-limit",
            _http("/v1/models/iris:predict", json.dumps({"instances": [SETOSA] * 8193}).encode()),
            400,
        ),
        ("sqs-batch", _sqs(10), None),
    ]


FIRST_ERRORS: list[str] = []
"""What the first wrong answers were, so a failed soak says why."""


def note_error(index: int, name: str, answer: Any) -> None:
    if len(FIRST_ERRORS) < 3:
        FIRST_ERRORS.append(f"invocation {index + 1} ({name}): {json.dumps(answer)[:300]}")


def check(expected: int | None, answer: Any) -> bool:
    if expected is None:
        return isinstance(answer, dict) and answer.get("batchItemFailures") == [{"itemIdentifier": "m-9"}]
    return isinstance(answer, dict) and answer.get("statusCode") == expected


def slope_mb_per_10k(samples: list[tuple[int, float]]) -> float:
    """Least-squares slope of RSS (MB) against invocations, per 10,000 invocations."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_x = sum(x for x, _ in samples) / n
    mean_y = sum(y for _, y in samples) / n
    var = sum((x - mean_x) ** 2 for x, _ in samples)
    cov = sum((x - mean_x) * (y - mean_y) for x, y in samples)
    return cov / var * 10_000 if var else 0.0


def _through_emulator(
    payloads: list[tuple[str, bytes, int | None]],
    invocations: int,
    sample: int,
    function: FunctionConfig | None = None,
) -> tuple[list[tuple[int, float]], int, int]:
    """Invoke one warm instance through the Invoke API; returns RSS samples, errors and its pid."""
    function = function or FunctionConfig(
        name="onnx-lambda", concurrency=1, timeout_s=30, idle_timeout_s=3600
    )
    config = EmulatorConfig(function=function, http_port=None, invoke_port=0, failed_events=None)
    samples: list[tuple[int, float]] = []
    errors = 0
    pids: set[int] = set()
    with ThreadedEmulator(config) as emulator:
        connection = http.client.HTTPConnection("127.0.0.1", emulator.invoke.port, timeout=60)  # type: ignore[union-attr]
        path = f"/2015-03-31/functions/{function.name}/invocations"
        for index in range(invocations):
            name, payload, expected = payloads[index % len(payloads)]
            connection.request("POST", path, payload)
            response = connection.getresponse()
            answer = json.loads(response.read() or b"null")
            if response.getheader("X-Amz-Function-Error") or not check(expected, answer):
                errors += 1
                note_error(index, name, answer)
            if index % sample == 0 or index == invocations - 1:
                (instance,) = emulator.function.instances  # type: ignore[union-attr]
                pid = instance.process.pid  # type: ignore[union-attr]
                pids.add(pid)
                samples.append((index + 1, psutil.Process(pid).memory_info().rss / 2**20))
        connection.close()
    if len(pids) != 1:
        errors += 1  # the instance was replaced: not one warm environment throughout
    return samples, errors, next(iter(pids))


def growth_after_warmup(
    samples: list[tuple[int, float]], invocations: int
) -> tuple[list[tuple[int, float]], float]:
    warm = [s for s in samples if s[0] > invocations // 10] or samples
    return warm, warm[-1][1] - warm[0][1]


def soak(invocations: int, sample: int, in_process: bool) -> dict[str, Any]:
    """Run the soak; returns RSS samples, the verdict and error counts."""
    events = workload()
    payloads = [(name, json.dumps(event).encode(), expected) for name, event, expected in events]
    samples: list[tuple[int, float]] = []
    errors = 0
    started = time.perf_counter()
    if in_process:
        import handler
        from onnx_lambda.context import LambdaContext

        process = psutil.Process()
        for index in range(invocations):
            name, event, expected = events[index % len(events)]
            answer = handler.lambda_handler(copy.deepcopy(event), LambdaContext())
            if not check(expected, answer):
                errors += 1
                note_error(index, name, answer)
            if index % sample == 0 or index == invocations - 1:
                gc.collect()
                samples.append((index + 1, process.memory_info().rss / 2**20))
        pid = process.pid
    else:
        samples, errors, pid = _through_emulator(payloads, invocations, sample)
    elapsed = time.perf_counter() - started
    warm, growth = growth_after_warmup(samples, invocations)
    baseline = 0.0
    if not in_process:
        # The same runtime with a handler that does nothing, for as many invocations: what the
        # runtime itself (awslambdaric's native client) adds, measured in the same run.
        noop = FunctionConfig(
            name="noop", handler="noop.handler", task_root=ROOT / "bench" / "functions", concurrency=1
        )
        plain = [(name, payload, 200) for name, payload, _ in payloads]
        baseline_samples, _, _ = _through_emulator(plain, invocations, sample, noop)
        baseline = growth_after_warmup(baseline_samples, invocations)[1]
    attributable = growth - baseline
    return {
        "invocations": invocations,
        "mode": "in-process" if in_process else "emulator",
        "pid": pid,
        "errors": errors,
        "first_errors": FIRST_ERRORS,
        "seconds": round(elapsed, 1),
        "rss_start_mb": round(samples[0][1], 1),
        "rss_after_warmup_mb": round(warm[0][1], 1),
        "rss_end_mb": round(samples[-1][1], 1),
        "rss_max_mb": round(max(mb for _, mb in samples), 1),
        "growth_after_warmup_mb": round(growth, 2),
        "baseline_growth_mb": round(baseline, 2),
        "attributable_growth_mb": round(attributable, 2),
        "slope_mb_per_10k": round(slope_mb_per_10k(warm), 3),
        "flat": attributable < FLAT_MB and errors == 0,
        "samples": [(n, round(mb, 2)) for n, mb in samples],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=100_000, help="default 100,000")
    parser.add_argument("--sample", type=int, default=1000, help="read RSS every N invocations")
    parser.add_argument("--in-process", action="store_true", help="call handler.lambda_handler directly")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    figures = soak(args.invocations, args.sample, args.in_process)
    if args.json:
        print(json.dumps({k: v for k, v in figures.items() if k != "samples"}))
    else:
        print(f"soak: {figures['invocations']:,} invocations ({figures['mode']}, one warm instance)")
        print(
            "| invocations | errors | RSS after warm-up | RSS at end | growth | runtime alone (no-op) "
            "| growth due to onnx-lambda | flat |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---|")
        print(
            f"| {figures['invocations']:,} | {figures['errors']} | {figures['rss_after_warmup_mb']} MB | "
            f"{figures['rss_end_mb']} MB | {figures['growth_after_warmup_mb']:+} MB | "
            f"{figures['baseline_growth_mb']:+} MB | {figures['attributable_growth_mb']:+} MB | "
            f"{'yes' if figures['flat'] else 'NO'} |"
        )
        for error in figures["first_errors"]:
            print("error:", error)
        print(
            "RSS samples (invocation: MB):",
            ", ".join(f"{n}: {mb}" for n, mb in figures["samples"][:: max(1, len(figures["samples"]) // 10)]),
        )
    return 0 if figures["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
