"""Unpack the artefacts as Lambda lays them out and run event fixtures through them in a fresh interpreter."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onnx_lambda.packaging.target import RUNTIME_PROVIDED, Target

PROBE = Path(__file__).with_name("lambda_probe.py")
# What Lambda's runtime has in /var/runtime; linked from this machine, as only the layer may add packages.
RUNTIME_MODULES = tuple(module for _, module in RUNTIME_PROVIDED)
WEB_STACK = ("fastapi", "starlette", "mangum", "pydantic")


@dataclass(frozen=True)
class Fixture:
    """One event, by the name of its file in `events/`."""

    name: str
    event: dict[str, Any]


@dataclass
class Verification:
    """What running the fixtures in the Lambda-like tree showed."""

    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def http_fixtures(events: Path) -> list[Fixture]:
    """The HTTP event fixtures: API Gateway REST/HTTP APIs, ALB and Function URLs."""
    prefixes = ("http-api-", "rest-", "alb-", "function-url-")
    return [
        Fixture(path.stem, json.loads(path.read_text()))
        for path in sorted(events.glob("*.json"))
        if path.name.startswith(prefixes)
    ]


def sqs_fixtures(events: Path, function: Path) -> list[Fixture]:
    """The SQS fixtures, once the function has an SQS source (`handler/events/sqs.py`)."""
    if not (function / "handler" / "events" / "sqs.py").exists():
        return []
    return [Fixture(path.stem, json.loads(path.read_text())) for path in sorted(events.glob("sqs*.json"))]


def unpack(layer: Path, models: Path, function: Path, root: Path) -> dict[str, Path]:
    """Extract the zips where Lambda puts them: /opt (layers), /var/task (function)."""
    tree = {"opt": root / "opt", "models": root / "opt" / "models", "task": root / "var" / "task"}
    for archive, destination in ((layer, tree["opt"]), (models, tree["opt"]), (function, tree["task"])):
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(destination)
    tree["runtime"] = _runtime(root / "var" / "runtime")
    return tree


def _runtime(runtime: Path) -> Path:
    """A /var/runtime holding this machine's boto3 and its dependencies, as Lambda's runtime has them."""
    runtime.mkdir(parents=True)
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        (runtime / source.name).symlink_to(source)
    return runtime


def _read_only(root: Path, writable: bool = False) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~write)


def _run(
    interpreter: Path, target: Target, tree: dict[str, Path], fixtures: Sequence[Fixture], *, work: Path
) -> dict[str, Any]:
    paths = [
        tree["task"],
        tree["opt"] / "python" / "lib" / f"python{target.python}" / "site-packages",
        tree["opt"] / "python",
        tree["runtime"],
    ]
    config = work / "config.json"
    results = work / "results.json"
    results.unlink(missing_ok=True)
    config.write_text(
        json.dumps(
            {
                "paths": [str(path) for path in paths],
                "root": str(tree["opt"].parent),
                "fixtures": [{"name": fixture.name, "event": fixture.event} for fixture in fixtures],
                "results": str(results),
            }
        )
    )
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "onnx-lambda-verify",
        "LAMBDA_TASK_ROOT": str(tree["task"]),
        "ONNX_LAMBDA_MODELS": str(tree["models"]),
    }
    try:
        process = subprocess.run(
            # -B: the tree may be a build's staging directory, which must not gain this run's bytecode.
            [str(interpreter), "-I", "-S", "-B", str(PROBE), str(config)],
            env=environment,
            cwd=tree["task"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"crash": "the fixtures did not finish within 300 s"}
    if process.returncode != 0 or not results.exists():
        return {"crash": f"exit {process.returncode}: {process.stderr[-3000:]}"}
    outcome: dict[str, Any] = json.loads(results.read_text())
    return outcome


def _judge_http(outcome: dict[str, Any], verification: Verification) -> None:
    for result in outcome["results"]:
        if "error" in result:
            verification.failures.append(f"{result['name']}: raised {result['error']}")
            continue
        status = result["response"].get("statusCode")
        if isinstance(status, int) and 200 <= status < 300:
            verification.checked.append(f"{result['name']}: HTTP {status}")
        else:
            body = str(result["response"].get("body", ""))[:300]
            verification.failures.append(f"{result['name']}: HTTP {status} {body}")


def _judge_events(outcome: dict[str, Any], verification: Verification) -> None:
    for result in outcome["results"]:
        if "error" in result:
            verification.failures.append(f"{result['name']}: raised {result['error']}")
            continue
        response = result["response"]
        failures = response.get("batchItemFailures") if isinstance(response, dict) else None
        if not isinstance(failures, list):
            verification.failures.append(f"{result['name']}: no batchItemFailures in {str(response)[:300]}")
            continue
        verification.checked.append(f"{result['name']}: {len(failures)} batch item failures")
    web = sorted(set(WEB_STACK) & set(outcome["loaded"]))
    if web:
        verification.failures.append(f"the event path imported the web stack: {', '.join(web)}")


def _fixture_runs(events: Path, task: Path) -> list[tuple[str, list[Fixture]]]:
    # HTTP and events in separate interpreters: the event path must be seen not to load the web stack.
    return [("http", http_fixtures(events)), ("events", sqs_fixtures(events, task))]


def served_modules(
    interpreter: Path, target: Target, *, layer: Path, models: Path, function: Path, events: Path
) -> set[Path]:
    """The files under `layer/python` that the HTTP and SQS fixtures import, from staged directories.

    `layer`, `models` and `function` are the directories the three zips are made from. Raises
    RuntimeError when a fixture run crashes, since the trace would then be incomplete.
    """
    site = layer / "python"
    tree = {"opt": layer, "models": models / "models", "task": function}
    files: set[Path] = set()
    with tempfile.TemporaryDirectory(prefix="onnx-lambda-trace-") as scratch:
        tree["runtime"] = _runtime(Path(scratch) / "runtime")
        work = Path(scratch) / "work"
        work.mkdir()
        for label, fixtures in _fixture_runs(events, function):
            if not fixtures:
                continue
            outcome = _run(interpreter, target, tree, fixtures, work=work)
            if "crash" in outcome:
                raise RuntimeError(f"tracing the {label} fixtures' imports failed: {outcome['crash']}")
            files.update(Path(name) for name in outcome["files"] if Path(name).is_relative_to(site))
    return {path.relative_to(site) for path in files}


def verify(
    interpreter: Path,
    target: Target,
    *,
    layer: Path,
    models: Path,
    function: Path,
    events: Path,
) -> Verification:
    """Run the HTTP and SQS fixtures through `handler.lambda_handler` in a Lambda-like tree."""
    verification = Verification()
    with tempfile.TemporaryDirectory(prefix="onnx-lambda-verify-") as scratch:
        root = Path(scratch) / "lambda"
        work = Path(scratch) / "work"
        work.mkdir()
        tree = unpack(layer, models, function, root)
        _read_only(root)
        try:
            for label, fixtures in _fixture_runs(events, tree["task"]):
                if not fixtures:
                    verification.checked.append(f"{label}: no fixtures to run")
                    continue
                outcome = _run(interpreter, target, tree, fixtures, work=work)
                if "crash" in outcome:
                    verification.failures.append(f"{label} interpreter failed: {outcome['crash']}")
                    continue
                if outcome["outside"]:
                    outside = ", ".join(outcome["outside"][:10])
                    verification.failures.append(
                        f"{label}: modules loaded from outside the Lambda tree: {outside}"
                    )
                (_judge_http if label == "http" else _judge_events)(outcome, verification)
        finally:
            _read_only(root, writable=True)
    return verification
