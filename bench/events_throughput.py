"""Event scoring against hand-written baselines, in one run: throughput, memory and cold start.

    python bench/events_throughput.py [--repeats 5] [--csv-rows 100000] [--cold-runs 7]

Throughput (moto in-process, iris model, each scenario in a fresh interpreter, variants interleaved;
the median and the best round are both shown, the best being the one least disturbed by other load):
  onnx-lambda  handler.events.handle: SQS predictions returned; S3 predictions streamed to s3://
  floor        hand-written: the same rows parsed, scored in ONE session.run, and the same
               predictions produced (SQS: returned; S3: one JSON Lines put_object)
  per-record   the same, but one session.run per row, the loop people write first
Memory: the S3 CSV scored at 1x and 10x the rows, each in a fresh interpreter, against a moto
server in another process (so the object never sits in the measured process); growth is the peak
RSS during the invocation minus the RSS just before it.
Cold start: fresh interpreters, spawn to exit. Event path: import handler, load the model, score one
SQS event of one message and one row, as the floor scores one row. Floor: python + numpy +
onnxruntime + session creation + one run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MODEL_PATH = ROOT / "models" / "iris.onnx"
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
IN_BUCKET, OUT_BUCKET = "bench-in", "bench-out"
SQS_MESSAGES, SQS_ROWS = 10, 100
PER_ROW_LIMIT = 20_000
"""The per-record loop scores at most this many rows of the S3 object; its rate is what is reported."""
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "ONNX_LAMBDA_MODEL_NAMES": "iris",
    "ONNX_LAMBDA_INTRA_OP_THREADS": "1",
    "ONNX_LAMBDA_METRICS": "0",
    "ONNX_LAMBDA_LOG_LEVEL": "WARNING",
}


def csv_object(rows: int) -> bytes:
    """A CSV with an id column and the iris features, written in chunks to keep the builder small."""
    import numpy as np

    out = io.BytesIO()
    out.write(("id," + ",".join(FEATURES) + "\n").encode())
    rng = np.random.default_rng(0)
    for start in range(0, rows, 50_000):
        values = rng.random((min(50_000, rows - start), 4)) * 7
        out.write(
            "".join(
                f"r{start + i},{a:.3f},{b:.3f},{c:.3f},{d:.3f}\n"
                for i, (a, b, c, d) in enumerate(values.tolist())
            ).encode()
        )
    return out.getvalue()


def s3_event(key: str) -> dict[str, Any]:
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
                    "object": {"key": key, "size": 0, "eTag": "bench"},
                },
            }
        ]
    }


def sqs_event(messages: int = SQS_MESSAGES, rows_each: int = SQS_ROWS) -> dict[str, Any]:
    """`messages` messages, each `{"instances": [...]}` of `rows_each` rows."""
    import numpy as np

    rng = np.random.default_rng(0)
    records = []
    for index in range(messages):
        rows = (rng.random((rows_each, 4)) * 7).round(3).tolist()
        records.append(
            {
                "messageId": f"m{index}",
                "receiptHandle": f"h{index}",
                "body": json.dumps({"instances": rows}),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def session() -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(MODEL_PATH), options, providers=["CPUExecutionProvider"])


def sqs_baseline(per_row: bool) -> Any:
    """Parse every body, score (all rows at once, or row by row), return the same documents."""
    import numpy as np

    sess = session()
    names = [output.name for output in sess.get_outputs()]

    def handle(event: dict[str, Any]) -> int:
        tables = [np.asarray(json.loads(r["body"])["instances"], dtype=np.float32) for r in event["Records"]]
        stacked = np.concatenate(tables)
        if per_row:
            runs = [sess.run(names, {"input": stacked[i : i + 1]}) for i in range(len(stacked))]
            labels = [int(run[0][0]) for run in runs]
            probabilities = [run[1][0].tolist() for run in runs]
        else:
            label_array, probability_array = sess.run(names, {"input": stacked})
            labels, probabilities = label_array.tolist(), probability_array.tolist()
        results, start = [], 0
        for record, table in zip(event["Records"], tables, strict=True):
            end = start + len(table)
            predictions = [
                {"label": label, "probabilities": probs}
                for label, probs in zip(labels[start:end], probabilities[start:end], strict=True)
            ]
            results.append({"id": record["messageId"], "model_name": "iris", "predictions": predictions})
            start = end
        return sum(len(result["predictions"]) for result in results)

    return handle


def s3_baseline(s3: Any, per_row: bool) -> Any:
    """Read the whole object, parse it with numpy, score, write one JSON Lines object."""
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
            runs = [sess.run(names, {"input": features[i : i + 1]}) for i in range(len(features))]
            labels = [int(run[0][0]) for run in runs]
            probabilities = [run[1][0].tolist() for run in runs]
        else:
            label_array, probability_array = sess.run(names, {"input": features})
            labels, probabilities = label_array.tolist(), probability_array.tolist()
        out = "".join(
            json.dumps({"id": row_id, "prediction": {"label": label, "probabilities": probs}}) + "\n"
            for row_id, label, probs in zip(table[:, 0].tolist(), labels, probabilities, strict=True)
        )
        s3.put_object(Bucket=OUT_BUCKET, Key=f"floor/{ref['object']['key']}.jsonl", Body=out.encode())
        return len(lines)

    return handle


def throughput_worker(scenario: str, rows: int, repeats: int) -> dict[str, Any]:
    """In a fresh process: every variant of one scenario, warmed up, then timed round-robin."""
    os.environ.update(BASE_ENV)
    os.environ["ONNX_LAMBDA_DESTINATION"] = f"s3://{OUT_BUCKET}/predictions" if scenario == "s3" else "return"
    mock = s3 = None
    if scenario == "s3":
        import boto3
        from moto import mock_aws

        mock = mock_aws()
        mock.start()
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in (IN_BUCKET, OUT_BUCKET):
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=IN_BUCKET, Key="rows.csv", Body=csv_object(rows))
        event = s3_event("rows.csv")
    else:
        event = sqs_event()
    from handler.events import lambda_handler

    def ours(event: dict[str, Any]) -> int:
        response = lambda_handler(event, None)
        if scenario == "sqs":
            assert response["batchItemFailures"] == [], response
            return sum(len(result["predictions"]) for result in response["results"])
        return int(response["objects"][0]["rows"])

    variants = {
        "onnx-lambda": ours,
        "floor": s3_baseline(s3, False) if scenario == "s3" else sqs_baseline(False),
        "per-record": s3_baseline(s3, True) if scenario == "s3" else sqs_baseline(True),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    scored: dict[str, int] = {}
    for handle in variants.values():
        handle(event)  # warm-up: first-use imports and clients
    for _ in range(repeats):
        for name, handle in variants.items():
            started = time.perf_counter()
            scored[name] = handle(event)
            seconds[name].append(time.perf_counter() - started)
    if mock is not None:
        mock.stop()
    return {
        name: {"rows": scored[name], "seconds": statistics.median(seconds[name]), "best": min(seconds[name])}
        for name in variants
    }


def rss_worker(rows: int) -> dict[str, Any]:
    """In a fresh process against a moto server: RSS just before scoring, and the peak during it."""
    os.environ.update(BASE_ENV)
    os.environ["ONNX_LAMBDA_DESTINATION"] = f"s3://{OUT_BUCKET}/predictions"
    from handler.events import lambda_handler

    lambda_handler({"Records": [{"eventSource": "aws:sqs", "messageId": "w", "body": "{}"}]}, None)
    before = _status("VmRSS")
    _reset_peak()
    response = lambda_handler(s3_event(f"rows-{rows}.csv"), None)
    assert response["objects"][0]["rows"] == rows, response
    return {"rows": rows, "before_mb": before / 1024, "peak_mb": _status("VmHWM") / 1024}


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def spawn(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, str(Path(__file__)), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{args} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory(rows: int, repeats: int) -> list[dict[str, Any]]:
    """Score the CSV at `rows` and 10x `rows`, each size in fresh processes, against a moto server."""
    port = free_port()
    server = subprocess.Popen(
        [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        import boto3

        s3 = _wait_for_s3(boto3, endpoint)
        for bucket in (IN_BUCKET, OUT_BUCKET):
            s3.create_bucket(Bucket=bucket)
        results = []
        for size in (rows, rows * 10):
            s3.put_object(Bucket=IN_BUCKET, Key=f"rows-{size}.csv", Body=csv_object(size))
            runs = [
                spawn(["--rss", str(size)], {"AWS_ENDPOINT_URL": endpoint, **BASE_ENV})
                for _ in range(repeats)
            ]
            results.append(
                {
                    "rows": size,
                    "before_mb": statistics.median(run["before_mb"] for run in runs),
                    "peak_mb": statistics.median(run["peak_mb"] for run in runs),
                }
            )
            s3.delete_object(Bucket=IN_BUCKET, Key=f"rows-{size}.csv")
        return results
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for_s3(boto3: Any, endpoint: str) -> Any:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            s3.list_buckets()
            return s3
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


COLD_EVENT_PATH = """
import json, sys
import handler
event = json.load(open(sys.argv[1]))
response = handler.lambda_handler(event, None)
assert response["batchItemFailures"] == [], response
"""
COLD_FLOOR = """
import numpy as np
import onnxruntime as ort
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
session.run(None, {"input": np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32)})
"""


def cold_start(runs: int, event_file: Path) -> dict[str, float]:
    """Median spawn-to-exit seconds of each scenario, interleaved so noise hits both alike."""
    env = {**os.environ, **BASE_ENV, "ONNX_LAMBDA_DESTINATION": "return"}
    scenarios = {
        "event path": [PYTHON, "-c", COLD_EVENT_PATH, str(event_file)],
        "floor": [PYTHON, "-c", "import sys\n" + COLD_FLOOR, str(MODEL_PATH)],
    }
    times: dict[str, list[float]] = {name: [] for name in scenarios}
    for _ in range(runs + 1):
        for name, command in scenarios.items():
            started = time.perf_counter()
            subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values[1:]) for name, values in times.items()}  # first round warms caches


def report(throughput: dict[str, dict[str, Any]], rss: list[dict[str, Any]], cold: dict[str, float]) -> str:
    lines = [
        "| scenario | variant | rows | median ms | rows/s | x floor | onnx-lambda / variant | best ms "
        "| x floor, best |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    checks = []
    for scenario, variants in throughput.items():
        rate = {name: result["rows"] / result["seconds"] for name, result in variants.items()}
        best = {name: result["rows"] / result["best"] for name, result in variants.items()}
        for name, result in variants.items():
            relative = rate[name] / rate["floor"]
            lines.append(
                f"| {scenario} | {name} | {result['rows']:,} | {result['seconds'] * 1000:.1f} | "
                f"{rate[name]:,.0f} | {relative:.2f} | {rate['onnx-lambda'] / rate[name]:.1f} | "
                f"{result['best'] * 1000:.1f} | {best[name] / best['floor']:.2f} |"
            )
        checks.append(
            (f"{scenario}: throughput ≥ 0.8x floor", rate["onnx-lambda"] / rate["floor"], 0.8, True)
        )
        checks.append(
            (f"{scenario}: ≥ 20x per-record loop", rate["onnx-lambda"] / rate["per-record"], 20.0, True)
        )
    lines += ["", "| S3 CSV rows | RSS before MB | peak RSS MB | growth MB |", "|---:|---:|---:|---:|"]
    for entry in rss:
        growth = entry["peak_mb"] - entry["before_mb"]
        lines.append(
            f"| {entry['rows']:,} | {entry['before_mb']:.0f} | {entry['peak_mb']:.0f} | {growth:.1f} |"
        )
    small, large = rss
    checks.append(("peak RSS at 10x rows / at 1x", large["peak_mb"] / small["peak_mb"], 1.10, False))
    lines += ["", "| cold start (spawn to exit) | median ms |", "|---|---:|"]
    for name, seconds in cold.items():
        lines.append(f"| {name} | {seconds * 1000:.0f} |")
    checks.append(("cold start / floor", cold["event path"] / cold["floor"], 1.15, False))
    lines += ["", "| target | measured | wanted | met |", "|---|---:|---:|---|"]
    for name, value, bound, at_least in checks:
        met = value >= bound if at_least else value <= bound
        lines.append(
            f"| {name} | {value:.2f} | {'≥' if at_least else '≤'} {bound:.2f} | {'yes' if met else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--csv-rows", type=int, default=100_000)
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument("--worker", nargs=3, metavar=("SCENARIO", "ROWS", "REPEATS"), help=argparse.SUPPRESS)
    parser.add_argument("--rss", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        scenario, rows, repeats = args.worker
        print("RESULT " + json.dumps(throughput_worker(scenario, int(rows), int(repeats))), flush=True)
        return 0
    if args.rss:
        print("RESULT " + json.dumps(rss_worker(args.rss)), flush=True)
        return 0
    load = os.getloadavg()[0]
    throughput = {
        f"SQS {SQS_MESSAGES} msgs x {SQS_ROWS} rows": spawn(["--worker", "sqs", "0", str(args.repeats * 40)]),
        f"S3 CSV {args.csv_rows:,} rows": spawn(["--worker", "s3", str(args.csv_rows), str(args.repeats)]),
    }
    print("throughput done", file=sys.stderr, flush=True)
    rss = memory(args.csv_rows, 3)
    print("memory done", file=sys.stderr, flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as event_file:
        json.dump(sqs_event(1, 1), event_file)
        event_file.flush()
        cold = cold_start(args.cold_runs, Path(event_file.name))
    print(report(throughput, rss, cold))
    print(
        f"\n1-minute load average: {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        f"({os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
