"""`onnx-lambda run`: emulate the function locally, as Lambda runs it, without Docker.

Starts the API Gateway front door (HTTP API payload 2.0, or REST API 1.0 with `--rest`) and the
Lambda Invoke API, each execution environment a real `awslambdaric` process; with `--sqs-queue`
also moto's server and an SQS event source mapping. Prints how to call it and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from onnx_lambda.emulator.config import REPO_ROOT, FunctionConfig
from onnx_lambda.emulator.logs import print_sink
from onnx_lambda.emulator.server import FAILED_EVENTS, Emulator, EmulatorConfig
from onnx_lambda.emulator.sqs_mapping import SqsMappingConfig

IRIS_INFER = '{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}'


def add_function_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that describe the function itself: code, memory, timeout, environment."""
    group = parser.add_argument_group("function")
    group.add_argument(
        "--function-name", default="onnx-lambda", help="AWS_LAMBDA_FUNCTION_NAME (default onnx-lambda)"
    )
    group.add_argument("--handler", default="handler.lambda_handler", help="_HANDLER, module.function")
    group.add_argument(
        "--task-root", type=Path, default=REPO_ROOT, help="directory holding the handler's code"
    )
    group.add_argument("--models", help="model directory or s3:// URI (sets ONNX_LAMBDA_MODELS)")
    group.add_argument("--memory", type=int, default=1024, help="memory size in MB, enforced (default 1024)")
    group.add_argument(
        "--timeout", type=float, default=30.0, help="timeout in seconds, enforced (default 30)"
    )
    group.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="extra environment variable"
    )


def function_config(args: argparse.Namespace, **overrides: Any) -> FunctionConfig:
    """A `FunctionConfig` from the function options."""
    environment = {}
    for entry in args.env:
        key, sep, value = entry.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env expects KEY=VALUE, got {entry!r}")
        environment[key] = value
    if args.models:
        environment["ONNX_LAMBDA_MODELS"] = args.models
    return FunctionConfig(
        name=args.function_name,
        handler=args.handler,
        task_root=args.task_root.resolve(),
        memory_mb=args.memory,
        timeout_s=args.timeout,
        environment=environment,
        **overrides,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--http-port", type=int, default=8080, help="API Gateway front door port (default 8080)"
    )
    parser.add_argument("--invoke-port", type=int, default=3001, help="Lambda Invoke API port (default 3001)")
    parser.add_argument(
        "--rest", action="store_true", help="send REST API (payload 1.0) events instead of 2.0"
    )
    parser.add_argument("--stage", default="$default", help="API Gateway stage name (default $default)")
    add_function_arguments(parser)
    pool = parser.add_argument_group("execution environments")
    pool.add_argument(
        "--concurrency", type=int, default=10, help="most instances at once; more → 429 (default 10)"
    )
    pool.add_argument(
        "--idle-timeout", type=float, default=600.0, help="seconds before an idle instance stops"
    )
    pool.add_argument(
        "--failed-events",
        type=Path,
        default=FAILED_EVENTS,
        help="JSON Lines file for Event invocations that failed 3 times",
    )
    sqs = parser.add_argument_group("SQS event source mapping")
    sqs.add_argument(
        "--sqs-queue", help="poll this queue (created with a DLQ on the moto server unless --sqs-endpoint)"
    )
    sqs.add_argument(
        "--sqs-endpoint", help="SQS endpoint of an existing queue (default: start moto's server)"
    )
    sqs.add_argument("--moto", action="store_true", help="start moto's server (implied by --sqs-queue)")
    sqs.add_argument("--moto-port", type=int, default=5000, help="moto server port (default 5000)")
    sqs.add_argument("--batch-size", type=int, default=10, help="records per invocation (default 10)")
    sqs.add_argument(
        "--batching-window", type=float, default=0.0, help="seconds to gather a batch (default 0)"
    )
    sqs.add_argument("--max-receive-count", type=int, default=3, help="receives before the DLQ (default 3)")
    sqs.add_argument("--visibility-timeout", type=int, default=30, help="queue visibility timeout, seconds")


def main(args: argparse.Namespace) -> int:
    moto = None
    endpoint = args.sqs_endpoint
    overrides: dict[str, Any] = {"concurrency": args.concurrency, "idle_timeout_s": args.idle_timeout}
    mappings: tuple[SqsMappingConfig, ...] = ()
    if (args.moto or args.sqs_queue) and not endpoint:
        from moto.server import ThreadedMotoServer  # a second's import: only when asked

        if not _port_free(args.host, args.moto_port):
            # ThreadedMotoServer would wait forever for a server that failed to bind.
            print(f"port {args.moto_port} is in use: choose another with --moto-port", file=sys.stderr)
            return 1

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per moto request drowns the logs
        moto = ThreadedMotoServer(ip_address=args.host, port=args.moto_port, verbose=False)
        moto.start()
        endpoint = f"http://{args.host}:{args.moto_port}"
    config = function_config(args, **overrides)
    if moto is not None:
        # Instances talk to moto too (destinations, model downloads), with the same dummy credentials.
        environment = {"AWS_ENDPOINT_URL": endpoint, **config.environment}
        config = dataclasses.replace(config, environment=environment)
    queue = None
    if args.sqs_queue:
        try:
            queue = _queue(
                endpoint,
                config.region,
                args.sqs_queue,
                args.max_receive_count,
                args.visibility_timeout,
                create=moto is not None,
            )
        except (BotoCoreError, ClientError) as exc:
            print(f"cannot use the SQS queue {args.sqs_queue!r} at {endpoint}: {exc}", file=sys.stderr)
            if moto is not None:
                moto.stop()
            return 1
        mappings = (
            SqsMappingConfig(
                queue["url"], endpoint, args.batch_size, args.batching_window, region=config.region
            ),
        )
    emulator = Emulator(
        EmulatorConfig(
            function=config,
            host=args.host,
            http_port=args.http_port,
            invoke_port=args.invoke_port,
            payload_version="1.0" if args.rest else "2.0",
            stage=args.stage,
            failed_events=args.failed_events,
            sqs=mappings,
        ),
        print_sink,
    )
    try:
        asyncio.run(_serve(emulator, args, endpoint, queue))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"cannot open the emulator's ports: {exc} (see --http-port, --invoke-port)", file=sys.stderr)
        return 1
    finally:
        if moto is not None:
            moto.stop()
    return 0


async def _serve(emulator: Emulator, args: argparse.Namespace, endpoint: str | None, queue: Any) -> None:
    await emulator.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    print(banner(emulator, args, endpoint, queue), flush=True)
    try:
        await stop.wait()
    finally:
        print("\nstopping: closing the doors and the execution environments", flush=True)
        await emulator.close()


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _queue(
    endpoint: str | None, region: str, name: str, max_receives: int, visibility: int, create: bool
) -> dict[str, str]:
    """The queue's URL (created with its dead-letter queue when `create`), in the function's region."""
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
    )
    if not create:
        return {"url": sqs.get_queue_url(QueueName=name)["QueueUrl"], "dlq": ""}
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)})
    url = sqs.create_queue(
        QueueName=name, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": str(visibility)}
    )["QueueUrl"]
    return {"url": url, "dlq": dlq_url}


def banner(emulator: Emulator, args: argparse.Namespace, endpoint: str | None, queue: Any) -> str:
    """What is running and how to call it, with copy-paste commands."""
    config = emulator.config.function
    http, invoke = emulator.http_url, emulator.invoke_url
    payload = "REST API (payload 1.0)" if args.rest else "HTTP API (payload 2.0)"
    stage = "" if args.stage == "$default" or args.rest else f"/{args.stage}"
    lines = [
        f"onnx-lambda emulator: function {config.name} ({config.handler}, {config.memory_mb} MB, "
        f"{config.timeout_s:g} s timeout, concurrency {config.concurrency}), no Docker",
        f"  API Gateway {payload}, stage {emulator.config.stage}: {http}{stage}",
        f"  Lambda Invoke API: {invoke}   (failed Event invocations: {invoke}/_emulator/failed-events"
        f" and {args.failed_events})",
    ]
    if endpoint:
        lines.append(
            f"  moto server: {endpoint}" if args.sqs_endpoint is None else f"  SQS endpoint: {endpoint}"
        )
    if queue:
        lines.append(
            f"  SQS mapping: {queue['url']} → {config.name} (batch {args.batch_size}, window "
            f"{args.batching_window:g} s)"
            + (f", DLQ {queue['dlq']} after {args.max_receive_count} receives" if queue["dlq"] else "")
        )
    event = os.path.relpath(REPO_ROOT / "events" / "http-api-v2-infer.json")
    lines += [
        "",
        "Call it:",
        f"  curl -s {http}{stage}/v2/models/iris/infer -H 'content-type: application/json' \\",
        f"       -d '{IRIS_INFER}'",
        f"  aws lambda invoke --endpoint-url {invoke} --function-name {config.name} \\",
        f"       --payload fileb://{event} response.json",
        "  python -c \"import boto3; lam = boto3.client('lambda', endpoint_url='" + invoke + "', "
        "region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x'); "
        f"print(lam.invoke(FunctionName='{config.name}', Payload=open('{event}','rb'))['Payload'].read())\"",
    ]
    if queue:
        body = '{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}'
        lines += [
            f"  aws sqs send-message --endpoint-url {endpoint} --queue-url {queue['url']} \\",
            f"       --message-body '{body}'",
        ]
    lines += ["", "Logs (START/END/REPORT per invocation) follow. Ctrl-C to stop.", ""]
    return "\n".join(lines)
