"""`onnx-lambda serve`: the same ASGI app the Lambda function runs, under uvicorn."""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    parser.add_argument("--models", help="model directory or s3:// URI (sets ONNX_LAMBDA_MODELS)")


def main(args: argparse.Namespace) -> int:
    if args.models:
        os.environ["ONNX_LAMBDA_MODELS"] = args.models
    import uvicorn

    try:
        from handler.http import app  # the function's init: settings read, models loaded
    except Exception as exc:
        print(f"onnx-lambda serve: the function cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", lifespan="off")
    return 0
