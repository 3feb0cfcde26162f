"""`onnx-lambda bench`: cold start, warm latency, batch throughput, memory and cost, with plots.

Runs the modules under bench/ (each usable alone), writes bench/results/results.json, results.md
and PNG figures, and checks the performance targets against baselines measured in the same run.
Sections not chosen keep their previous figures; the files are rewritten after each section, so a
section that fails leaves those finished before it. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("coldstart", "latency", "throughput", "cost")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="fewer runs and cases: under a minute")
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="which sections to run (memory is measured by coldstart and throughput); default all. "
        "cost prices the coldstart, latency and throughput figures, from this run or kept from the last, "
        "and is skipped while any of the three is missing",
    )
    parser.add_argument("--runs", type=int, help="fresh processes per cold-start scenario (9; quick 3)")
    parser.add_argument(
        "--invocations-per-environment",
        type=int,
        default=1000,
        help="warm invocations one execution environment serves, to amortise billed init (1000)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="results directory")


def _bench_modules() -> Any:
    if not (ROOT / "bench" / "coldstart.py").exists():
        raise SystemExit(
            "onnx-lambda bench runs from a source checkout: bench/ was not found beside the package"
        )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import bench.coldstart
    import bench.cost
    import bench.latency
    import bench.throughput

    return bench


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    lscpu = shutil.which("lscpu")
    described = subprocess.run([lscpu], capture_output=True, text=True, check=False).stdout if lscpu else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in described.splitlines() if line.startswith("Model name")),
        platform.processor() or "unknown",
    )
    versions = {}
    for package in ("onnxruntime", "numpy", "fastapi", "starlette", "pydantic", "mangum", "boto3"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "versions": versions,
    }


def run_latency(quick: bool, raw: Path) -> dict[str, Any]:
    """bench/latency.py in child interpreters, so the handler's state stays out of this process.

    iris runs many short rounds, so bursts of load on a shared machine average out; cnn, whose 64-row
    requests take about a second, runs a few longer ones. A third child times the target cases with
    ONNX_LAMBDA_METRICS=0 beside their own floors, which separates what the per-invocation metrics
    record costs from what the rest of the path costs.
    """
    script = str(ROOT / "bench" / "latency.py")
    iris = ["--rounds", "6", "--budget", "0.025"] if quick else ["--rounds", "12", "--budget", "0.04"]
    children: list[tuple[str, list[str], dict[str, str]]] = [
        ("latency-iris", ["--models", "iris", *iris], {})
    ]
    if not quick:
        children.append(("latency-cnn", ["--models", "cnn", "--rounds", "3", "--budget", "0.3"], {}))
    children.append(
        (
            "latency-metrics-off",
            ["--models", "iris", "--rows", "1", "--paths", "v2-json", "sqs-1-record", *iris],
            {"ONNX_LAMBDA_METRICS": "0"},
        )
    )
    parts = {}
    for name, options, env in children:
        _say(f"warm latency: {name} (child process)")
        out = raw / f"{name}.json"
        _run_child(name, [sys.executable, script, "--json", str(out), *options], env)
        parts[name] = json.loads(out.read_text())
    plain = parts.pop("latency-metrics-off")
    return {
        "rounds": {name: part["rounds"] for name, part in parts.items()},
        "cases": [case for part in parts.values() for case in part["cases"]],
        "metrics_off": plain["cases"],
    }


def _run_child(name: str, command: list[str], env: dict[str, str]) -> None:
    """Run one child benchmark, its progress passed through; if it fails, say which and how it ended."""
    child = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
    )
    assert child.stderr is not None
    tail: collections.deque[str] = collections.deque(maxlen=30)
    for line in child.stderr:
        sys.stderr.write(line)
        tail.append(line)
    if child.wait() != 0:
        raise RuntimeError(
            f"{name} exited with status {child.returncode}; its stderr ended:\n{''.join(tail)}"
        )


def _case(latency: dict[str, Any], model: str, rows: int, path: str, variant: str) -> dict[str, Any] | None:
    return next(
        (
            c
            for c in latency["cases"]
            if (c["model"], c["rows"], c["path"], c["variant"]) == (model, rows, path, variant)
        ),
        None,
    )


def cost_scenarios(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The measured durations the cost section prices: warm invoke and init per scenario."""
    cold = results["coldstart"]["scenarios"]
    latency = results["latency"]
    scenarios = []
    for name, model, rows, path, variant, init in (
        ("HTTP v2 JSON, iris, 1 row", "iris", 1, "v2-json", "onnx-lambda", "http"),
        ("HTTP tutorial app, iris, 1 row", "iris", 1, "v2-json", "tutorial", "tutorial"),
        ("HTTP v2 binary, iris, 64 rows", "iris", 64, "v2-binary", "onnx-lambda", "http"),
        ("HTTP v2 JSON, cnn, 1 row", "cnn", 1, "v2-json", "onnx-lambda", "http"),
        ("SQS 1 record, iris, 1 row", "iris", 1, "sqs-1-record", "onnx-lambda", "events"),
    ):
        case = _case(latency, model, rows, path, variant)
        if case is not None:
            scenarios.append(
                {
                    "name": name,
                    "invoke_ms": case["p50_us"] / 1000,
                    "predictions": rows,
                    "init_ms": cold[init]["total"],
                }
            )
    for row in results["throughput"]["results"]:
        if row["variant"] != "onnx-lambda":
            continue
        if row["scenario"] == "sqs":
            name = "SQS 10 x 100 rows, iris"
        elif row["scenario"] == "s3":
            name = f"S3 CSV {row['rows']:,} rows, iris"
        else:
            continue
        scenarios.append(
            {
                "name": name,
                "invoke_ms": row["invoke_ms"],
                "predictions": row["rows_scored"],
                "init_ms": cold["events"]["total"],
            }
        )
    return scenarios


# The warm-latency targets on iris, 1 row: (label, path, numerator, denominator, comparison, limit,
# also checked in the metrics-off run).
WARM_TARGETS = (
    ("HTTP warm p50 ÷ Mangum over bare ASGI", "v2-json", "onnx-lambda", "bare-asgi", "<=", 1.5, True),
    ("tutorial app warm p50 ÷ HTTP warm p50", "v2-json", "tutorial", "onnx-lambda", ">=", 5.0, False),
    (
        "event path warm p50 (1 SQS record) ÷ hand-written",
        "sqs-1-record",
        "onnx-lambda",
        "handwritten",
        "<=",
        1.2,
        True,
    ),
)


def _warm_checks(
    latency: dict[str, Any], suffix: str, metrics_off: bool
) -> list[tuple[str, float, str, float]]:
    """The warm-latency targets whose two cases this latency run measured, labels ending in `suffix`."""
    checks = []
    for label, path, top, bottom, comparison, limit, also_off in WARM_TARGETS:
        numerator = _case(latency, "iris", 1, path, top)
        denominator = _case(latency, "iris", 1, path, bottom)
        if numerator and denominator and (also_off or not metrics_off):
            checks.append((label + suffix, numerator["p50_us"] / denominator["p50_us"], comparison, limit))
    return checks


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each a ratio of two figures measured in the same run."""
    checks = []
    cold = results.get("coldstart", {}).get("scenarios", {})
    if cold:
        # CPU time is what a contended machine distorts least: the same ratios, in CPU milliseconds.
        for label, path, floor, unit, limit in [
            ("event path init ÷ floor (numpy + onnxruntime + session)", "events", "floor-ort", "total", 1.15),
            ("HTTP path init ÷ floor (+ fastapi + mangum imports)", "http", "floor-web", "total", 1.10),
            ("event path init CPU time ÷ floor", "events", "floor-ort", "cpu_ms", 1.15),
            ("HTTP path init CPU time ÷ floor", "http", "floor-web", "cpu_ms", 1.10),
        ]:
            checks.append((label, cold[path][unit] / cold[floor][unit], "<=", limit))
    latency = results.get("latency")
    if latency:
        checks += _warm_checks(latency, "", metrics_off=False)
        if latency.get("metrics_off"):
            checks += _warm_checks({"cases": latency["metrics_off"]}, ", metrics off", metrics_off=True)
    throughput = results.get("throughput")
    if throughput:
        s3 = {
            r["variant"]: r
            for r in throughput["results"]
            if r["scenario"] == "s3" and r["rows"] == _s3_rows(throughput)
        }
        checks.append(
            (
                "S3 CSV throughput ÷ floor",
                s3["onnx-lambda"]["rows_per_s"] / s3["floor"]["rows_per_s"],
                ">=",
                0.8,
            )
        )
    return [
        {
            "target": name,
            "ratio": round(ratio, 3),
            "goal": f"{op} {goal}",
            "met": ratio <= goal if op == "<=" else ratio >= goal,
        }
        for name, ratio, op, goal in checks
    ]


def _s3_rows(throughput: dict[str, Any]) -> int:
    return max(r["rows"] for r in throughput["results"] if r["scenario"] == "s3")


def markdown(results: dict[str, Any], bench: Any) -> str:
    host = results["machine"]
    versions = ", ".join(f"{name} {version}" for name, version in host["versions"].items())
    parts = [
        f"# onnx-lambda bench — {results['generated']}{' (quick)' if results['quick'] else ''}",
        "",
        f"Machine: {host['cpu']}, {host['cores']} cores, Python {host['python']}, {host['platform']}; "
        f"{versions}. Load average at start: {host['load_average_at_start']}.",
        "",
        "## Targets (ratios of figures measured in this run)",
        "",
        "| target | ratio | goal | met |",
        "|---|---:|---|---|",
    ]
    parts += [
        f"| {t['target']} | {t['ratio']:.2f} | {t['goal']} | {'yes' if t['met'] else '**no**'} |"
        for t in results["targets"]
    ]
    if "coldstart" in results:
        parts += ["", "## Cold start", "", bench.coldstart.table(results["coldstart"])]
    if "latency" in results:
        parts += ["", "## Warm latency", "", bench.latency.table(results["latency"]["cases"])]
        if results["latency"].get("metrics_off"):
            parts += [
                "",
                "The target cases again with ONNX_LAMBDA_METRICS=0, beside floors timed in the same process:",
                "",
                bench.latency.table(results["latency"]["metrics_off"]),
            ]
    if "throughput" in results:
        parts += ["", "## Batch throughput and memory", "", bench.throughput.table(results["throughput"])]
    if "cost" in results:
        parts += ["", "## Cost", "", bench.cost.table(results["cost"])]
    return "\n".join(parts) + "\n"


def measure(section: str, args: argparse.Namespace, results: dict[str, Any], bench: Any, plots: Any) -> None:
    """Run one section, put its figures in `results` and draw its plot."""
    out: Path = args.out
    raw = out / "raw"
    if section == "coldstart":
        cold = bench.coldstart.run(args.runs or (3 if args.quick else 9), "iris")
        (raw / "coldstart.json").write_text(json.dumps(cold))
        results["coldstart"] = {key: value for key, value in cold.items() if key != "samples"}
        plots.coldstart(results["coldstart"], out / "coldstart.png")
    elif section == "latency":
        _say("warm latency (in a child process)")
        latency = run_latency(args.quick, raw)
        plots.latency(latency, out / "latency.png")
        results["latency"] = {
            "rounds": latency["rounds"],
            "cases": [{k: v for k, v in c.items() if k != "samples_us"} for c in latency["cases"]],
            "metrics_off": [
                {k: v for k, v in c.items() if k != "samples_us"} for c in latency["metrics_off"]
            ],
        }
    elif section == "throughput":
        if args.quick:
            throughput = bench.throughput.run(1, 100_000, 10_000, 1)
        else:
            throughput = bench.throughput.run(3, 100_000, 100_000, 1)
        results["throughput"] = throughput
        plots.throughput_memory(throughput, results.get("coldstart"), out / "throughput-memory.png")
    elif section == "cost":
        missing = [name for name in ("coldstart", "latency", "throughput") if name not in results]
        if missing:
            _say(
                f"note: cost skipped: it prices the coldstart, latency and throughput figures, and "
                f"{out / 'results.json'} has no {', '.join(missing)}; run with --sections "
                f"{' '.join(missing)} cost"
            )
            return
        results["cost"] = bench.cost.estimate(cost_scenarios(results), args.invocations_per_environment)
        plots.cost(results["cost"], out / "cost.png")


def save(results: dict[str, Any], out: Path, bench: Any) -> str:
    """Check the targets and write results.json and results.md; returns the Markdown report."""
    results["targets"] = targets(results)
    (out / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    report = markdown(results, bench)
    (out / "results.md").write_text(report)
    return report


def main(args: argparse.Namespace) -> int:
    bench = _bench_modules()
    from bench import plots

    out: Path = args.out
    (out / "raw").mkdir(parents=True, exist_ok=True)
    previous = out / "results.json"
    results: dict[str, Any] = json.loads(previous.read_text()) if previous.exists() else {}
    results.update(
        generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        quick=args.quick,
        machine=machine(),
    )
    started = time.perf_counter()
    chosen = [section for section in SECTIONS if section in args.sections]
    _say(f"onnx-lambda bench: {', '.join(chosen)}{' (quick)' if args.quick else ''}")
    report = ""
    for section in chosen:
        try:
            measure(section, args, results, bench, plots)
        except (RuntimeError, subprocess.SubprocessError) as error:
            _say(f"onnx-lambda bench: the {section} section failed: {error}")
            _say(
                f"{out} holds the sections finished before it; {section} keeps the figures it had "
                "before this run"
            )
            return 1
        report = save(results, out, bench)
    print(report)
    _say(f"done in {time.perf_counter() - started:.0f} s; results in {out}")
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
