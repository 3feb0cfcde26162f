"""A small HTTP/1.1 server on asyncio streams: the emulator's sockets, with nothing between them.

The Runtime API, the Invoke API and the API Gateway front door all speak through it. It keeps
connections alive, answers `Expect: 100-continue`, reads `Content-Length` and chunked bodies, and
costs a few tens of microseconds per request, so the emulator's overhead stays well under 1 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

MAX_HEAD_BYTES = 64 * 1024


@dataclass
class HttpRequest:
    """One parsed request: the target split into path and raw query, headers in arrival order."""

    method: str
    path: str
    query: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    client: tuple[str, int] = ("127.0.0.1", 0)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first header called `name` (case-insensitive)."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default


@dataclass
class HttpResponse:
    """A status, headers (repeatable, e.g. Set-Cookie) and a body; Content-Length is added on send."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def encode(self, keep_alive: bool) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        lines.extend(f"{key}: {value}" for key, value in self.headers if key.lower() != "content-length")
        lines.append(f"Content-Length: {len(self.body)}")
        if not keep_alive:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


HttpHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class BadRequest(Exception):
    """The bytes on the wire are not an HTTP/1.1 request this server reads."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HttpServer:
    """Serves `handler` on host:port (port 0 picks a free one; read it back from `.port`)."""

    def __init__(
        self, handler: HttpHandler, host: str = "127.0.0.1", port: int = 0, max_body: int = 16 << 20
    ):
        """Bind nothing yet; `start()` binds.

        handler: coroutine answering each request.
        host, port: where to listen; port 0 lets the OS choose.
        max_body: larger request bodies are refused with 413.
        """
        self.handler = handler
        self.host = host
        self.port = port
        self.max_body = max_body
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_HEAD_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._connections):
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 1.0)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        try:
            while True:
                try:
                    request = await self._read(reader, writer, peer)
                except BadRequest as exc:
                    body = f'{{"message": "{exc}"}}'.encode()
                    writer.write(
                        HttpResponse(exc.status, [("Content-Type", "application/json")], body).encode(False)
                    )
                    break
                if request is None:
                    break
                try:
                    response = await self.handler(request)
                except Exception as exc:  # a fault of the emulator itself: answer, and keep serving
                    message = json.dumps({"message": f"emulator error: {type(exc).__name__}: {exc}"})
                    response = json_response(500, message.encode())
                keep_alive = _keep_alive(request)
                encoded = response.encode(keep_alive)
                if request.method == "HEAD":
                    encoded = encoded[: len(encoded) - len(response.body)]  # headers only, length kept
                writer.write(encoded)
                if len(response.body) > 65536:
                    await writer.drain()
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _read(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: tuple[str, int]
    ) -> HttpRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise BadRequest(400, "incomplete request head") from None
            return None
        except asyncio.LimitOverrunError:
            raise BadRequest(431, "request head too large") from None
        lines = head[:-4].decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            raise BadRequest(400, "malformed request line") from None
        headers = []
        for line in lines[1:]:
            key, sep, value = line.partition(":")
            if not sep:
                raise BadRequest(400, "malformed header line")
            headers.append((key.strip(), value.strip()))
        path, _, query = target.partition("?")
        request = HttpRequest(method, path, query, version, headers, b"", peer)
        if (request.header("expect") or "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if (request.header("transfer-encoding") or "").lower() == "chunked":
            request.body = await self._read_chunked(reader)
        else:
            length = request.header("content-length")
            if length:
                try:
                    size = int(length)
                except ValueError:
                    raise BadRequest(400, "invalid Content-Length") from None
                if size < 0:
                    raise BadRequest(400, "invalid Content-Length")
                if size > self.max_body:
                    raise BadRequest(413, "request body too large")
                request.body = await reader.readexactly(size)
        return request

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        try:
            return await self._read_chunks(reader)
        except asyncio.LimitOverrunError:
            raise BadRequest(400, "chunk size or trailer line too long") from None

    async def _read_chunks(self, reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequest(400, "malformed chunk size") from None
            if size < 0:
                raise BadRequest(400, "malformed chunk size")
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers carry nothing the emulator uses
                return b"".join(parts)
            total += size
            if total > self.max_body:
                raise BadRequest(413, "request body too large")
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)


def _keep_alive(request: HttpRequest) -> bool:
    connection = (request.header("connection") or "").lower()
    if request.version == "HTTP/1.0":
        return connection == "keep-alive"
    return connection != "close"


def json_response(status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    """A JSON response with the given extra headers."""
    return HttpResponse(status, [("Content-Type", "application/json"), *(headers or [])], body)
