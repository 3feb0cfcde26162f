"""Asynchronous (`Event`) invocations: queued, retried twice on error, failures kept on disk.

Lambda puts an `Event` invocation on an internal queue, runs it when there is capacity, and retries
it twice after a function error. What still fails is sent to the on-failure destination; here the
destination record (Lambda's own shape) is appended to a JSON Lines file and kept in `failures`,
which the Invoke API also serves at `GET /_emulator/failed-events`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from onnx_lambda.emulator.pool import Function, Invocation

RETRY_DELAYS_S = (1.0, 2.0)  # Lambda waits 1 then 2 minutes; the emulator waits seconds


class EventQueue:
    """Runs `Event` invocations of one function in the background."""

    def __init__(
        self,
        function: Function,
        failures_path: Path | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS_S,
    ) -> None:
        """An empty queue.

        function: the function to invoke.
        failures_path: JSON Lines file for invocations that failed every attempt (None: memory only).
        retry_delays: seconds before each retry; its length is the number of retries.
        """
        self.function = function
        self.failures_path = failures_path
        self.retry_delays = tuple(retry_delays)
        self.failures: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, payload: bytes, request_id: str) -> None:
        """Queue one invocation; it runs when the function has a free instance."""
        task = asyncio.get_running_loop().create_task(self._run(payload, request_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, payload: bytes, request_id: str) -> None:
        attempts = 0
        while True:
            attempts += 1
            invocation = await self.function.invoke(payload, wait=True, request_id=request_id)
            if invocation.error_type is None:
                return
            if attempts > len(self.retry_delays):
                self._keep(payload, invocation, attempts)
                return
            await asyncio.sleep(self.retry_delays[attempts - 1])

    def _keep(self, payload: bytes, invocation: Invocation, attempts: int) -> None:
        record = {
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": f"{self.function.config.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": _parsed(payload),
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": invocation.function_error,
            },
            "responsePayload": _parsed(invocation.payload),
        }
        self.failures.append(record)
        if self.failures_path is not None:
            self.failures_path.parent.mkdir(parents=True, exist_ok=True)
            with self.failures_path.open("a") as file:
                file.write(json.dumps(record) + "\n")
        self.function.logs(
            f"[emulator] Event invocation {invocation.request_id} failed {attempts} times; "
            f"kept in {self.failures_path or 'memory'}"
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _parsed(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace")
