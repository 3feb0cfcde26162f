"""`onnx-lambda invoke EVENT.json`: one event through `handler.lambda_handler`, in this process."""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path

from onnx_lambda.context import LambdaContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event", type=Path, help="an event JSON file, e.g. events/http-api-v2-infer.json")
    parser.add_argument("--memory", type=int, default=1024, help="memory size in MB for the context")
    parser.add_argument("--timeout", type=float, default=30.0, help="timeout in seconds for the context")


def report_line(request_id: str, duration_ms: float, memory_mb: int, init_ms: float | None) -> str:
    """Lambda's REPORT line: durations in ms, billed duration rounded up to the millisecond."""
    used_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory_mb} MB\t"
        f"Max Memory Used: {used_mb} MB"
    )
    if init_ms is not None:
        line += f"\tInit Duration: {init_ms:.2f} ms"
    return line


def main(args: argparse.Namespace) -> int:
    try:
        event = json.loads(args.event.read_text())
    except (OSError, ValueError) as exc:
        print(f"cannot read event {args.event}: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    import handler

    init_ms = (time.perf_counter() - started) * 1000
    context = LambdaContext(memory_limit_in_mb=args.memory, timeout_seconds=args.timeout)
    print(f"START RequestId: {context.aws_request_id} Version: $LATEST", file=sys.stderr)
    started = time.perf_counter()
    try:
        response = handler.lambda_handler(event, context)
        failed = False
    except Exception as exc:
        response = {"errorMessage": str(exc), "errorType": type(exc).__name__}
        failed = True
    duration_ms = (time.perf_counter() - started) * 1000
    print(json.dumps(response, indent=2))
    print(f"END RequestId: {context.aws_request_id}", file=sys.stderr)
    print(report_line(context.aws_request_id, duration_ms, args.memory, init_ms), file=sys.stderr)
    return 1 if failed else 0
