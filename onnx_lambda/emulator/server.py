"""The whole emulation: a function's pool, its front doors and its event source mappings.

`Emulator` runs on an asyncio loop (the CLI's); `ThreadedEmulator` runs one on a background
thread, for tests and benchmarks that call it with ordinary blocking clients.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from onnx_lambda.emulator.apigateway import ApiGateway
from onnx_lambda.emulator.async_invoke import RETRY_DELAYS_S, EventQueue
from onnx_lambda.emulator.config import FunctionConfig
from onnx_lambda.emulator.http11 import HttpServer
from onnx_lambda.emulator.invoke_api import InvokeApi
from onnx_lambda.emulator.logs import LogSink
from onnx_lambda.emulator.pool import Function
from onnx_lambda.emulator.sqs_mapping import SqsMapping, SqsMappingConfig

T = TypeVar("T")


FAILED_EVENTS = Path(".onnx-lambda/failed-events.jsonl")
"""Where Event invocations that failed every attempt are kept, by default."""


@dataclass(frozen=True)
class EmulatorConfig:
    """Which doors to open and where; a port of None keeps that door shut, 0 picks a free port."""

    function: FunctionConfig = field(default_factory=FunctionConfig)
    host: str = "127.0.0.1"
    http_port: int | None = 8080
    invoke_port: int | None = 3001
    payload_version: str = "2.0"
    stage: str = "$default"
    failed_events: Path | None = FAILED_EVENTS
    event_retry_delays: tuple[float, ...] = RETRY_DELAYS_S
    sqs: tuple[SqsMappingConfig, ...] = ()


class Emulator:
    """Starts and stops everything `EmulatorConfig` asks for."""

    def __init__(self, config: EmulatorConfig, sink: LogSink | None = None) -> None:
        self.config = config
        self.sink = sink
        self.function: Function | None = None
        self.events: EventQueue | None = None
        self.http: HttpServer | None = None
        self.invoke: HttpServer | None = None
        self.mappings: list[SqsMapping] = []

    @property
    def http_url(self) -> str:
        assert self.http is not None
        return f"http://{self.config.host}:{self.http.port}"

    @property
    def invoke_url(self) -> str:
        assert self.invoke is not None
        return f"http://{self.config.host}:{self.invoke.port}"

    async def start(self) -> None:
        config = self.config
        self.function = function = Function(config.function, self.sink)
        function.start_reaper()
        self.events = EventQueue(function, config.failed_events, config.event_retry_delays)
        if config.http_port is not None:
            door = ApiGateway(function, config.payload_version, config.stage)
            self.http = HttpServer(door.handle, config.host, config.http_port)
            await self.http.start()
        if config.invoke_port is not None:
            api = InvokeApi({config.function.name: function}, {config.function.name: self.events})
            self.invoke = HttpServer(api.handle, config.host, config.invoke_port, max_body=7 << 20)
            await self.invoke.start()
        for mapping_config in config.sqs:
            mapping = SqsMapping(function, mapping_config)
            await mapping.start()
            self.mappings.append(mapping)

    async def close(self) -> None:
        for mapping in self.mappings:
            await mapping.close()
        for server in (self.http, self.invoke):
            if server is not None:
                await server.close()
        if self.events is not None:
            await self.events.close()
        if self.function is not None:
            await self.function.close()


class ThreadedEmulator:
    """An `Emulator` on its own event loop thread; use as a context manager."""

    def __init__(self, config: EmulatorConfig, sink: LogSink | None = None) -> None:
        self.emulator = Emulator(config, sink)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="onnx-lambda-emulator", daemon=True
        )

    def start(self) -> Emulator:
        self._thread.start()
        try:
            self.call(self.emulator.start())
        except BaseException:
            self.stop()  # a door that did bind, the loop and its thread: none outlives a failed start
            raise
        return self.emulator

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 120) -> T:
        """Run a coroutine on the emulator's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self.emulator.close())
        self.call(self.loop.shutdown_default_executor())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
