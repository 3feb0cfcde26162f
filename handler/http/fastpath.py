"""Serves the hot routes straight from ASGI, so inference skips the framework's per-request work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from handler.codec import HEADER_LENGTH
from handler.errors import OnnxLambdaError
from handler.http.correlation import Headers, add_headers, correlate, with_headers
from handler.http.service import InferenceService, Reply, error_reply, internal_error

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_INFER = "/infer"
_PREDICT = ":predict"
_HEADER_LENGTH = HEADER_LENGTH.encode()


class FastPath:
    """Answers infer, predict, invocations and health checks; hands every other request to `app`.

    These routes are also declared on the FastAPI app, which documents them in OpenAPI and serves
    them the same way through `InferenceService`; this layer only skips FastAPI's routing,
    dependency solving and middleware, which cost more than the inference itself on small models.
    """

    def __init__(self, app: ASGIApp, service: InferenceService) -> None:
        """Wrap `app`.

        app: the FastAPI application, for every route not answered here.
        service: the behaviour shared with the FastAPI routes.
        """
        self.app = app
        self.service = service
        self.health = {
            "/v2/health/live": service.live,
            "/v2/health/ready": service.ready,
            "/ping": service.live,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        echo = correlate(scope)
        method, path = scope["method"], scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root):
            path = path[len(root) :]
        try:
            if method == "POST":
                reply = await self.post(path, scope, receive)
            elif method == "GET":
                reply = self.health.get(path)
            else:
                reply = None
        except OnnxLambdaError as exc:
            reply = error_reply(exc.status, exc.message)
        except Exception as exc:
            reply = internal_error(scope, exc)
        if reply is None:
            await self.app(scope, receive, with_headers(send, echo) if echo else send)
        else:
            await respond(send, reply, echo)

    async def post(self, path: str, scope: Scope, receive: Receive) -> Reply | None:
        if path.startswith("/v2/models/") and path.endswith(_INFER):
            parts = path[len("/v2/models/") : -len(_INFER)].split("/")
            if len(parts) == 1 and parts[0]:
                name, version = parts[0], None
            elif len(parts) == 3 and parts[1] == "versions" and parts[0] and parts[2]:
                name, version = parts[0], parts[2]
            else:
                return None
            content_type, header_length = _headers(scope, b"content-type", _HEADER_LENGTH)
            return self.service.infer(name, version, await read_body(receive), content_type, header_length)
        if path.startswith("/v1/models/") and path.endswith(_PREDICT):
            name = path[len("/v1/models/") : -len(_PREDICT)]
            if not name or "/" in name:
                return None
            (content_type,) = _headers(scope, b"content-type")
            return self.service.predict(name, None, await read_body(receive), content_type)
        if path == "/invocations":
            (content_type,) = _headers(scope, b"content-type")
            return self.service.invocations(await read_body(receive), content_type)
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


async def respond(send: Send, reply: Reply, echo: Headers | None = None) -> None:
    """Send a `Reply` as an ASGI response, with the request's correlation headers (`echo`)."""
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", str(len(reply.body)).encode()),
    ]
    if reply.headers:
        headers += [(key.lower().encode(), value.encode()) for key, value in reply.headers.items()]
    start = {"type": "http.response.start", "status": reply.status, "headers": headers}
    if echo:
        add_headers(start, echo)
    await send(start)
    await send({"type": "http.response.body", "body": reply.body})
