"""Load and soak, short versions of bench/load.py and bench/soak.py, run as the commands they are.

The long runs (tens of thousands of requests, 100,000 invocations) are commands, not tests; these
check the same things on bounded counts: no errors under concurrency through the API Gateway door,
and a warm instance whose memory does not grow.
"""

from __future__ import annotations

import json
import subprocess
import sys

from reliability_support import ROOT, record_figure


def run_bench(script: str, *args: str) -> dict:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )
    figures = [line for line in completed.stdout.splitlines() if line.startswith('{"') and '"errors"' in line]
    assert figures, completed.stdout[-2000:] + completed.stderr[-2000:]
    return json.loads(figures[-1])  # type: ignore[no-any-return]


def test_concurrent_clients_through_the_api_gateway_door_get_only_right_answers() -> None:
    figures = run_bench("load.py", "--requests", "600", "--clients", "4")

    assert figures["requests"] == 600
    assert figures["errors"] == 0, figures["error_kinds"]
    assert figures["warm_up_errors"] == 0
    assert 1 <= figures["instances"] <= 4
    assert figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    record_figure("load", figures["requests"], errors=figures["errors"], p99_ms=figures["p99_ms"])


def test_a_warm_handler_s_memory_is_flat_over_5000_good_and_bad_invocations() -> None:
    figures = run_bench("soak.py", "--invocations", "5000", "--sample", "250", "--in-process")

    assert figures["errors"] == 0
    assert figures["growth_after_warmup_mb"] < 4.0, figures
    assert figures["flat"]
    record_figure(
        "soak", figures["invocations"], growth_mb=figures["growth_after_warmup_mb"], mode="in-process"
    )
