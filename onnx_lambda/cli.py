"""The `onnx-lambda` command: one subcommand per task, each imported only when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# name -> (module with add_arguments(parser) and main(args) -> int, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("onnx_lambda.serve", "serve the ASGI app under uvicorn"),
    "invoke": ("onnx_lambda.invoke", "run one event through handler.lambda_handler"),
    "run": ("onnx_lambda.run", "emulate Lambda locally: API Gateway, Invoke API, SQS mapping (no Docker)"),
    "bench": ("onnx_lambda.bench", "cold start, latency, throughput, memory and cost, with plots"),
    "package": ("onnx_lambda.package", "build the Lambda layers, function zip and size report"),
    "reliability": (
        "onnx_lambda.reliability",
        "bad-input catalogue, fuzzing, faults, load and soak: the README's Reliability table",
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand."""
    parser = argparse.ArgumentParser(prog="onnx-lambda", description="Serve ONNX models from AWS Lambda.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = next((arg for arg in args_list if not arg.startswith("-")), None)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
            sub.set_defaults(run=module.main)
    args = parser.parse_args(args_list)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
