"""Execution environments: one `python -m awslambdaric HANDLER` process each, cold on first use.

An instance runs one invocation at a time. Its stdout and stderr (one pipe) become the function's
logs, attributed to the invocation in flight. The emulator enforces what Lambda enforces: the
timeout (kill, then the next invocation is cold), the memory size (peak RSS over the limit → kill,
`Runtime.OutOfMemory`) and a process that exits mid-invocation (`Runtime.ExitError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import psutil  # type: ignore[import-untyped]

from onnx_lambda.emulator.config import FunctionConfig
from onnx_lambda.emulator.logs import timeout_line
from onnx_lambda.emulator.runtime_api import InvocationRequest, Outcome, RuntimeApi

MEMORY_POLL_S = 0.01


class State(enum.Enum):
    NEW = "new"
    INITIALISING = "initialising"
    IDLE = "idle"
    BUSY = "busy"
    DEAD = "dead"


class Instance:
    """One execution environment: its process, its Runtime API, and what it has logged."""

    def __init__(self, config: FunctionConfig, log: Callable[[str], None]) -> None:
        """Create the instance; nothing runs until `start()`.

        config: the function this instance runs.
        log: receives every line the process writes (and is where its platform lines go).
        """
        self.config = config
        self.log = log
        self.state = State.NEW
        self.init_duration_ms: float | None = None
        self.last_used = time.monotonic()
        self.collector: list[str] | None = None
        self.api: RuntimeApi | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._psutil: psutil.Process | None = None
        self._buffer = b""
        self._exited: asyncio.Future[int] | None = None
        self._peak_kb = 0
        self._kill_reason: Outcome | None = None
        self._reaping: asyncio.Task[None] | None = None

    def emit(self, line: str) -> None:
        """Log one line and keep it with the invocation in flight."""
        if self.collector is not None:
            self.collector.append(line)
        self.log(line)

    async def start(self) -> Outcome | None:
        """Start the process and wait for its init phase: None when ready, else the init error."""
        loop = asyncio.get_running_loop()
        self.state = State.INITIALISING
        self.api = RuntimeApi()
        await self.api.start()
        env = self.config.instance_environment(self.api.address)
        started = time.perf_counter()
        self.process = await loop.run_in_executor(None, self._spawn, env)
        self._exited = loop.create_future()
        fd = self.process.stdout.fileno()  # type: ignore[union-attr]
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._read_output)
        watch = loop.create_task(self._watch_memory())
        limit = self.config.init_timeout_s + self.config.timeout_s
        try:
            waits: list[asyncio.Future[Any]] = [self.api.initialised, self._exited]
            done, _ = await asyncio.wait(waits, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
        self.init_duration_ms = (time.perf_counter() - started) * 1000
        if self.api.initialised in done and self.api.initialised.result() is None:
            self.state = State.IDLE
            return None
        if self.api.initialised.done() and self.api.initialised.result() is not None:
            failure = self.api.initialised.result()
        elif self._kill_reason is not None:
            failure = self._kill_reason
        elif self._exited.done():
            failure = self._exit_error(self._exited.result())
        else:
            failure = Outcome.error("Sandbox.Timedout", f"Init phase did not finish in {limit:.2f} seconds")
        await self.close()
        assert failure is not None
        return failure

    def _spawn(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [self.config.python, "-m", "awslambdaric", self.config.handler],
            cwd=self.config.task_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C in the terminal stops the emulator, which then stops instances.
            start_new_session=True,
        )

    async def invoke(self, invocation: InvocationRequest) -> Outcome:
        """Run one invocation to its end: the runtime's answer, a timeout, OOM or a crash."""
        assert self.api is not None
        assert self._exited is not None
        loop = asyncio.get_running_loop()
        self.state = State.BUSY
        result = self.api.deliver(invocation)
        timeout = loop.call_later(self.config.timeout_s, self._time_out, invocation)
        watch = loop.create_task(self._watch_memory())
        try:
            waits: list[asyncio.Future[Any]] = [result, self._exited]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timeout.cancel()
            watch.cancel()
        self._drain()
        if result.done():
            outcome = result.result()
            if outcome.error_type is None and self.peak_memory_mb() > self.config.memory_mb:
                outcome = self._out_of_memory()
        else:
            outcome = self._kill_reason or self._exit_error(self._exited.result())
            self.api.settle(outcome)
        self.last_used = time.monotonic()
        if self.state is not State.DEAD and self._exited.done():
            self.state = State.DEAD
        if self.state is State.BUSY:
            self.state = State.IDLE
        return outcome

    def _time_out(self, invocation: InvocationRequest) -> None:
        self.emit(timeout_line(invocation.request_id, self.config.timeout_s))
        seconds = f"{self.config.timeout_s:.2f}"
        message = f"RequestId: {invocation.request_id} Error: Task timed out after {seconds} seconds"
        self._kill(Outcome.error("Sandbox.Timedout", message))

    def _out_of_memory(self) -> Outcome:
        outcome = Outcome.error("Runtime.OutOfMemory", "Runtime exited with error: signal: killed")
        self._kill(outcome)
        return outcome

    def _kill(self, reason: Outcome) -> None:
        self._kill_reason = reason
        self.state = State.DEAD
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.api is not None:
            self.api.settle(reason)

    async def _watch_memory(self) -> None:
        while True:
            await asyncio.sleep(MEMORY_POLL_S)
            if self.peak_memory_mb() > self.config.memory_mb:
                self._out_of_memory()
                return

    def peak_memory_mb(self) -> int:
        """The process's peak resident memory (VmHWM) in MB: Lambda's `Max Memory Used`."""
        if self.process is None:
            return 0
        try:
            with open(f"/proc/{self.process.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        self._peak_kb = max(self._peak_kb, int(line.split()[1]))
                        break
        except OSError:
            self._peak_kb = max(self._peak_kb, self._rss_kb())
        return self._peak_kb // 1024

    def _rss_kb(self) -> int:
        # Without /proc (macOS), sample the current RSS and keep the highest seen.
        try:
            if self._psutil is None and self.process is not None:
                self._psutil = psutil.Process(self.process.pid)
            return int(self._psutil.memory_info().rss // 1024) if self._psutil else 0
        except psutil.Error:
            return 0

    def _read_output(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        try:
            data = os.read(self.process.stdout.fileno(), 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._on_eof()
            return
        self._take(data)

    def _drain(self) -> None:
        """Read what the process logged before answering, so it lands with this invocation."""
        if self.process is None or self.process.stdout is None or self.process.stdout.closed:
            return
        while True:
            try:
                data = os.read(self.process.stdout.fileno(), 65536)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            self._take(data)
        if self._buffer:
            self.emit(self._buffer.decode(errors="replace"))
            self._buffer = b""

    def _take(self, data: bytes) -> None:
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            self.emit(line.decode(errors="replace"))

    def _on_eof(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            loop.remove_reader(self.process.stdout.fileno())
        if self._buffer:
            self.emit(self._buffer.decode(errors="replace"))
            self._buffer = b""
        process = self.process

        async def reap() -> None:
            code = await loop.run_in_executor(None, process.wait)
            if self._exited is not None and not self._exited.done():
                self._exited.set_result(code)

        self._reaping = loop.create_task(reap())

    def _exit_error(self, code: int) -> Outcome:
        reason = f"signal: {_signal_name(-code)}" if code < 0 else f"exit status {code}"
        return Outcome.error("Runtime.ExitError", f"Runtime exited with error: {reason}")

    async def close(self) -> None:
        """Stop the process and its Runtime API."""
        self.state = State.DEAD
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            if self.process.stdout is not None:
                with contextlib.suppress(Exception):
                    asyncio.get_running_loop().remove_reader(self.process.stdout.fileno())
                    self.process.stdout.close()
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(None, self.process.wait, 5)
        if self.api is not None:
            await self.api.close()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name.removeprefix("SIG").lower().replace("kill", "killed")
    except ValueError:
        return str(number)
