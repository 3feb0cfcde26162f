"""Batch throughput and memory: SQS 10 x 100 rows and S3 CSV objects, each in a fresh process.

    python bench/throughput.py [--repeats 5] [--s3-rows 100000] [--rss-rows 10000 100000 300000]

Variants, all on the iris model and all reading and writing through moto's in-process S3:
  onnx-lambda   handler.events.lambda_handler (S3 predictions written to s3://bench-out/)
  floor         hand-written: parse everything, one session run, write JSON Lines
  per-record    the loop people write first: one session run per SQS message or per CSV row
Each (scenario, variant) runs in its own interpreter, which reports rows/s (median of the timed
repeats after one warm-up invocation) and its peak RSS (VmHWM), so memory is per scenario.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MODELS, PYTHON, ROOT, Progress, median, sqs_event

MODEL = "iris"
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
SQS_MESSAGES, SQS_ROWS = 10, 100
PER_ROW_LIMIT = 5000  # the per-row loop scores this many rows and its rate is extrapolated
IN_BUCKET, OUT_BUCKET = "bench-in", "bench-out"


def csv_object(rows: int) -> bytes:
    """A CSV with a header, an id column and the model's four features."""
    import numpy as np

    values = np.random.default_rng(0).random((rows, len(FEATURES))) * 7
    lines = ["id," + ",".join(FEATURES)]
    lines += [f"r{i},{a:.3f},{b:.3f},{c:.3f},{d:.3f}" for i, (a, b, c, d) in enumerate(values.tolist())]
    return ("\n".join(lines) + "\n").encode()


def s3_event(key: str, size: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": IN_BUCKET, "arn": f"arn:aws:s3:::{IN_BUCKET}"},
                    "object": {"key": key, "size": size},
                },
            }
        ]
    }


def sqs_batch() -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    bodies = [
        json.dumps({"instances": (rng.random((SQS_ROWS, len(FEATURES))) * 7).round(3).tolist()})
        for _ in range(SQS_MESSAGES)
    ]
    return sqs_event(bodies, MODEL)


def session() -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(MODELS / f"{MODEL}.onnx"), options, providers=["CPUExecutionProvider"])


def sqs_floor(per_record: bool) -> Any:
    """All messages' rows in one run (or one run per message), predictions returned."""
    import numpy as np

    sess = session()
    names = [output.name for output in sess.get_outputs()]

    def handle(event: dict[str, Any]) -> int:
        tables = [np.asarray(json.loads(r["body"])["instances"], dtype=np.float32) for r in event["Records"]]
        if per_record:
            outputs = [sess.run(names, {"input": table}) for table in tables]
        else:
            stacked = sess.run(names, {"input": np.concatenate(tables)})
            bounds = np.cumsum([len(table) for table in tables])[:-1]
            outputs = list(zip(*(np.split(result, bounds) for result in stacked), strict=True))
        results = [
            {
                "id": record["messageId"],
                "predictions": [
                    dict(zip(names, row, strict=True)) for row in zip(*(o.tolist() for o in out), strict=True)
                ],
            }
            for record, out in zip(event["Records"], outputs, strict=True)
        ]
        return sum(len(result["predictions"]) for result in results)

    return handle


def s3_floor(s3: Any, per_row: bool) -> Any:
    """Read the whole object, parse it with numpy, score (all at once or row by row), write JSON Lines."""
    import numpy as np

    sess = session()
    names = [output.name for output in sess.get_outputs()]

    def handle(event: dict[str, Any]) -> int:
        ref = event["Records"][0]["s3"]
        body = s3.get_object(Bucket=ref["bucket"]["name"], Key=ref["object"]["key"])["Body"].read()
        lines = body.decode().splitlines()[1:]
        if per_row:
            lines = lines[:PER_ROW_LIMIT]
        table = np.array([line.split(",") for line in lines])
        features = table[:, 1:].astype(np.float32)
        if per_row:
            results = [sess.run(names, {"input": features[i : i + 1]}) for i in range(len(features))]
            labels = [int(result[0][0]) for result in results]
            probabilities = [result[1][0].tolist() for result in results]
        else:
            label_array, probability_array = sess.run(names, {"input": features})
            labels, probabilities = label_array.tolist(), probability_array.tolist()
        out = "\n".join(
            json.dumps({"id": row_id, "prediction": {"label": label, "probabilities": probs}})
            for row_id, label, probs in zip(table[:, 0].tolist(), labels, probabilities, strict=True)
        )
        s3.put_object(Bucket=OUT_BUCKET, Key=f"floor/{ref['object']['key']}.jsonl", Body=out.encode())
        return len(lines)

    return handle


def worker(scenario: str, variant: str, rows: int, repeats: int) -> dict[str, Any]:
    """Inside the fresh process: build the event, warm up once, time `repeats` invocations."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        ONNX_LAMBDA_MODEL_NAMES=MODEL,
        ONNX_LAMBDA_DESTINATION=f"s3://{OUT_BUCKET}/predictions" if scenario == "s3" else "return",
    )
    mock = None
    if scenario == "s3":
        import boto3
        from moto import mock_aws

        mock = mock_aws()
        mock.start()
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in (IN_BUCKET, OUT_BUCKET):
            s3.create_bucket(Bucket=bucket)
        key = f"batches/{rows}.csv"
        data = csv_object(rows)
        s3.put_object(Bucket=IN_BUCKET, Key=key, Body=data)
        event = s3_event(key, len(data))
        del data
    else:
        event = sqs_batch()
    if variant == "onnx-lambda":
        from handler.events import lambda_handler

        def handle(event: dict[str, Any]) -> int:
            response = lambda_handler(event, None)
            if isinstance(response, dict) and response.get("batchItemFailures"):
                raise SystemExit(f"records failed: {response}")
            return SQS_MESSAGES * SQS_ROWS if scenario == "sqs" else rows

    elif scenario == "sqs":
        handle = sqs_floor(per_record=variant == "per-record")
    else:
        handle = s3_floor(s3, per_row=variant == "per-record")
    handle(event)  # warm-up: first-use imports and clients
    seconds = []
    scored = 0
    for _ in range(repeats):
        started = time.perf_counter()
        scored = handle(event)
        seconds.append(time.perf_counter() - started)
    if mock is not None:
        mock.stop()
    with open("/proc/self/status") as status:
        hwm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    duration = median(seconds)
    return {
        "scenario": scenario,
        "variant": variant,
        "rows": rows,
        "rows_scored": scored,
        "invoke_ms": duration * 1000,
        "rows_per_s": scored / duration,
        "max_rss_mb": hwm_kb / 1024,
    }


def spawn(scenario: str, variant: str, rows: int, repeats: int) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, str(Path(__file__)), "--worker", scenario, variant, str(rows), str(repeats)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"throughput {scenario}/{variant} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


def run(repeats: int, s3_rows: int, rss_rows: list[int]) -> dict[str, Any]:
    """Throughput of every variant, and peak RSS of onnx-lambda and the floor by object size."""
    jobs = [
        ("sqs", variant, SQS_MESSAGES * SQS_ROWS, repeats * 4)
        for variant in ("onnx-lambda", "floor", "per-record")
    ]
    jobs += [("s3", variant, s3_rows, repeats) for variant in ("onnx-lambda", "floor", "per-record")]
    jobs += [
        ("s3", variant, rows, 1)
        for rows in rss_rows
        if rows != s3_rows
        for variant in ("onnx-lambda", "floor")
    ]
    progress = Progress("throughput and memory", len(jobs))
    results = []
    for scenario, variant, rows, count in jobs:
        results.append(spawn(scenario, variant, rows, count))
        progress.step(f"{scenario} {variant} {rows} rows")
    return {"results": results}


def table(result: dict[str, Any]) -> str:
    lines = [
        "| scenario | rows | variant | ms/invoke | rows/s | ÷ floor | max RSS MB |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    floors = {
        (r["scenario"], r["rows"]): r["rows_per_s"] for r in result["results"] if r["variant"] == "floor"
    }
    for row in result["results"]:
        lines.append(
            f"| {row['scenario']} | {row['rows']} | {row['variant']} | {row['invoke_ms']:.1f} | "
            f"{row['rows_per_s']:,.0f} | {row['rows_per_s'] / floors[(row['scenario'], row['rows'])]:.2f} | "
            f"{row['max_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worker", nargs=4, metavar=("SCENARIO", "VARIANT", "ROWS", "REPEATS"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--s3-rows", type=int, default=100_000)
    parser.add_argument("--rss-rows", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    args = parser.parse_args()
    if args.worker:
        scenario, variant, rows, repeats = args.worker
        print("RESULT " + json.dumps(worker(scenario, variant, int(rows), int(repeats))), flush=True)
        return 0
    print(table(run(args.repeats, args.s3_rows, args.rss_rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
