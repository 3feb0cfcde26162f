"""The emulator's HTTP/1.1 server, through a real socket: bytes that are not a request get a 4xx."""

from __future__ import annotations

import asyncio

import pytest

from onnx_lambda.emulator.http11 import HttpRequest, HttpResponse, HttpServer, json_response


async def echo(request: HttpRequest) -> HttpResponse:
    return json_response(200, b'{"bytes": %d}' % len(request.body))


async def exchange(raw: bytes) -> bytes:
    """Send `raw` to a fresh server; return everything it answers before closing."""
    server = HttpServer(echo)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(raw)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return answer
    finally:
        await server.close()


HEAD = b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        (HEAD + b"Content-Length: -5\r\n\r\nhello", b"400", b"invalid Content-Length"),
        (HEAD + b"Content-Length: five\r\n\r\nhello", b"400", b"invalid Content-Length"),
        (
            HEAD + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
            b"400",
            b"malformed chunk size",
        ),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"1" * 70_000, b"400", b"too long"),
    ],
    ids=["negative-length", "word-length", "negative-chunk", "endless-chunk-line"],
)
def test_a_malformed_body_framing_is_a_400_not_a_dropped_connection(raw, status, reason):
    answer = asyncio.run(exchange(raw))

    assert answer.startswith(b"HTTP/1.1 " + status)
    assert reason in answer


def test_a_chunked_body_is_read_whole():
    answer = asyncio.run(
        exchange(HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\n!!!\r\n0\r\n\r\n")
    )

    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b'{"bytes": 8}')
