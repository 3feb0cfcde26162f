"""Event scoring against hand-written baselines, in one run: throughput, memory and cold start.

    python bench/events_throughput.py [--repeats 5] [--csv-rows 100000] [--cold-runs 7]
    python bench/events_throughput.py --models iris,breast_cancer,diabetes,cnn [--repeats 5]

Throughput (moto in-process, iris model unless --models, each scenario in a fresh interpreter,
variants interleaved and their order rotated each round; the median and the best round are both
shown, the best being the one least disturbed by other load):
  onnx-lambda  handler.events.handle: SQS predictions returned; S3 predictions streamed to s3://
  floor        hand-written: the same rows parsed, scored in ONE session.run, and the same
               predictions produced (SQS: returned; S3: one JSON Lines put_object)
  per-record   the same parsing and output, but one session.run per row, the loop people write first
               (S3: an object of the first 20,000 rows, so it reads only the rows it scores)
Per-row costs: the floor's stages timed alone (parse, which for S3 includes the read; one
session.run over all rows; one session.run per row; formatting, which for S3 includes the write).
`--models` measures only throughput and these costs, for each named bundled model (cnn: SQS only,
its rows are images, not CSV lines).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
IN_BUCKET, OUT_BUCKET = "bench-in", "bench-out"
SQS_MESSAGES, SQS_ROWS = 10, 100
IMAGE_ROWS = 2
"""Rows per SQS message for image models: two 3x64x64 images are ~150 KB of JSON (the limit is 256 KB)."""
PER_ROW_LIMIT = 20_000
"""The per-record loop scores an object of this many rows (the first rows of the same CSV)."""
VARIANTS = ("onnx-lambda", "floor", "per-record")
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "ONNX_LAMBDA_MODEL_NAMES": "iris",
    "ONNX_LAMBDA_INTRA_OP_THREADS": "1",
    "ONNX_LAMBDA_METRICS": "0",
    "ONNX_LAMBDA_LOG_LEVEL": "WARNING",
}


@dataclass(frozen=True)
class Bundled:
    """A bundled model as the baselines see it: its file, feature names and input row shape."""

    name: str
    features: tuple[str, ...]
    input: str
    row_shape: tuple[int, ...]

    @property
    def path(self) -> Path:
        return ROOT / "models" / f"{self.name}.onnx"

    @property
    def tabular(self) -> bool:
        return len(self.row_shape) == 1 and bool(self.features)


def bundled(name: str) -> Bundled:
    """The model's features from models/NAME.json, its one input's name and row shape from the file."""
    config = json.loads((ROOT / "models" / f"{name}.json").read_text())
    (tensor,) = session(Bundled(name, (), "", ())).get_inputs()
    return Bundled(name, tuple(config.get("features", ())), tensor.name, tuple(tensor.shape[1:]))


IRIS = Bundled("iris", ("sepal_length", "sepal_width", "petal_length", "petal_width"), "input", (4,))


def csv_object(rows: int, model: Bundled = IRIS) -> bytes:
    """A CSV with an id column and the model's features, written in chunks to keep the builder small."""
    import numpy as np

    out = io.BytesIO()
    out.write(("id," + ",".join(model.features) + "\n").encode())
    rng = np.random.default_rng(0)
    width = len(model.features)
    line = "r%d," + ",".join(["%.3f"] * width) + "\n"
    for start in range(0, rows, 50_000):
        values = rng.random((min(50_000, rows - start), width)) * 7
        out.write("".join(line % (start + i, *row) for i, row in enumerate(values.tolist())).encode())
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


def sqs_event(
    messages: int = SQS_MESSAGES, rows_each: int = SQS_ROWS, model: Bundled = IRIS
) -> dict[str, Any]:
    """`messages` messages, each `{"instances": [...]}` of `rows_each` rows."""
    import numpy as np

    rng = np.random.default_rng(0)
    records = []
    for index in range(messages):
        rows = (rng.random((rows_each, *model.row_shape)) * 7).round(3).tolist()
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


def session(model: Bundled = IRIS) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(model.path), options, providers=["CPUExecutionProvider"])


class Floor:
    """The hand-written baseline in three stages (parse, run, format), so each can be timed alone."""

    def __init__(self, model: Bundled, per_row: bool) -> None:
        self.model = model
        self.per_row = per_row
        self.session = session(model)
        self.names = [output.name for output in self.session.get_outputs()]

    def __call__(self, event: dict[str, Any]) -> int:
        parsed = self.parse(event)
        return self.format(event, parsed, self.run(parsed[0]))

    def run(self, features: Any) -> list[Any]:
        """One session.run over every row, or (the per-record loop) one per row."""
        if not self.per_row:
            return list(self.session.run(self.names, {self.model.input: features}))
        import numpy as np

        runs = [
            self.session.run(self.names, {self.model.input: features[i : i + 1]})
            for i in range(len(features))
        ]
        return [np.concatenate([run[k] for run in runs]) for k in range(len(self.names))]

    def predictions(self, outputs: list[Any]) -> list[Any]:
        """Each row's prediction: the value for one output, else `{name: value}` (all of ours have two)."""
        columns = [array.tolist() for array in outputs]
        if len(columns) == 1:
            return columns[0]
        first, second = self.names
        return [{first: a, second: b} for a, b in zip(*columns, strict=True)]

    def parse(self, event: dict[str, Any]) -> tuple[Any, Any]:
        raise NotImplementedError

    def format(self, event: dict[str, Any], parsed: tuple[Any, Any], outputs: list[Any]) -> int:
        raise NotImplementedError


class SqsFloor(Floor):
    """Parse every body, score, return the same documents as the event path."""

    def parse(self, event: dict[str, Any]) -> tuple[Any, Any]:
        import numpy as np

        tables = [np.asarray(json.loads(r["body"])["instances"], dtype=np.float32) for r in event["Records"]]
        return np.concatenate(tables), [len(table) for table in tables]

    def format(self, event: dict[str, Any], parsed: tuple[Any, Any], outputs: list[Any]) -> int:
        rows = self.predictions(outputs)
        results, start = [], 0
        for record, size in zip(event["Records"], parsed[1], strict=True):
            results.append(
                {
                    "id": record["messageId"],
                    "model_name": self.model.name,
                    "predictions": rows[start : start + size],
                }
            )
            start += size
        return sum(len(result["predictions"]) for result in results)


class S3Floor(Floor):
    """Read the whole object, parse it with numpy, score, write one JSON Lines object."""

    def __init__(self, model: Bundled, per_row: bool, s3: Any) -> None:
        super().__init__(model, per_row)
        self.s3 = s3

    def parse(self, event: dict[str, Any]) -> tuple[Any, Any]:
        import numpy as np

        ref = event["Records"][0]["s3"]
        body = self.s3.get_object(Bucket=ref["bucket"]["name"], Key=ref["object"]["key"])["Body"].read()
        table = np.array([line.split(",") for line in body.decode().splitlines()[1:]])
        return table[:, 1:].astype(np.float32), table[:, 0].tolist()

    def format(self, event: dict[str, Any], parsed: tuple[Any, Any], outputs: list[Any]) -> int:
        key = event["Records"][0]["s3"]["object"]["key"]
        out = "".join(
            json.dumps({"id": row_id, "prediction": value}) + "\n"
            for row_id, value in zip(parsed[1], self.predictions(outputs), strict=True)
        )
        self.s3.put_object(Bucket=OUT_BUCKET, Key=f"floor/{key}.jsonl", Body=out.encode())
        return len(parsed[1])


def stage_costs(floor: Floor, per_record: Floor, event: dict[str, Any], repeats: int) -> dict[str, float]:
    """Microseconds per row of each floor stage timed alone (medians over `repeats`)."""
    parsed = floor.parse(event)
    features = parsed[0]
    some = features[:PER_ROW_LIMIT]  # the per-row loop's rate, on at most this many rows
    outputs = floor.run(features)
    stages = {
        "parse": (lambda: floor.parse(event), len(features)),
        "run": (lambda: floor.run(features), len(features)),
        "run alone": (lambda: per_record.run(some), len(some)),
        "format": (lambda: floor.format(event, parsed, outputs), len(features)),
    }
    timings: dict[str, list[float]] = {stage: [] for stage in stages}
    for _ in range(repeats):
        for stage, (call, rows) in stages.items():
            started = time.perf_counter()
            call()
            timings[stage].append((time.perf_counter() - started) / rows)
    return {stage: statistics.median(values) * 1e6 for stage, values in timings.items()}


def throughput_worker(scenario: str, rows: int, repeats: int, name: str = "iris") -> dict[str, Any]:
    """In a fresh process: every variant of one scenario, warmed up, then timed round-robin."""
    model = bundled(name)
    os.environ.update(BASE_ENV)
    os.environ["ONNX_LAMBDA_MODEL_NAMES"] = model.name
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
        s3.put_object(Bucket=IN_BUCKET, Key="rows.csv", Body=csv_object(rows, model))
        s3.put_object(
            Bucket=IN_BUCKET, Key="first-rows.csv", Body=csv_object(min(rows, PER_ROW_LIMIT), model)
        )
        event = s3_event("rows.csv")
        events = {"onnx-lambda": event, "floor": event, "per-record": s3_event("first-rows.csv")}
        floors = {"floor": S3Floor(model, False, s3), "per-record": S3Floor(model, True, s3)}
    else:
        event = sqs_event(rows_each=SQS_ROWS if model.tabular else IMAGE_ROWS, model=model)
        events = dict.fromkeys(VARIANTS, event)
        floors = {"floor": SqsFloor(model, False), "per-record": SqsFloor(model, True)}
    from handler.events import lambda_handler

    def ours(event: dict[str, Any]) -> int:
        response = lambda_handler(event, None)
        if scenario == "sqs":
            assert response["batchItemFailures"] == [], response
            return sum(len(result["predictions"]) for result in response["results"])
        return int(response["objects"][0]["rows"])

    variants: dict[str, Any] = {"onnx-lambda": ours, **floors}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    scored: dict[str, int] = {}
    for variant, handle in variants.items():
        handle(events[variant])  # warm-up: first-use imports and clients
    order = list(variants)
    for round_number in range(repeats):
        # Rotated each round, so no variant always runs straight after the cache-thrashing loop.
        shift = round_number % len(order)
        for variant in order[shift:] + order[:shift]:
            started = time.perf_counter()
            scored[variant] = variants[variant](events[variant])
            seconds[variant].append(time.perf_counter() - started)
    costs = stage_costs(floors["floor"], floors["per-record"], event, max(3, min(repeats, 20)))
    if mock is not None:
        mock.stop()
    result: dict[str, Any] = {
        variant: {
            "rows": scored[variant],
            "seconds": statistics.median(seconds[variant]),
            "best": min(seconds[variant]),
        }
        for variant in variants
    }
    result["costs"] = costs
    return result


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
        "floor": [PYTHON, "-c", "import sys\n" + COLD_FLOOR, str(IRIS.path)],
    }
    times: dict[str, list[float]] = {name: [] for name in scenarios}
    for _ in range(runs + 1):
        for name, command in scenarios.items():
            started = time.perf_counter()
            subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values[1:]) for name, values in times.items()}  # first round warms caches


def throughput_table(
    throughput: dict[str, dict[str, Any]],
) -> tuple[list[str], list[tuple[str, float, float, bool]]]:
    """The variants side by side per scenario, and the two throughput targets' checks."""
    lines = [
        "| scenario | variant | rows | median ms | rows/s | x floor | onnx-lambda / variant | best ms "
        "| x floor, best |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    checks = []
    for scenario, variants in throughput.items():
        rate = {name: variants[name]["rows"] / variants[name]["seconds"] for name in VARIANTS}
        best = {name: variants[name]["rows"] / variants[name]["best"] for name in VARIANTS}
        for name in VARIANTS:
            result = variants[name]
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
    return lines, checks


def costs_table(throughput: dict[str, dict[str, Any]]) -> list[str]:
    """Per-row cost of each floor stage, and what they allow against the per-record loop.

    `from the costs` is (parse + run alone + format) / (parse + run + format): what any path that
    parses and formats as the floor does can gain over the per-record loop. `model only` is
    run alone / run: the gain if parsing and formatting cost nothing.
    """
    lines = [
        "| scenario | onnx-lambda / per-record | floor / per-record | parse µs/row | run µs/row "
        "(one run) | run µs/row (one per row) | format µs/row | from the costs | model only |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario, variants in throughput.items():
        rate = {name: variants[name]["rows"] / variants[name]["seconds"] for name in VARIANTS}
        cost = variants["costs"]
        shared = cost["parse"] + cost["format"]
        lines.append(
            f"| {scenario} | {rate['onnx-lambda'] / rate['per-record']:.1f} | "
            f"{rate['floor'] / rate['per-record']:.1f} | {cost['parse']:.2f} | {cost['run']:.2f} | "
            f"{cost['run alone']:.2f} | {cost['format']:.2f} | "
            f"{(shared + cost['run alone']) / (shared + cost['run']):.1f} | "
            f"{cost['run alone'] / cost['run']:.1f} |"
        )
    return lines


def report(throughput: dict[str, dict[str, Any]], rss: list[dict[str, Any]], cold: dict[str, float]) -> str:
    lines, checks = throughput_table(throughput)
    lines += ["", *costs_table(throughput)]
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


def model_scenarios(model: Bundled, csv_rows: int, repeats: int) -> dict[str, dict[str, Any]]:
    """Each throughput scenario of `model` in its own fresh interpreter (S3 CSV for tabular models)."""
    rows_each = SQS_ROWS if model.tabular else IMAGE_ROWS
    # A millisecond-scale SQS round gets 40 rounds per repeat; an image model's takes ~0.5 s.
    rounds = repeats * 40 if model.tabular else repeats
    measured = {
        f"{model.name}: SQS {SQS_MESSAGES} msgs x {rows_each} rows": spawn(
            ["--worker", "sqs", "0", str(rounds), "--model", model.name]
        )
    }
    if model.tabular:
        measured[f"{model.name}: S3 CSV {csv_rows:,} rows"] = spawn(
            ["--worker", "s3", str(csv_rows), str(repeats), "--model", model.name]
        )
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--csv-rows", type=int, default=100_000)
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument("--models", help="comma-separated bundled models: throughput and per-row costs only")
    parser.add_argument("--model", default="iris", help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=3, metavar=("SCENARIO", "ROWS", "REPEATS"), help=argparse.SUPPRESS)
    parser.add_argument("--rss", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        scenario, rows, repeats = args.worker
        result = throughput_worker(scenario, int(rows), int(repeats), args.model)
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    if args.rss:
        print("RESULT " + json.dumps(rss_worker(args.rss)), flush=True)
        return 0
    load = os.getloadavg()[0]
    if args.models:
        throughput: dict[str, dict[str, Any]] = {}
        for name in args.models.split(","):
            throughput.update(model_scenarios(bundled(name.strip()), args.csv_rows, args.repeats))
            print(f"{name} done", file=sys.stderr, flush=True)
        lines, _ = throughput_table(throughput)
        print("\n".join([*lines, "", *costs_table(throughput)]))
    else:
        throughput = model_scenarios(IRIS, args.csv_rows, args.repeats)
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
