"""`onnx-lambda reliability`: the figures of the README's Reliability table, measured now.

Runs the reliability tests (tests/reliability: the bad-input catalogue, fuzzing, faults, security)
with their figures recorded, then bench/load.py and bench/soak.py on the local emulator, and prints
one Markdown table. Exits non-zero if any test fails or any figure is not what it must be (errors
under load, a record lost, memory growing).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIGURES_VARIABLE = "ONNX_LAMBDA_RELIABILITY_FIGURES"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=10_000, help="requests under load (default 10,000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients under load (default 8)")
    parser.add_argument(
        "--soak",
        type=int,
        default=100_000,
        help="invocations of one warm instance (default 100,000; 0 skips)",
    )


def run_tests(figures: Path) -> tuple[int, str]:
    """pytest over tests/reliability with figures recorded to `figures`; returns (exit code, summary)."""
    environment = {**_environment(), FIGURES_VARIABLE: str(figures)}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/reliability", "-rfEs"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if not line.startswith("{")]
    summary = next((line for line in reversed(lines) if " passed" in line or " failed" in line), "")
    failures = [line for line in lines if line.startswith(("FAILED", "ERROR", "SKIPPED"))]
    return completed.returncode, "\n".join([*failures, summary.strip("= ")])


class BenchFailed(RuntimeError):
    """A benchmark the report runs printed no figures."""


def run_bench(script: str, *args: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args, "--json"],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith('{"') and '"errors"' in line:
            return json.loads(line)  # type: ignore[no-any-return]
    raise BenchFailed(
        f"bench/{script} printed no figures:\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}"
    )


def _environment() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}


def read_figures(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def table(figures: list[dict[str, Any]], load: dict[str, Any] | None, soak: dict[str, Any] | None) -> str:
    cases = Counter(f["path"] for f in figures if f["figure"] == "cases")
    fuzz = [f for f in figures if f["figure"] == "fuzz"]
    faults = [f for f in figures if f["figure"] == "faults"]
    audit = next((f for f in figures if f["figure"] == "audit"), None)
    security = [f["check"] for f in figures if f["figure"] == "security"]
    records_in = sum(f.get("records_in", 0) for f in faults)
    written = sum(f.get("written", 0) for f in faults)
    failed = sum(f.get("failed", 0) for f in faults)
    lost = sum(f.get("lost", 0) for f in faults)
    schema = sum(f["value"] for f in fuzz if f["target"].startswith("schemathesis"))
    examples = sum(f["value"] for f in fuzz)
    rows = [
        (
            "Bad-input cases tried",
            f"{sum(cases.values())} ({', '.join(f'{n} {path}' for path, n in cases.most_common())}); "
            "each got its documented 4xx or per-record failure, no traceback or path in any body, "
            "the next request succeeded, no good record lost",
            "tests/reliability/test_bad_input.py",
        ),
        (
            "Fuzz examples run",
            f"{examples:,} ({examples - schema:,} hypothesis over the codecs and event router, "
            f"{schema:,} schemathesis requests); only documented errors, no 5xx",
            "tests/reliability/test_fuzz.py",
        ),
    ]
    if load is not None:
        rows.append(
            (
                "Requests under load",
                f"{load['requests']:,} from {load['clients']} concurrent clients through the API Gateway "
                "door: "
                f"{load['errors']} errors, p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms, "
                f"{load['requests_per_s']} req/s on {load['instances']} instances",
                f"bench/load.py --requests {load['requests']} --clients {load['clients']}",
            )
        )
    if soak is not None:
        rows.append(
            (
                "Warm instance memory",
                f"{soak['invocations']:,} invocations of one warm instance ({soak['mode']}), "
                f"{soak['errors']} errors: RSS {soak['rss_after_warmup_mb']} MB after warm-up, "
                f"{soak['rss_end_mb']} MB at the end ({soak['growth_after_warmup_mb']:+} MB; the runtime "
                f"alone with a no-op handler {soak['baseline_growth_mb']:+} MB; due to onnx-lambda "
                f"{soak['attributable_growth_mb']:+} MB)",
                f"bench/soak.py --invocations {soak['invocations']}",
            )
        )
    rows.append(
        (
            "Faults injected",
            f"{len(faults)} kinds; {records_in} records in = {written} written + {failed} reported failed; "
            f"records lost: {lost}",
            "tests/reliability/test_faults.py",
        )
    )
    if audit is not None:
        rows.append(
            (
                "Locked runtime dependencies audited",
                f"{audit['value']} pins, {audit['vulnerable']} with known vulnerabilities"
                + (
                    f" ({audit['not_on_index']} not found on the index queried)"
                    if audit["not_on_index"]
                    else ""
                ),
                "pip-audit -r requirements/runtime.lock (tests/reliability/test_security.py)",
            )
        )
    if security:
        rows.append(("Security checks", "; ".join(security), "tests/reliability/test_security.py"))
    lines = ["| | figure | measured by |", "|---|---|---|"]
    lines += [f"| {what} | {figure} | `{command}` |" for what, figure, command in rows]
    details = ["", "| fault | records in | written | reported failed | lost |", "|---|---:|---:|---:|---:|"]
    details += [
        f"| {f['fault']} | {f.get('records_in', 0)} | {f.get('written', 0)} | {f.get('failed', 0)} "
        f"| {f['lost']} |"
        for f in faults
    ]
    return "\n".join(lines + details)


def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="onnx-lambda-reliability-") as scratch:
        figures_path = Path(scratch) / "figures.jsonl"
        print("running tests/reliability ...", file=sys.stderr)
        code, summary = run_tests(figures_path)
        figures = read_figures(figures_path)
    print(summary, file=sys.stderr)
    load = soak = None
    try:
        if args.requests:
            print(f"load: {args.requests:,} requests from {args.clients} clients ...", file=sys.stderr)
            load = run_bench("load.py", "--requests", str(args.requests), "--clients", str(args.clients))
        if args.soak:
            print(f"soak: {args.soak:,} invocations of one warm instance ...", file=sys.stderr)
            soak = run_bench("soak.py", "--invocations", str(args.soak))
    except BenchFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(table(figures, load, soak))
        return 1
    print(table(figures, load, soak))
    bad = code != 0 or (load is not None and load["errors"]) or (soak is not None and not soak["flat"])
    bad = bad or any(f.get("lost", 0) for f in figures)
    return 1 if bad else 0
