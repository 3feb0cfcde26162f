"""The execution environment's state, built once during Lambda's init phase."""

from __future__ import annotations

import gc

from handler.invocation import CURRENT, INIT  # first: starts the init clock
from handler.settings import Settings
from handler.store import ModelStore

INIT.lap("imports")
SETTINGS = Settings.from_env()


def observe(settings: Settings) -> None:
    """Make logs JSON, and write a metrics record per invocation unless ONNX_LAMBDA_METRICS is off."""
    from handler.logs import configure

    configure(settings)
    if settings.metrics:
        from handler.metrics import EmbeddedMetrics

        CURRENT.recorder = EmbeddedMetrics(settings.metrics_namespace, settings.function_name, INIT)


observe(SETTINGS)
INIT.lap("imports")  # with reading the configuration: InitDurationImports
STORE = ModelStore.load(SETTINGS)
INIT.lap("model_load", minus=STORE.warm_up_seconds)
INIT.add("warm_up", STORE.warm_up_seconds)


def settle() -> None:
    """Move everything built at init out of the garbage collector's sight.

    Sessions, modules and the web app live as long as the environment; without this, each full
    collection walks them again and adds hundreds of microseconds to a warm request's tail.
    """
    gc.freeze()


settle()
INIT.done()
