"""`onnx-lambda serve`: the same ASGI app the Lambda function runs, under uvicorn."""

from __future__ import annotations

import argparse
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    parser.add_argument("--models", help="model directory or s3:// URI (sets ONNX_LAMBDA_MODELS)")


def main(args: argparse.Namespace) -> int:
    if args.models:
        os.environ["ONNX_LAMBDA_MODELS"] = args.models
    import uvicorn

    from handler.http import app

    uvicorn.run(app, host=args.host, port=args.port, log_level="info", lifespan="off")
    return 0
