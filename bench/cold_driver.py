"""One cold start, timed from the inside: run as a fresh process by bench/coldstart.py.

    python bench/cold_driver.py SCENARIO MODEL_PATH < event-as-python-literal

Prints one line, `COLD {json}`, with perf_counter timestamps of each phase's end. perf_counter is
CLOCK_MONOTONIC on Linux, shared by every process, so the parent's timestamp taken just before the
spawn and this process's first line bound the interpreter's start. Nothing is imported before the
first timestamp, and json only after the last one, so the phases cost what the scenario costs.
"""

import time

FIRST = time.perf_counter()

import sys  # noqa: E402 - after the first timestamp on purpose

SCENARIO, MODEL_PATH = sys.argv[1], sys.argv[2]
if SCENARIO != "pass":
    # What Lambda's Python runtime client imports before it loads the function (json, logging,
    # traceback, threading among them): on Lambda these are loaded before init, for every function.
    import awslambdaric.bootstrap  # noqa: F401
RUNTIME = time.perf_counter()
EVENT = eval(sys.stdin.read() or "None")  # a Python literal: no json import before the phases
marks: dict[str, float] = {"start": time.perf_counter()}
session_seconds = 0.0
warmup_seconds = 0.0


def instrument_sessions() -> None:
    """Count the time spent creating ONNX Runtime sessions and running them during init."""
    # numpy first, as the handler (handler/store.py) and the floor import them: importing
    # onnxruntime before numpy costs about 10 ms more here, which would be the driver's, not the
    # handler's. Both imports still count in this scenario's imports phase.
    import numpy  # noqa: F401
    from onnxruntime.capi.onnxruntime_inference_collection import InferenceSession

    create, run = InferenceSession.__init__, InferenceSession.run

    def timed_create(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        global session_seconds
        started = time.perf_counter()
        create(self, *args, **kwargs)
        session_seconds += time.perf_counter() - started

    def timed_run(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        global warmup_seconds
        started = time.perf_counter()
        result = run(self, *args, **kwargs)
        warmup_seconds += time.perf_counter() - started
        return result

    InferenceSession.__init__ = timed_create
    InferenceSession.run = timed_run


def floor(extra_imports: bool) -> None:
    """python + numpy + onnxruntime (+ fastapi + mangum) + one session + one run."""
    import numpy as np
    import onnxruntime as ort

    if extra_imports:
        import fastapi  # noqa: F401
        import mangum  # noqa: F401
    marks["imports"] = time.perf_counter()
    session = ort.InferenceSession(MODEL_PATH, providers=["CPUExecutionProvider"])
    marks["model_load"] = time.perf_counter()
    marks["warmup"] = marks["model_load"]
    spec = session.get_inputs()[0]
    shape = [1 if not isinstance(dim, int) or dim < 0 else dim for dim in spec.shape]
    session.run(None, {spec.name: np.zeros(shape, dtype=np.float32)})
    marks["first_invocation"] = time.perf_counter()


def tutorial() -> None:
    """The FastAPI app as tutorials write it, answering one API Gateway event through Mangum."""
    import numpy  # noqa: F401 - the app's own imports, timed as imports
    import onnxruntime as ort

    marks["imports"] = time.perf_counter()
    session = ort.InferenceSession(MODEL_PATH, providers=["CPUExecutionProvider"])
    marks["model_load"] = time.perf_counter()
    from tutorial_app import tutorial as build  # bench/, this script's directory, is on sys.path

    handler = build(session)
    # Defining the app (and importing fastapi, mangum, pydantic) is this scenario's "imports" too.
    marks["imports"] += time.perf_counter() - marks["model_load"]
    marks["model_load"] = marks["warmup"] = time.perf_counter()
    response = handler(EVENT, None)
    marks["first_invocation"] = time.perf_counter()
    assert response["statusCode"] == 200, response


def ours(module: str) -> None:
    """Import one of onnx-lambda's entry modules and answer one event."""
    import importlib

    instrument_sessions()
    entry = importlib.import_module(module)
    ready = time.perf_counter()
    # Init ran sessions and warm-up somewhere inside the import; the rest of it is imports.
    marks["imports"] = ready - session_seconds - warmup_seconds
    marks["model_load"] = ready - warmup_seconds
    marks["warmup"] = ready
    response = entry.lambda_handler(EVENT, None)
    marks["first_invocation"] = time.perf_counter()
    if isinstance(response, dict) and "statusCode" in response:
        assert response["statusCode"] == 200, response
    else:
        assert not response.get("batchItemFailures"), response


if SCENARIO == "pass":
    marks["imports"] = marks["model_load"] = marks["warmup"] = marks["first_invocation"] = marks["start"]
elif SCENARIO == "floor-ort":
    floor(extra_imports=False)
elif SCENARIO == "floor-web":
    floor(extra_imports=True)
elif SCENARIO == "tutorial":
    tutorial()
else:
    ours(SCENARIO)

import json  # noqa: E402
import resource  # noqa: E402

marks["first"] = FIRST
marks["runtime"] = RUNTIME
usage = resource.getrusage(resource.RUSAGE_SELF)
# ru_maxrss starts from the parent's size at fork; the high-water mark of this image is VmHWM.
with open("/proc/self/status") as status:
    marks["max_rss_kb"] = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
marks["cpu_seconds"] = usage.ru_utime + usage.ru_stime
print("COLD " + json.dumps(marks), flush=True)
