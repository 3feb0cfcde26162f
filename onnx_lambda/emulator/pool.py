"""A function's pool of execution environments: warm reuse, cold starts, throttling, idle reaping."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass

from onnx_lambda.emulator.config import FunctionConfig
from onnx_lambda.emulator.instances import Instance, State
from onnx_lambda.emulator.logs import (
    LogSink,
    RecentLogs,
    Report,
    end_line,
    init_start_line,
    start_line,
)
from onnx_lambda.emulator.runtime_api import InvocationRequest, Outcome


class Throttled(Exception):
    """Every instance is busy and the concurrency limit allows no more: Lambda's 429."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Rate Exceeded. (concurrency limit of {limit} reached)")
        self.limit = limit


@dataclass(frozen=True)
class Invocation:
    """One finished invocation: what the caller gets back, its logs and its REPORT figures."""

    request_id: str
    payload: bytes
    error_type: str | None
    logs: list[str]
    report: Report

    @property
    def function_error(self) -> str | None:
        """`X-Amz-Function-Error`: "Unhandled" when the function or the platform failed it."""
        return "Unhandled" if self.error_type else None

    def json(self) -> object:
        return json.loads(self.payload) if self.payload else None


class Function:
    """Runs invocations of one function in its own pool of instances."""

    def __init__(self, config: FunctionConfig, sink: LogSink | None = None) -> None:
        """An empty pool: the first invocation starts the first instance.

        config: handler, memory, timeout, concurrency and environment of the function.
        sink: where log lines go as well as to `logs` (None: only kept in `logs`).
        """
        self.config = config
        self.logs = RecentLogs(sink)
        self.instances: list[Instance] = []
        self._idle: list[Instance] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._reaper: asyncio.Task[None] | None = None

    @property
    def busy(self) -> int:
        return len(self.instances) - len(self._idle)

    def start_reaper(self) -> None:
        """Stop instances idle for longer than the idle timeout, in the background."""
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def invoke(
        self,
        payload: bytes,
        *,
        wait: bool = False,
        client_context: str | None = None,
        request_id: str | None = None,
        trace_id: str | None = None,
    ) -> Invocation:
        """Run one invocation; `wait` queues for capacity instead of raising `Throttled`."""
        instance = await self._acquire(wait)
        request_id = request_id or str(uuid.uuid4())
        lines: list[str] = []
        instance.collector = lines
        try:
            cold = instance.state is State.NEW
            if cold:
                instance.emit(init_start_line())
                failure = await instance.start()
                if failure is not None:
                    return self._init_failed(instance, request_id, failure, lines)
            deadline_ms = int(time.time() * 1000 + self.config.timeout_s * 1000)
            request = InvocationRequest(
                request_id, payload, deadline_ms, self.config.arn, trace_id or _trace_id(), client_context
            )
            return await self._run(instance, request, cold, lines)
        finally:
            instance.collector = None
            self._release(instance)

    async def _run(
        self, instance: Instance, request: InvocationRequest, cold: bool, lines: list[str]
    ) -> Invocation:
        config = self.config
        request_id = request.request_id
        assert instance.api is not None
        instance.emit(start_line(request_id))
        outcome = await instance.invoke(request)
        duration_ms = (time.perf_counter() - instance.api.dispatched_at) * 1000
        report = Report(
            request_id,
            duration_ms,
            config.memory_mb,
            instance.peak_memory_mb(),
            instance.init_duration_ms if cold else None,
            *_status(outcome),
        )
        instance.emit(end_line(request_id))
        instance.emit(report.line())
        return Invocation(request_id, outcome.payload, outcome.error_type, lines, report)

    def _init_failed(
        self, instance: Instance, request_id: str, failure: Outcome, lines: list[str]
    ) -> Invocation:
        init_ms = instance.init_duration_ms or 0.0
        status, error_type = _status(failure)
        instance.emit(
            f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: {status}"
            + (f"\tError Type: {error_type}" if error_type else "")
        )
        instance.emit(start_line(request_id))
        instance.emit(end_line(request_id))
        report = Report(
            request_id, 0.0, self.config.memory_mb, instance.peak_memory_mb(), init_ms, status, error_type
        )
        instance.emit(report.line())
        return Invocation(request_id, failure.payload, failure.error_type, lines, report)

    async def _acquire(self, wait: bool) -> Instance:
        while True:
            if self._idle:
                instance = self._idle.pop()
                if instance.process is None or instance.process.poll() is not None:
                    self._discard(instance)  # exited while idle: its next use would fail
                    continue
                instance.state = State.BUSY
                return instance
            if len(self.instances) < self.config.concurrency:
                instance = Instance(self.config, self.logs)
                self.instances.append(instance)
                return instance
            if not wait:
                raise Throttled(self.config.concurrency)
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    def _release(self, instance: Instance) -> None:
        if instance.state is State.IDLE:
            # Most recently used first, as Lambda tends to reuse the warmest environment.
            self._idle.append(instance)
        else:
            self._discard(instance)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
                break

    def _discard(self, instance: Instance) -> None:
        with contextlib.suppress(ValueError):
            self.instances.remove(instance)
        with contextlib.suppress(ValueError):
            self._idle.remove(instance)
        asyncio.get_running_loop().create_task(instance.close())

    async def _reap(self) -> None:
        interval = min(1.0, self.config.idle_timeout_s / 2)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for instance in list(self._idle):
                if now - instance.last_used > self.config.idle_timeout_s:
                    self._discard(instance)

    async def close(self) -> None:
        """Stop the reaper and every instance."""
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        instances, self.instances, self._idle = self.instances, [], []
        await asyncio.gather(*(instance.close() for instance in instances), return_exceptions=True)


def _status(outcome: Outcome) -> tuple[str | None, str | None]:
    """The REPORT line's `Status` and `Error Type` for platform failures (none for handler errors)."""
    if outcome.error_type == "Sandbox.Timedout":
        return "timeout", None
    if outcome.error_type and outcome.error_type.startswith(("Runtime.", "Function.")):
        return "error", outcome.error_type
    return None, None


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Sampled=0"
