"""Lambda's Runtime API for one execution environment, as `awslambdaric` expects to find it.

Each instance gets its own server on a free loopback port, so every request on it belongs to that
instance and it can hold at most one invocation: `GET .../invocation/next` long-polls until the
pool hands it one, and the runtime answers on `.../{id}/response` or `.../{id}/error`. An import or
init failure arrives on `/init/error` with the error type in `Lambda-Runtime-Function-Error-Type`.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from onnx_lambda.emulator.http11 import HttpRequest, HttpResponse, HttpServer, json_response

PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_ACCEPTED = json_response(202, b'{"status":"OK"}')


@dataclass
class InvocationRequest:
    """What `/invocation/next` hands the runtime: the event and the headers that build `context`."""

    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    client_context: str | None = None

    def headers(self) -> list[tuple[str, str]]:
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", self.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(self.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", self.function_arn),
            ("Lambda-Runtime-Trace-Id", self.trace_id),
        ]
        if self.client_context:
            headers.append(("Lambda-Runtime-Client-Context", self.client_context))
        return headers


@dataclass(frozen=True)
class Outcome:
    """How an init or an invocation ended: the payload, and the error type when it failed."""

    payload: bytes
    error_type: str | None = None

    @classmethod
    def error(cls, error_type: str, message: str) -> Outcome:
        """An error the platform reports itself (timeouts, crashes), shaped as Lambda's are."""
        body = {"errorType": error_type, "errorMessage": message}
        return cls(json.dumps(body).encode(), error_type)


class RuntimeApi:
    """The Runtime API server of one instance; `deliver()` an invocation, await its `Outcome`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.server = HttpServer(self.handle, host, 0, max_body=MAX_RESPONSE_BYTES + (1 << 20))
        self.initialised: asyncio.Future[Outcome | None] = asyncio.get_running_loop().create_future()
        self.dispatched_at = 0.0
        self._pending: InvocationRequest | None = None
        self._waiter: asyncio.Future[InvocationRequest] | None = None
        self._result: asyncio.Future[Outcome] | None = None

    @property
    def address(self) -> str:
        """The value of `AWS_LAMBDA_RUNTIME_API`: host:port, no scheme."""
        return f"{self.server.host}:{self.server.port}"

    async def start(self) -> None:
        await self.server.start()

    async def close(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.cancel()
        await self.server.close()

    def deliver(self, invocation: InvocationRequest) -> asyncio.Future[Outcome]:
        """Hand one invocation to the runtime (now, if it is already polling `next`)."""
        self._result = asyncio.get_running_loop().create_future()
        self._pending = invocation
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(invocation)
        return self._result

    def settle(self, outcome: Outcome) -> None:
        """End the current invocation from outside the runtime (timeout, out of memory, exit)."""
        self._pending = None
        if self._result is not None and not self._result.done():
            self._result.set_result(outcome)
        if not self.initialised.done():
            self.initialised.set_result(outcome)

    async def handle(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if not path.startswith(PREFIX):
            return _error(404, "InvalidRoute", f"no Runtime API route {request.method} {path}")
        route = path[len(PREFIX) :]
        if route == "/invocation/next" and request.method == "GET":
            return await self._next()
        if route == "/init/error" and request.method == "POST":
            return self._init_error(request)
        if route.startswith("/invocation/") and request.method == "POST":
            request_id, _, verb = route[len("/invocation/") :].rpartition("/")
            if verb in ("response", "error"):
                return self._answer(request, request_id, verb)
        return _error(404, "InvalidRoute", f"no Runtime API route {request.method} {path}")

    async def _next(self) -> HttpResponse:
        if not self.initialised.done():
            self.initialised.set_result(None)
        if self._pending is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        invocation = self._pending
        assert invocation is not None
        self.dispatched_at = time.perf_counter()
        return HttpResponse(200, invocation.headers(), invocation.payload)

    def _init_error(self, request: HttpRequest) -> HttpResponse:
        if self.initialised.done():
            return _error(403, "InvalidStateTransition", "init/error after the runtime initialised")
        error_type = request.header(ERROR_TYPE_HEADER) or _error_type(request.body)
        self.initialised.set_result(Outcome(request.body or b"{}", error_type))
        return _ACCEPTED

    def _answer(self, request: HttpRequest, request_id: str, verb: str) -> HttpResponse:
        pending = self._pending
        if pending is None or pending.request_id != request_id or self._result is None:
            return _error(400, "InvalidRequestID", f"no invocation {request_id} is in flight")
        if verb == "error":
            error_type = request.header(ERROR_TYPE_HEADER) or _error_type(request.body)
            outcome = Outcome(request.body, error_type)
        elif len(request.body) > MAX_RESPONSE_BYTES:
            outcome = Outcome.error(
                "Function.ResponseSizeTooLarge",
                f"Response payload size ({len(request.body)} bytes) exceeded maximum allowed payload "
                f"size ({MAX_RESPONSE_BYTES} bytes).",
            )
        else:
            outcome = Outcome(request.body)
        self._pending = None
        if not self._result.done():
            self._result.set_result(outcome)
        return _ACCEPTED


def _error(status: int, error_type: str, message: str) -> HttpResponse:
    body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
    return json_response(status, body)


def _error_type(body: bytes) -> str:
    """The `errorType` of an error document, for runtimes that leave the header out."""
    try:
        document = json.loads(body)
    except ValueError:
        return "Runtime.Unknown"
    error_type = document.get("errorType") if isinstance(document, dict) else None
    return error_type if isinstance(error_type, str) and error_type else "Runtime.Unknown"
