"""Answers the API's routes before any web framework: inference, health checks and metadata."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mangum.protocols.http import HTTPCycle
from mangum.types import Response

from handler.codec import HEADER_LENGTH
from handler.errors import OnnxLambdaError
from handler.http.correlation import Headers, correlate, echoed, with_headers
from handler.http.service import InferenceService, Reply, error_reply, internal_error

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Route = Callable[[bytes], Reply]

_INFER = "/infer"
_PREDICT = ":predict"
_HEADER_LENGTH = HEADER_LENGTH.encode()


class FastPath:
    """Answers infer, predict, invocations, health and metadata; hands every other request to FastAPI.

    These routes are also declared on the FastAPI app, which documents them in OpenAPI and serves
    them the same way through `InferenceService`; this layer skips FastAPI's routing, dependency
    solving and middleware, which cost more than the inference itself on small models, and spares
    the function FastAPI's import until a request needs it (the docs, an unknown path or method).
    """

    def __init__(self, service: InferenceService, framework: Callable[[], ASGIApp]) -> None:
        """Serve `service`'s routes.

        service: the behaviour shared with the FastAPI routes.
        framework: builds the FastAPI app, for every request not answered here; called once, on
            the first such request (or by `prepare`).
        """
        self.service = service
        self.framework = framework
        self._app: ASGIApp | None = None
        # GET routes whose reply never changes: built once, at init.
        self.constant_replies = {
            "/v2/health/live": service.live,
            "/v2/health/ready": service.ready,
            "/ping": service.live,
            "/v2": service.server_metadata,
        }

    @property
    def app(self) -> ASGIApp:
        """The FastAPI app, built on first use."""
        if self._app is None:
            self._app = self.framework()
        return self._app

    def prepare(self) -> None:
        """Build the FastAPI app now (before a SnapStart snapshot, say) rather than on first use."""
        _ = self.app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        echo = correlate(scope)
        route = self.route(scope)
        if route is None:
            await self.app(scope, receive, with_headers(send, echo) if echo else send)
            return
        await respond(send, self.guarded(route, scope, await read_body(receive)), echo)

    def answer(self, scope: Scope, body: bytes) -> Response:
        """Answer one request from Lambda, whose whole body is already at hand, as Mangum's Response.

        A hot route runs straight through, with no event loop: nothing on it awaits anything that
        could suspend, and Mangum's HTTPCycle (a queue, a task and two turns of the loop) costs
        more than the inference on small models. Every other request goes to `app` in that cycle.
        """
        echo = correlate(scope)
        route = self.route(scope)
        if route is None:
            return run_cycle(self.app, scope, body, echo)
        return _response(self.guarded(route, scope, body), echo)

    def refuse(self, scope: Scope, status: int, message: str) -> Response:
        """An error reply, with the correlation headers, for a request whose body could not be read."""
        return _response(error_reply(status, message), correlate(scope))

    def route(self, scope: Scope) -> Route | None:
        """The route answered here for this request, as a function of its body; None for FastAPI."""
        method, path = scope["method"], scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root):
            path = path[len(root) :]
        service = self.service
        if method == "GET":
            constant = self.constant_replies.get(path)
            if constant is not None:
                return lambda body: constant
            return _metadata_route(service, path)
        if method != "POST":
            return None
        if path == "/v2/repository/index":
            return lambda body: service.repository_index()
        if path.startswith("/v2/models/") and path.endswith(_INFER):
            model = _model_and_version(path[len("/v2/models/") : -len(_INFER)].split("/"))
            if model is None:
                return None
            name, version = model
            content_type, header_length = _headers(scope, b"content-type", _HEADER_LENGTH)
            return lambda body: service.infer(name, version, body, content_type, header_length)
        if path.startswith("/v1/models/") and path.endswith(_PREDICT):
            name = path[len("/v1/models/") : -len(_PREDICT)]
            if not name or "/" in name:
                return None
            (content_type,) = _headers(scope, b"content-type")
            return lambda body: service.predict(name, None, body, content_type)
        if path == "/invocations":
            (content_type,) = _headers(scope, b"content-type")
            return lambda body: service.invocations(body, content_type)
        return None

    @staticmethod
    def guarded(route: Route, scope: Scope, body: bytes) -> Reply:
        """The route's reply; a bad request becomes its error reply, a fault a 500 with a request id."""
        try:
            return route(body)
        except OnnxLambdaError as exc:
            return error_reply(exc.status, exc.message)
        except Exception as exc:
            return internal_error(scope, exc)


def _metadata_route(service: InferenceService, path: str) -> Route | None:
    """GET /v2/models/{name}[/versions/{version}][/ready], as FastAPI would match them."""
    if not path.startswith("/v2/models/"):
        return None
    parts = path[len("/v2/models/") :].split("/")
    ready = parts[-1] == "ready" and len(parts) in (2, 4)
    if ready:
        parts.pop()
    model = _model_and_version(parts)
    if model is None:
        return None
    name, version = model
    if ready:
        return lambda body: service.model_ready(name, version)
    return lambda body: service.model_metadata(name, version)


def _model_and_version(parts: list[str]) -> tuple[str, str | None] | None:
    """`{name}` or `{name}/versions/{version}`, split on '/', as FastAPI's routes match them."""
    if len(parts) == 1 and parts[0]:
        return parts[0], None
    if len(parts) == 3 and parts[1] == "versions" and parts[0] and parts[2]:
        return parts[0], parts[2]
    return None


def _headers(scope: Scope, *names: bytes) -> list[str | None]:
    """The values of the named (lower-case) request headers, None where absent."""
    values: list[str | None] = [None] * len(names)
    for raw_key, value in scope["headers"]:
        key = raw_key.lower()
        if key in names:
            values[names.index(key)] = value.decode("latin-1")
    return values


async def read_body(receive: Receive) -> bytes:
    """Read the whole request body from ASGI `http.request` messages."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while message.get("more_body", False):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def _response(reply: Reply, echo: Headers) -> Response:
    """A `Reply` as Mangum's Response, with the request's correlation headers (`echo`)."""
    headers: Any = response_headers(reply, echo)  # (name, value) tuples; Mangum unpacks any pair
    return {"status": reply.status, "headers": headers, "body": reply.body}


def response_headers(reply: Reply, echo: Headers | None = None) -> Headers:
    """A reply's response headers, with the request's correlation headers (`echo`) it lacks."""
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", str(len(reply.body)).encode()),
    ]
    if reply.headers:
        headers += [(key.lower().encode(), value.encode()) for key, value in reply.headers.items()]
        return echoed(headers, echo) if echo else headers
    return headers + echo if echo else headers


async def respond(send: Send, reply: Reply, echo: Headers | None = None) -> None:
    """Send a `Reply` as an ASGI response, with the request's correlation headers (`echo`)."""
    headers = response_headers(reply, echo)
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


def run_cycle(app: ASGIApp, scope: Scope, body: bytes, echo: Headers | None = None) -> Response:
    """Run `app` on one request in Mangum's HTTPCycle, adding the correlation headers (`echo`).

    The cycle runs on the thread's event loop; when other code (asyncio.run) closed or took it
    away, a fresh one takes its place first.
    """
    target = app
    if echo:

        async def target(scope: Scope, receive: Receive, send: Send) -> None:
            await app(scope, receive, with_headers(send, echo))

    try:
        loop = asyncio.get_event_loop()
        usable = not loop.is_closed()
    except RuntimeError:
        usable = False
    if not usable:
        asyncio.set_event_loop(asyncio.new_event_loop())
    return HTTPCycle(scope, body)(target)  # type: ignore[arg-type]
