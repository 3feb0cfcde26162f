"""What the benchmark modules share: the repo's paths, events to send, statistics and progress."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
EVENTS = ROOT / "events"
PYTHON = sys.executable

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile by nearest rank (values need not be sorted)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def load_event(name: str) -> dict[str, Any]:
    """One of the AWS-shaped fixtures in events/, by file name without .json."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def http_event(
    path: str,
    body: bytes | str,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) POST event; binary bodies travel base64-encoded."""
    import base64

    binary = isinstance(body, bytes)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": content_type,
            "host": "abc.execute-api.us-east-1.amazonaws.com",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc",
            "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "bench",
            },
            "requestId": "bench",
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": base64.b64encode(body).decode() if binary else body,
        "isBase64Encoded": binary,
    }


def sqs_event(bodies: Sequence[str], model: str | None = None) -> dict[str, Any]:
    """An SQS event source mapping batch carrying `bodies`, one message each, naming `model`."""
    attributes = {"model": {"stringValue": model, "dataType": "String"}} if model else {}
    return {
        "Records": [
            {
                "messageId": f"00000000-0000-4000-8000-{number:012d}",
                "receiptHandle": f"bench-{number}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1733300000000"},
                "messageAttributes": attributes,
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:scoring-queue",
                "awsRegion": "us-east-1",
            }
            for number, body in enumerate(bodies)
        ]
    }


class Progress:
    """One line per step on stderr, with the elapsed time, so a long run shows it is alive."""

    def __init__(self, section: str, total: int) -> None:
        self.section = section
        self.total = total
        self.done = 0
        self.started = time.perf_counter()

    def step(self, what: str = "") -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.started
        print(
            f"  [{self.section}] {self.done}/{self.total} {what} ({elapsed:.0f}s)",
            file=sys.stderr,
            flush=True,
        )


def model_inputs(model: str) -> list[tuple[str, list[int]]]:
    """Each input of a bundled model: its name and shape, dynamic dimensions as -1."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(MODELS / f"{model}.onnx"), providers=["CPUExecutionProvider"])
    return [
        (arg.name, [dim if isinstance(dim, int) and dim >= 0 else -1 for dim in arg.shape])
        for arg in session.get_inputs()
    ]


def random_rows(model: str, rows: int, seed: int = 0) -> tuple[str, Any]:
    """`rows` random rows (3 decimals, float64) for a single-input bundled model: (input name, array)."""
    import numpy as np

    (name, shape), *_ = model_inputs(model)
    rng = np.random.default_rng(seed)
    return name, rng.random([rows, *shape[1:]]).round(3)


def infer_request(model: str, rows: int, seed: int = 0) -> dict[str, Any]:
    """An Open Inference Protocol v2 JSON infer request with `rows` random rows."""
    name, array = random_rows(model, rows, seed)
    return {
        "id": "bench",
        "inputs": [
            {"name": name, "shape": list(array.shape), "datatype": "FP32", "data": array.ravel().tolist()}
        ],
    }
