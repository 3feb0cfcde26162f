"""What the current invocation is about and what it measured, for its log lines and its metrics.

A Lambda execution environment runs one invocation at a time, so the state lives in one module-level
object, `CURRENT`, reset by `begin` at the start of each invocation (as Powertools resets its batch
processor) and read by the log formatter and the metrics record. Phases are timed with
`time.perf_counter` by the code that runs them; nothing here allocates per invocation.

`INIT` times the init phase: the clock starts when this module is first imported, which is the first
thing `handler.environment` does, and each part of init adds its lap (imports, model load, warm-up).
"""

from __future__ import annotations

import logging
import os
from time import perf_counter
from typing import Any, Protocol

logger = logging.getLogger("onnx_lambda.invocation")

# Lambda sets _X_AMZN_TRACE_ID in os.environ before each invocation. Reading it through the mapping
# costs half a microsecond (a microsecond or two when absent, through KeyError); the encoded dict
# under it answers in a tenth of that.
_ENVIRON: Any = os.environ
_ENVIRON_DATA: Any = getattr(_ENVIRON, "_data", _ENVIRON)
_TRACE_KEY = _ENVIRON.encodekey("_X_AMZN_TRACE_ID") if _ENVIRON_DATA is not _ENVIRON else "_X_AMZN_TRACE_ID"


def xray_trace_header() -> str | None:
    """The X-Ray trace header Lambda set for the current invocation (`_X_AMZN_TRACE_ID`), if any."""
    raw = _ENVIRON_DATA.get(_TRACE_KEY)
    if raw is None or _ENVIRON_DATA is _ENVIRON:
        return raw  # type: ignore[no-any-return]
    return _ENVIRON.decodevalue(raw)  # type: ignore[no-any-return]


class InitTimings:
    """How long each phase of this execution environment's init took, in seconds."""

    def __init__(self) -> None:
        self.started = self.last = perf_counter()
        self.phases: dict[str, float] = {}
        self.total = 0.0

    def lap(self, phase: str, minus: float = 0.0) -> None:
        """Add the time since the previous lap to `phase`, less `minus` seconds counted elsewhere."""
        now = perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - self.last - minus
        self.last = now

    def add(self, phase: str, seconds: float) -> None:
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds

    def resume(self) -> None:
        """Start timing init work done later, such as an entry module imported on first use."""
        self.started = self.last = perf_counter()

    def done(self) -> None:
        """End a stretch of init work: its time adds to the total."""
        now = perf_counter()
        self.total += now - self.started
        self.started = self.last = now


class Recorder(Protocol):
    """Receives each finished invocation: the metrics record writer."""

    def emit(self, invocation: Invocation) -> None: ...


class RanModel(Protocol):
    """The part of a loaded model that an invocation names in its logs and metric dimensions."""

    name: str
    version: str


MIXED = "mixed"
"""The model dimension of an invocation that ran several models (an event batch can)."""


class Invocation:
    """One invocation's correlation ids and measurements; `begin` resets it."""

    __slots__ = (
        "client_request_id",
        "cold",
        "count",
        "decode",
        "encode",
        "failed",
        "model",
        "models",
        "reason",
        "recorder",
        "records",
        "request_id",
        "rows",
        "run",
        "source",
        "status",
        "summary",
        "trace_id",
        "traceparent",
        "write",
        "wrote",
    )

    def __init__(self) -> None:
        self.count = 0
        self.recorder: Recorder | None = None
        self.summary = False
        self.begin(None, "none")
        self.count = 0

    def begin(self, context: Any, source: str) -> Invocation:
        """Start an invocation: the request id from Lambda's context, every measurement at zero."""
        self.request_id: str | None = getattr(context, "aws_request_id", None)
        self.source = source
        self.model: RanModel | None = None
        self.models = 0
        self.decode = self.run = self.encode = self.write = 0.0
        self.rows = self.records = self.failed = 0
        self.wrote = False
        self.status: int | None = None
        self.reason: str | None = None
        self.traceparent: str | None = None
        self.client_request_id: str | None = None
        self.trace_id = xray_trace_header()
        self.cold = self.count == 0
        self.count += 1
        return self

    def receive(self, source: str, records: int) -> Invocation:
        """Name the event source that delivered this invocation's `records` records."""
        self.source = source
        self.records = records
        return self

    def written(self, seconds: float) -> None:
        """Count `seconds` spent writing predictions to the destination."""
        self.write += seconds
        self.wrote = True

    def ran(self, model: RanModel, seconds: float, rows: int) -> None:
        """Count one session run of `model` over `rows` rows."""
        self.run += seconds
        self.rows += rows
        if self.model is not model:
            self.models += 1
            self.model = model

    @property
    def model_name(self) -> str | None:
        if self.model is None:
            return None
        return self.model.name if self.models == 1 else MIXED

    @property
    def model_version(self) -> str | None:
        return self.model.version if self.model is not None and self.models == 1 else None

    def timings_ms(self) -> dict[str, float]:
        """The phase timings in milliseconds: decode, run, encode and write."""
        return {
            "decode": round(self.decode * 1000, 3),
            "run": round(self.run * 1000, 3),
            "encode": round(self.encode * 1000, 3),
            "write": round(self.write * 1000, 3),
        }

    def finish(self, status: int | None = None) -> None:
        """End the invocation: write its metrics record, and log a summary when DEBUG is on or it failed.

        status: the HTTP status of the response; an inference request answered with 4xx or 5xx
            counts as one failed record.
        """
        if status is not None:
            self.status = status
            if status >= 400 and self.records:
                self.failed = self.records
        if self.recorder is not None:
            self.recorder.emit(self)
        if self.failed:
            logger.warning(
                f"{self.failed} of {self.records} records failed", extra=self._summary(), stacklevel=2
            )
        elif self.summary:
            logger.debug("invocation done", extra=self._summary(), stacklevel=2)

    def _summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "timings_ms": self.timings_ms(),
            "rows": self.rows,
            "records": self.records,
            "records_failed": self.failed,
            "cold_start": self.cold,
        }
        if self.status is not None:
            summary["status"] = self.status
        if self.reason is not None:
            summary["reason"] = self.reason
        return summary


INIT = InitTimings()
CURRENT = Invocation()
