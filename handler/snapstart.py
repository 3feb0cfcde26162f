"""Lambda SnapStart runtime hooks: warm the models before the snapshot, refresh state after a restore.

Lambda's python3.12+ runtimes ship `snapshot_restore_py`. Where it is absent (python3.11, local
runs) `register` does nothing, at the cost of one failed import (about 0.1 ms).

Before the snapshot, every model of the store runs once, so the snapshot holds sessions whose lazy
setup (memory arenas, kernel choices) is done instead of leaving it to the first restored request;
then the callbacks registered with `on_snapshot(callback)` run, to build what a function otherwise
builds on first use (the HTTP entry's FastAPI app): init is paid once, when the version is published.

After a restore, many execution environments resume from the same memory image, so anything that
was random or connected during init would be shared between them. The after-restore hook therefore

- re-seeds the `random` module, and numpy's global generator when something imported it;
- runs the callbacks registered with `on_restore(callback)`, in the order they were registered.

A module that caches a boto3 client registers how to drop or rebuild it, so each restored
environment opens its own connections with its own credentials::

    _clients: dict[str, Any] = {}
    snapstart.on_restore(_clients.clear)  # the next call to client() creates a fresh one

Callbacks run only on a SnapStart restore; they cost nothing otherwise.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from typing import Protocol

_restore_callbacks: list[Callable[[], object]] = []
_snapshot_callbacks: list[Callable[[], object]] = []


class Warmable(Protocol):
    """A loaded model that can run once on dummy inputs."""

    def warm_up(self) -> None: ...


def on_restore(callback: Callable[[], object]) -> Callable[[], object]:
    """Call `callback` after each SnapStart restore (e.g. to re-create a cached boto3 client)."""
    _restore_callbacks.append(callback)
    return callback


def on_snapshot(callback: Callable[[], object]) -> Callable[[], object]:
    """Call `callback` before a SnapStart snapshot, after the models' warm-up."""
    _snapshot_callbacks.append(callback)
    return callback


def before_snapshot(models: Iterable[Warmable]) -> None:
    """Run every model once, then the `on_snapshot` callbacks, so the snapshot holds it all built."""
    for model in models:
        model.warm_up()
    for callback in list(_snapshot_callbacks):
        callback()


def after_restore() -> None:
    """Re-seed randomness and run the `on_restore` callbacks."""
    # Only modules already imported hold state from the snapshot; importing `random` just to
    # seed it would cost every cold start ~1 ms, and one imported later seeds itself.
    stdlib_random = sys.modules.get("random")
    if stdlib_random is not None:
        stdlib_random.seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()
    for callback in list(_restore_callbacks):
        callback()


def register(models: Iterable[Warmable]) -> bool:
    """Register the hooks with Lambda's runtime; False (and nothing done) where it has no SnapStart."""
    try:
        hooks = importlib.import_module("snapshot_restore_py")
    except ImportError:
        return False
    hooks.register_before_snapshot(before_snapshot, models)
    hooks.register_after_restore(after_restore)
    return True
