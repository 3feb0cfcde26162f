"""SnapStart hooks: registered only where the runtime offers them, run as Lambda's runtime runs them."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import boto3
import numpy as np
import pytest

from handler import snapstart
from handler.settings import BUNDLED_MODELS, Settings
from handler.store import Model, ModelStore

ROOT = Path(__file__).resolve().parent.parent

# The same registries and signatures as Lambda's `snapshot_restore_py`; the runtime calls each
# (func, args, kwargs) entry: before-snapshot ones last-registered first, after-restore ones in order.
FAKE_MODULE = textwrap.dedent(
    """
    _before, _after = [], []

    def register_before_snapshot(func, *args, **kwargs):
        _before.append((func, args, kwargs))
        return func

    def register_after_restore(func, *args, **kwargs):
        _after.append((func, args, kwargs))
        return func

    def snapshot():
        for func, args, kwargs in reversed(_before):
            func(*args, **kwargs)

    def restore():
        for func, args, kwargs in _after:
            func(*args, **kwargs)
    """
)


@pytest.fixture
def runtime(monkeypatch) -> types.ModuleType:
    """A fake `snapshot_restore_py` in sys.modules, and a clean restore-callback registry."""
    module = types.ModuleType("snapshot_restore_py")
    exec(FAKE_MODULE, module.__dict__)
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    monkeypatch.setattr(snapstart, "_restore_callbacks", [])
    monkeypatch.setattr(snapstart, "_snapshot_callbacks", [])
    return module


@pytest.fixture(scope="module")
def store() -> ModelStore:
    return ModelStore.load(Settings(models=str(BUNDLED_MODELS), intra_op_threads=1, warmup=False))


def test_without_snapstart_nothing_is_registered(monkeypatch, store):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # makes the import fail
    assert snapstart.register(store) is False


def test_before_snapshot_warms_every_model_of_the_store(runtime, store, monkeypatch):
    warmed: list[str] = []
    monkeypatch.setattr(Model, "warm_up", lambda model: warmed.append(model.name))
    assert snapstart.register(store) is True
    assert warmed == []
    runtime.snapshot()
    assert sorted(warmed) == ["breast_cancer", "cnn", "diabetes", "iris"]


def test_after_restore_reseeds_random_and_numpy(runtime, store):
    snapstart.register(store)
    random.seed(1234)
    np.random.seed(1234)
    at_snapshot = (random.random(), np.random.random())
    random.seed(1234)
    np.random.seed(1234)
    runtime.restore()
    assert (random.random(), np.random.random()) != at_snapshot


def test_after_restore_recreates_registered_clients_in_order(runtime, store):
    snapstart.register(store)
    clients = {"sqs": boto3.client("sqs", region_name="eu-west-1")}
    created_at_init = clients["sqs"]
    order: list[str] = []
    snapstart.on_restore(lambda: order.append("first"))
    snapstart.on_restore(lambda: clients.update(sqs=boto3.client("sqs", region_name="eu-west-1")))
    snapstart.on_restore(lambda: order.append("last"))
    assert clients["sqs"] is created_at_init
    runtime.restore()
    assert clients["sqs"] is not created_at_init
    assert order == ["first", "last"]


def test_importing_handler_registers_hooks_for_its_store(tmp_path):
    (tmp_path / "snapshot_restore_py.py").write_text(FAKE_MODULE)
    script = textwrap.dedent(
        """
        import snapshot_restore_py as runtime
        from handler import snapstart
        from handler.environment import STORE
        from handler.store import Model

        warmed = []
        Model.warm_up = lambda model: warmed.append(model.name)
        restored = []
        snapstart.on_restore(lambda: restored.append(True))
        runtime.snapshot()
        runtime.restore()
        print("hooks:", sorted(warmed) == sorted(model.name for model in STORE), restored)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    env.pop("ONNX_LAMBDA_MODELS", None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # The function's own logs go to stdout too; the script's answer is the line it marks.
    [answer] = [line for line in result.stdout.splitlines() if line.startswith("hooks:")]
    assert answer == "hooks: True [True]"


def test_the_http_entry_builds_its_fastapi_app_before_the_snapshot(tmp_path):
    (tmp_path / "snapshot_restore_py.py").write_text(FAKE_MODULE)
    script = textwrap.dedent(
        """
        import sys
        import snapshot_restore_py as runtime
        import handler.http

        before = "fastapi" in sys.modules
        runtime.snapshot()
        print("fastapi:", before, "fastapi" in sys.modules, handler.http.app.app._app is not None)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), "ONNX_LAMBDA_WARMUP": "0"}
    result = subprocess.run(
        [sys.executable, "-c", script], check=True, cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip().splitlines()[-1] == "fastapi: False True True"
