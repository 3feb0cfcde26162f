"""Warm per-invocation latency of the HTTP entry point against three baselines, in one run.

    python bench/http_latency.py [--rounds 7] [--calls 2000] [--rows 1] [--model iris]

Every variant answers the same API Gateway HTTP API (payload 2.0) event carrying an Open Inference
Protocol infer request, and is called in-process the way Lambda calls a warm handler:
  handwritten  json + numpy + onnxruntime, no framework: the floor
  bare-asgi    Mangum over a bare ASGI callable doing the same work
  tutorial     FastAPI the way tutorials write it: sync endpoint, pydantic body model, Mangum defaults
  onnx-lambda  handler.lambda_handler (the universal entry)
Rounds interleave the variants so that machine noise hits all of them alike; the table reports the
median over rounds of each round's p50 and p99.
"""

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import http_event, percentile
from bench.tutorial_app import tutorial

Handler = Callable[[dict[str, Any], Any], Any]


def infer_event(model: str, input_name: str, rows: list[list[float]]) -> dict[str, Any]:
    """An API Gateway HTTP API event with an OIP infer request for `rows`."""
    body = {
        "id": "bench",
        "inputs": [
            {"name": input_name, "shape": [len(rows), len(rows[0])], "datatype": "FP32", "data": rows}
        ],
    }
    return http_event(f"/v2/models/{model}/infer", json.dumps(body))


def handwritten(session: Any) -> Handler:
    """The floor: parse, run, serialise; nothing checked."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request = json.loads(event["body"])
        tensor = request["inputs"][0]
        array = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
        names = [output.name for output in session.get_outputs()]
        results = session.run(names, {tensor["name"]: array})
        outputs = [
            {"name": name, "shape": list(result.shape), "data": result.ravel().tolist()}
            for name, result in zip(names, results, strict=True)
        ]
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps({"id": request.get("id"), "outputs": outputs}),
        }

    return lambda_handler


def bare_asgi(session: Any) -> Handler:
    """Mangum over an ASGI callable doing the hand-written handler's work."""
    from mangum import Mangum

    names = [output.name for output in session.get_outputs()]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        request = json.loads(message["body"])
        tensor = request["inputs"][0]
        array = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
        results = session.run(names, {tensor["name"]: array})
        outputs = [
            {"name": name, "shape": list(result.shape), "data": result.ravel().tolist()}
            for name, result in zip(names, results, strict=True)
        ]
        body = json.dumps({"id": request.get("id"), "outputs": outputs}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return Mangum(app, lifespan="off")  # type: ignore[no-any-return]


def measure(handler: Handler, event: dict[str, Any], calls: int) -> list[float]:
    """Per-call latencies in microseconds of `calls` warm invocations."""
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        response = handler(event, None)
        latencies.append((time.perf_counter() - started) * 1e6)
    if response["statusCode"] != 200:
        raise SystemExit(f"benchmark request failed: {response}")
    return latencies


def run(rounds: int, calls: int, rows: int, model_name: str) -> dict[str, dict[str, float]]:
    import handler
    from handler.environment import STORE

    model = STORE.get(model_name)
    spec = model.inputs[0]
    width = spec.shape[1]
    rng = np.random.default_rng(0)
    event = infer_event(model.name, spec.name, rng.random((rows, width)).round(3).tolist())
    variants: dict[str, Handler] = {
        "handwritten": handwritten(model.session),
        "bare-asgi": bare_asgi(model.session),
        "tutorial": tutorial(model.session),
        "onnx-lambda": handler.lambda_handler,
    }
    for variant in variants.values():
        measure(variant, event, 200)  # warm
    p50s: dict[str, list[float]] = {name: [] for name in variants}
    p99s: dict[str, list[float]] = {name: [] for name in variants}
    for number in range(rounds):
        for name, variant in variants.items():
            latencies = measure(variant, event, calls)
            p50s[name].append(percentile(latencies, 0.50))
            p99s[name].append(percentile(latencies, 0.99))
        print(f"  round {number + 1}/{rounds} done", file=sys.stderr)
    return {
        name: {"p50_us": statistics.median(p50s[name]), "p99_us": statistics.median(p99s[name])}
        for name in variants
    }


def table(results: dict[str, dict[str, float]]) -> str:
    ours = results["onnx-lambda"]["p50_us"]
    lines = ["| variant | p50 µs | p99 µs | onnx-lambda p50 ÷ variant p50 |", "|---|---:|---:|---:|"]
    for name, row in results.items():
        lines.append(f"| {name} | {row['p50_us']:.1f} | {row['p99_us']:.1f} | {ours / row['p50_us']:.2f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=1)
    parser.add_argument("--model", default="iris")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = run(args.rounds, args.calls, args.rows, args.model)
    print(table(results))
    bare = results["bare-asgi"]["p50_us"]
    ours = results["onnx-lambda"]["p50_us"]
    tutorial_p50 = results["tutorial"]["p50_us"]
    print(f"\nonnx-lambda / bare-asgi = {ours / bare:.2f} (target <= 1.5)")
    print(f"tutorial / onnx-lambda = {tutorial_p50 / ours:.2f} (target >= 5)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
