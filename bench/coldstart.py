"""Cold start: fresh processes per entry point, broken into phases, beside the floors, interleaved.

    python bench/coldstart.py [--runs 9] [--model iris]

Each run spawns bench/cold_driver.py, which timestamps the end of each phase: interpreter start
(spawn to the driver's first line), the Lambda runtime client's imports (awslambdaric.bootstrap,
loaded before init on Lambda), imports, model load (ONNX Runtime session creation), warm-up
(session runs during init) and the first invocation. The floors are `python -c pass`; python +
numpy + onnxruntime + one session and one run; that plus the fastapi and mangum imports; and the
tutorial-style FastAPI app. Rounds interleave every scenario so machine noise hits all alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MODELS, PYTHON, ROOT, Progress, http_event, infer_request, median, sqs_event

DRIVER = ROOT / "bench" / "cold_driver.py"
PHASES = ("interpreter", "runtime", "imports", "model_load", "warmup", "first_invocation")
# (key, label, driver scenario, event kind)
SCENARIOS = (
    ("pass", "python -c pass", "pass", None),
    ("floor-ort", "floor: numpy + onnxruntime + session", "floor-ort", None),
    ("floor-web", "floor: + fastapi + mangum imports", "floor-web", None),
    ("tutorial", "tutorial FastAPI app", "tutorial", "http"),
    ("events", "onnx-lambda events (SQS)", "handler.events", "sqs"),
    ("http", "onnx-lambda HTTP", "handler.http", "http"),
    ("universal-sqs", "onnx-lambda universal, SQS event", "handler", "sqs"),
    ("universal-http", "onnx-lambda universal, HTTP event", "handler", "http"),
    ("events-no-pyc", "onnx-lambda events, no .pyc shipped", "handler.events", "sqs"),
    ("http-no-pyc", "onnx-lambda HTTP, no .pyc shipped", "handler.http", "http"),
)
# Lambda's /var/task is read-only: a package shipped without bytecode compiles its own modules and
# its libraries' at every cold start. A bytecode cache holding only the standard library's .pyc, with
# writing turned off, shows that (see no_pyc_environment).
NO_PYC = ("events-no-pyc", "http-no-pyc")


def first_events(model: str) -> dict[str, dict[str, Any]]:
    """The first invocation's event per kind: one infer request, one SQS record of one row."""
    request = infer_request(model, 1)
    return {
        "http": http_event(f"/v2/models/{model}/infer", json.dumps(request)),
        "sqs": sqs_event([json.dumps(request)], model),
    }


def environment(model: str) -> dict[str, str]:
    """The function's settings for a one-model deployment of `model`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONNX_LAMBDA_")}
    env.update(ONNX_LAMBDA_MODELS=str(MODELS), ONNX_LAMBDA_MODEL_NAMES=model)
    return env


def no_pyc_environment(
    env: dict[str, str],
    scenarios: list[tuple[str, str, str, str | None]],
    model: str,
    events: dict[str, Any],
    prefix: str,
) -> dict[str, str]:
    """An environment whose bytecode cache, at `prefix`, holds the standard library's .pyc and nothing else.

    On Lambda the runtime's standard library is precompiled; what a deployment may lack is bytecode
    for its own code and its packages. One run of each scenario fills the cache, then everything
    under the project and site-packages is removed from it, and writing is turned off.
    """
    filling = dict(env, PYTHONPYCACHEPREFIX=prefix)
    for _key, _label, scenario, kind in scenarios:
        run_once(scenario, model, events[kind] if kind else None, filling)
    for tree in {str(ROOT), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        shutil.rmtree(prefix + tree, ignore_errors=True)
    return dict(env, PYTHONPYCACHEPREFIX=prefix, PYTHONDONTWRITEBYTECODE="1")


def run_once(
    scenario: str, model: str, event: dict[str, Any] | None, env: dict[str, str]
) -> dict[str, float]:
    """Spawn one fresh interpreter; returns each phase's milliseconds, CPU time and max RSS."""
    command = [PYTHON, str(DRIVER), scenario, str(MODELS / f"{model}.onnx")]
    spawned = time.perf_counter()
    done = subprocess.run(
        command, input=repr(event), capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("COLD ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"cold start of {scenario} failed:\n{done.stderr[-3000:]}")
    marks = json.loads(lines[-1][len("COLD ") :])
    phases = {
        "interpreter": marks["first"] - spawned,
        "runtime": marks["runtime"] - marks["first"],
        "imports": marks["imports"] - marks["start"],
        "model_load": marks["model_load"] - marks["imports"],
        "warmup": marks["warmup"] - marks["model_load"],
        "first_invocation": marks["first_invocation"] - marks["warmup"],
    }
    sample = {phase: seconds * 1000 for phase, seconds in phases.items()}
    sample["total"] = sum(sample[phase] for phase in PHASES)
    sample["cpu_ms"] = marks["cpu_seconds"] * 1000
    sample["max_rss_mb"] = marks["max_rss_kb"] / 1024
    return sample


def run(runs: int, model: str) -> dict[str, Any]:
    """`runs` interleaved rounds of every scenario; medians per phase, and the raw samples."""
    events = first_events(model)
    env = environment(model)
    samples: dict[str, list[dict[str, float]]] = {key: [] for key, *_ in SCENARIOS}
    progress = Progress(f"cold start {model}", runs)
    with tempfile.TemporaryDirectory(prefix="onnx-lambda-no-pyc-") as prefix:
        no_pyc = no_pyc_environment(env, [s for s in SCENARIOS if s[0] in NO_PYC], model, events, prefix)
        for _ in range(runs):
            for key, _label, scenario, kind in SCENARIOS:
                chosen_env = no_pyc if key in NO_PYC else env
                samples[key].append(run_once(scenario, model, events[kind] if kind else None, chosen_env))
            progress.step()
    summary = {}
    for key, label, _scenario, _kind in SCENARIOS:
        rows = samples[key]
        summary[key] = {
            "label": label,
            **{name: median([row[name] for row in rows]) for name in rows[0]},
            "min_total": min(row["total"] for row in rows),
        }
    return {"model": model, "runs": runs, "scenarios": summary, "samples": samples}


def table(result: dict[str, Any]) -> str:
    lines = [
        f"Cold start, model {result['model']}, median of {result['runs']} fresh processes (ms)",
        "",
        "| scenario | interpreter | runtime client | imports | model load | warm-up | first call | total "
        "| CPU | max RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["scenarios"].values():
        lines.append(
            f"| {row['label']} | "
            + " | ".join(f"{row[phase]:.1f}" for phase in PHASES)
            + f" | **{row['total']:.0f}** | {row['cpu_ms']:.0f} | {row['max_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--model", default="iris")
    args = parser.parse_args()
    result = run(args.runs, args.model)
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
