"""`onnx-lambda invoke EVENT.json`: one event through `handler.lambda_handler`.

By default in this process; with `--cold`, in a fresh execution environment of the emulator (its own
`awslambdaric` process, a true cold start), printing the response, the logs and the REPORT line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
from pathlib import Path

from onnx_lambda.context import LambdaContext
from onnx_lambda.emulator.logs import Report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event", type=Path, help="an event JSON file, e.g. events/http-api-v2-infer.json")
    parser.add_argument("--memory", type=int, default=1024, help="memory size in MB for the context")
    parser.add_argument("--timeout", type=float, default=30.0, help="timeout in seconds for the context")
    parser.add_argument(
        "--cold", action="store_true", help="run in a fresh emulated execution environment (own process)"
    )
    parser.add_argument("--handler", default="handler.lambda_handler", help="_HANDLER for --cold")


def report_line(request_id: str, duration_ms: float, memory_mb: int, init_ms: float | None) -> str:
    """Lambda's REPORT line for an invocation in this process (its peak RSS as Max Memory Used)."""
    used_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return Report(request_id, duration_ms, memory_mb, used_mb, init_ms).line()


def invoke_cold(args: argparse.Namespace, payload: bytes) -> int:
    """Run the event in a fresh emulated execution environment; print response, logs and REPORT."""
    from onnx_lambda.emulator.config import FunctionConfig
    from onnx_lambda.emulator.pool import Function, Invocation  # processes and psutil: --cold only

    config = FunctionConfig(
        handler=args.handler, memory_mb=args.memory, timeout_s=args.timeout, concurrency=1
    )

    async def once() -> Invocation:
        function = Function(config)
        try:
            return await function.invoke(payload)
        finally:
            await function.close()

    invocation = asyncio.run(once())
    try:
        response: object = invocation.json()
    except ValueError:
        response = invocation.payload.decode(errors="replace")
    print(json.dumps(response, indent=2))
    for line in invocation.logs:
        print(line.replace("\r", "\n"), file=sys.stderr)
    return 1 if invocation.error_type else 0


def main(args: argparse.Namespace) -> int:
    try:
        event = json.loads(args.event.read_text())
    except (OSError, ValueError) as exc:
        print(f"cannot read event {args.event}: {exc}", file=sys.stderr)
        return 2
    if args.cold:
        return invoke_cold(args, json.dumps(event).encode())
    # As on Lambda, what the function writes to stdout (its log lines, its metrics record) is log
    # output: it goes to stderr with START/END/REPORT, leaving stdout to the response.
    logs = contextlib.redirect_stdout(sys.stderr)
    started = time.perf_counter()
    try:
        with logs:
            import handler  # the import is the init phase being measured
    except Exception as exc:  # an init error: Lambda answers with it, and so do we, without a traceback
        print(json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}, indent=2))
        return 1
    init_ms = (time.perf_counter() - started) * 1000
    context = LambdaContext(memory_limit_in_mb=args.memory, timeout_seconds=args.timeout)
    print(f"START RequestId: {context.aws_request_id} Version: $LATEST", file=sys.stderr)
    started = time.perf_counter()
    try:
        with logs:
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
