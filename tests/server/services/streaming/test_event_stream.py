"""The SSE response as an ASGI app: what the server is sent, and letting go of a client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from server.services.streaming.response import EventStream


class Connection:
    """The ASGI server's side of one request: what was sent, and a client that can leave."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gone = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


async def test_sends_the_headers_each_chunk_and_the_end() -> None:
    async def body() -> AsyncGenerator[bytes, None]:
        yield b"retry: 2000\n\n"
        yield b"id: 1\nevent: log\ndata: {}\n\n"

    conn = Connection()
    await asyncio.wait_for(EventStream(body())({}, conn.receive, conn.send), 5)
    start = conn.sent[0]
    assert start["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
    assert (b"cache-control", b"no-cache") in start["headers"]
    assert conn.body == b"retry: 2000\n\nid: 1\nevent: log\ndata: {}\n\n"
    assert [m.get("more_body") for m in conn.sent[1:]] == [True, True, False]


async def test_a_client_that_leaves_closes_the_body_and_the_request_ends_cleanly() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncGenerator[bytes, None]:
        try:
            yield b": hello\n\n"
            await asyncio.Event().wait()  # a quiet run: nothing more comes
            yield b"never"
        finally:
            closed.set()  # where a stream lets go of its hub subscription

    conn = Connection()
    request = asyncio.ensure_future(EventStream(endless())({}, conn.receive, conn.send))
    await asyncio.sleep(0.05)
    assert conn.body == b": hello\n\n" and not request.done()
    conn.gone.set()
    await asyncio.wait_for(request, 5)  # returns: no CancelledError reaches the server
    assert closed.is_set()


async def test_a_failing_body_fails_the_request() -> None:
    async def broken() -> AsyncGenerator[bytes, None]:
        yield b": hello\n\n"
        raise RuntimeError("storage went away")

    conn = Connection()
    with pytest.raises(RuntimeError, match="storage went away"):
        await asyncio.wait_for(EventStream(broken())({}, conn.receive, conn.send), 5)


async def test_a_server_stopping_cancels_the_request_and_closes_the_body() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncGenerator[bytes, None]:
        try:
            yield b": hello\n\n"
            await asyncio.Event().wait()
        finally:
            closed.set()

    conn = Connection()
    request = asyncio.ensure_future(EventStream(endless())({}, conn.receive, conn.send))
    await asyncio.sleep(0.05)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert closed.is_set()
