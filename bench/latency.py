"""Warm latency per entry path, rows and model, against hand-written floors and the tutorial app.

    python bench/latency.py [--models iris cnn] [--rows 1 64] [--rounds 5] [--json out.json]

Entry paths: v2 infer (JSON), v2 infer (binary tensor extension), v1 predict, and one SQS record.
Every handler is called in-process the way Lambda calls a warm one. Per path, the variants are:
  onnx-lambda   handler.lambda_handler, the universal entry
  handwritten   json + numpy + onnxruntime written for exactly that request shape: the floor
  bare-asgi     Mangum over a bare ASGI callable doing the floor's work (v2 JSON only)
  tutorial      FastAPI with pydantic models and Mangum's defaults (v2 JSON only)
Rounds interleave the variants; each gets about the same wall time per round, so slow cases make
fewer calls. Percentiles are over every call of every round.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Progress, http_event, percentile, random_rows, sqs_event
from bench.http_latency import bare_asgi, handwritten, tutorial

Handler = Callable[[dict[str, Any], Any], Any]
PATHS = ("v2-json", "v2-binary", "v1-predict", "sqs-1-record")
KEEP_SAMPLES = 400  # latencies kept per variant for the distribution plots


def handwritten_binary(session: Any) -> Handler:
    """The floor for binary tensor data: split the header, frombuffer, run, raw bytes back."""
    names = [output.name for output in session.get_outputs()]

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        body = base64.b64decode(event["body"])
        length = int(event["headers"]["inference-header-content-length"])
        request = json.loads(body[:length])
        tensor = request["inputs"][0]
        array = np.frombuffer(body[length:], dtype=np.float32).reshape(tensor["shape"])
        results = session.run(names, {tensor["name"]: array})
        header = json.dumps(
            {
                "outputs": [
                    {"name": name, "shape": list(r.shape), "parameters": {"binary_data_size": r.nbytes}}
                    for name, r in zip(names, results, strict=True)
                ]
            }
        ).encode()
        return {
            "statusCode": 200,
            "headers": {
                "content-type": "application/octet-stream",
                "inference-header-content-length": str(len(header)),
            },
            "body": base64.b64encode(header + b"".join(r.tobytes() for r in results)).decode(),
            "isBase64Encoded": True,
        }

    return lambda_handler


def handwritten_predict(session: Any) -> Handler:
    """The floor for v1 predict: instances in, one object per row out."""
    input_name = session.get_inputs()[0].name
    names = [output.name for output in session.get_outputs()]

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        instances = json.loads(event["body"])["instances"]
        results = session.run(names, {input_name: np.asarray(instances, dtype=np.float32)})
        rows = zip(*(result.tolist() for result in results), strict=True)
        predictions = [dict(zip(names, row, strict=True)) for row in rows]
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps({"predictions": predictions}),
        }

    return lambda_handler


def handwritten_sqs(session: Any) -> Handler:
    """The floor for SQS: each message's infer request run and its outputs returned."""
    names = [output.name for output in session.get_outputs()]

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        results = []
        for record in event["Records"]:
            request = json.loads(record["body"])
            tensor = request["inputs"][0]
            array = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
            outputs = session.run(names, {tensor["name"]: array})
            results.append(
                {
                    "id": request.get("id"),
                    "outputs": [
                        {"name": name, "shape": list(r.shape), "data": r.ravel().tolist()}
                        for name, r in zip(names, outputs, strict=True)
                    ],
                }
            )
        return {"batchItemFailures": [], "results": results}

    return lambda_handler


def events_for(model: str, rows: int) -> dict[str, dict[str, Any]]:
    """One event per entry path carrying the same `rows` random rows."""
    name, array = random_rows(model, rows)
    data = array.ravel().tolist()
    request = {
        "id": "bench",
        "inputs": [{"name": name, "shape": list(array.shape), "datatype": "FP32", "data": data}],
    }
    header = json.dumps(
        {
            "id": "bench",
            "inputs": [
                {
                    "name": name,
                    "shape": list(array.shape),
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": array.size * 4},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    binary = header + array.astype(np.float32).tobytes()
    return {
        "v2-json": http_event(f"/v2/models/{model}/infer", json.dumps(request)),
        "v2-binary": http_event(
            f"/v2/models/{model}/infer",
            binary,
            "application/octet-stream",
            {"inference-header-content-length": str(len(header))},
        ),
        "v1-predict": http_event(f"/v1/models/{model}:predict", json.dumps({"instances": array.tolist()})),
        "sqs-1-record": sqs_event([json.dumps(request)], model),
    }


def variants_for(path: str, session: Any, ours: Handler) -> dict[str, Handler]:
    if path == "v2-json":
        return {
            "onnx-lambda": ours,
            "handwritten": handwritten(session),
            "bare-asgi": bare_asgi(session),
            "tutorial": tutorial(session),
        }
    by_path = {
        "v2-binary": handwritten_binary,
        "v1-predict": handwritten_predict,
        "sqs-1-record": handwritten_sqs,
    }
    return {"onnx-lambda": ours, "handwritten": by_path[path](session)}


def check(response: Any) -> None:
    if "statusCode" in response:
        if response["statusCode"] != 200:
            raise SystemExit(f"benchmark request failed: {str(response)[:500]}")
    elif response.get("batchItemFailures"):
        raise SystemExit(f"benchmark record failed: {str(response)[:500]}")


def timed(handler: Handler, event: dict[str, Any], calls: int, cpu: list[float] | None = None) -> list[float]:
    """Microseconds per call of `calls` warm invocations; each call's CPU time goes to `cpu`.

    CPU time (every thread of the process, ONNX Runtime's included) leaves out the time the call
    spent preempted, which on a shared machine is what makes wall-clock tails and medians wander.
    """
    latencies = []
    response = None
    for _ in range(calls):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = handler(event, None)
        ended, ended_cpu = time.perf_counter(), time.process_time()
        latencies.append((ended - started) * 1e6)
        if cpu is not None:
            cpu.append((ended_cpu - started_cpu) * 1e6)
    check(response)
    return latencies


def calibrate(handler: Handler, event: dict[str, Any], budget: float) -> float:
    """The fastest of up to ten warm calls (seconds), after a first call that pays lazy setup."""
    timed(handler, event, 1)  # the universal entry imports the HTTP app on its first HTTP event
    fastest, spent = float("inf"), 0.0
    for _ in range(10):
        seconds = timed(handler, event, 1)[0] / 1e6
        fastest, spent = min(fastest, seconds), spent + seconds
        if spent > budget:
            break
    return fastest


def run(
    models: list[str],
    rows_list: list[int],
    rounds: int,
    budget: float,
    max_calls: int,
    paths: tuple[str, ...] = PATHS,
) -> dict[str, Any]:
    """Every (model, rows, path, variant) case: p50/p90/p99 and a sample of latencies."""
    # 64 cnn images are 5.4 MB of JSON: over the default body limit, under Lambda's 6 MB payload.
    os.environ.setdefault("ONNX_LAMBDA_MAX_BODY_BYTES", str(6 * 1024 * 1024))
    os.environ.setdefault("ONNX_LAMBDA_MODEL_NAMES", ",".join(models))
    import handler
    from handler.environment import STORE

    cases: list[tuple[str, int, str, str, Handler, dict[str, Any]]] = []
    for model in models:
        session = STORE.get(model).session
        for rows in rows_list:
            events = events_for(model, rows)
            for path in paths:
                ours = variants_for(path, session, handler.lambda_handler)
                for variant, function in ours.items():
                    cases.append((model, rows, path, variant, function, events[path]))
    calls: dict[int, int] = {}
    for index, (_m, _r, _p, _v, function, event) in enumerate(cases):
        # A case slower than the budget makes one call per round: 64 cnn images take about a second.
        calls[index] = max(1, min(max_calls, int(budget / calibrate(function, event, budget))))
    samples: dict[int, list[float]] = {index: [] for index in range(len(cases))}
    cpu: dict[int, list[float]] = {index: [] for index in range(len(cases))}
    progress = Progress("warm latency", rounds)
    for _ in range(rounds):
        for index, (_m, _r, _p, _v, function, event) in enumerate(cases):
            samples[index] += timed(function, event, calls[index], cpu[index])
        progress.step()
    results = []
    for index, (model, rows, path, variant, _f, _e) in enumerate(cases):
        values = samples[index]
        step = max(1, len(values) // KEEP_SAMPLES)
        results.append(
            {
                "model": model,
                "rows": rows,
                "path": path,
                "variant": variant,
                "calls": len(values),
                "p50_us": percentile(values, 0.50),
                "p90_us": percentile(values, 0.90),
                "p99_us": percentile(values, 0.99),
                "cpu_p50_us": percentile(cpu[index], 0.50),
                "samples_us": sorted(values)[::step],
            }
        )
    return {"rounds": rounds, "cases": results}


def table(cases: list[dict[str, Any]]) -> str:
    """One row per case, its p50 beside the hand-written floor's for the same model, rows and path."""
    lines = [
        "| model | rows | path | variant | p50 µs | p90 µs | p99 µs | CPU p50 µs | p50 ÷ hand-written |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    floors = {(c["model"], c["rows"], c["path"]): c["p50_us"] for c in cases if c["variant"] == "handwritten"}
    for c in cases:
        ratio = c["p50_us"] / floors[(c["model"], c["rows"], c["path"])]
        lines.append(
            f"| {c['model']} | {c['rows']} | {c['path']} | {c['variant']} | {c['p50_us']:,.0f} | "
            f"{c['p90_us']:,.0f} | {c['p99_us']:,.0f} | {c['cpu_p50_us']:,.0f} | {ratio:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=["iris", "cnn"])
    parser.add_argument("--rows", nargs="+", type=int, default=[1, 64])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=0.1, help="seconds per variant per round")
    parser.add_argument("--max-calls", type=int, default=2000)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    result = run(args.models, args.rows, args.rounds, args.budget, args.max_calls, tuple(args.paths))
    print(table(result["cases"]))
    if args.json:
        args.json.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
