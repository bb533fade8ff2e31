"""An SSE response that writes its chunks straight to the ASGI server, from a task of its own.

With a thousand clients on one run, each batch of lines wakes a thousand writers, so what
a wake-up costs is what the fan-out costs (py-spy, 1,000 clients). Two things made it
dear with Litestar's ``Stream``: every chunk passed through its streaming response (an
anyio task group, a generic iterator loop), and every wake-up resumed the whole ASGI call
stack (uvicorn, our fast path, the router, each middleware: a dozen coroutine frames) down
to the generator. A handler returns :class:`EventStream` instead; Litestar calls it as
the ASGI app it is, and it writes from a task of its own, three frames deep, while the
request waits for it once.

A stream whose token is revoked (the auth middleware sets the event under
:data:`REVOKED_KEY` in the scope) ends with a ``revoked`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

from ...stopping import GOODBYE

__all__ = ["REVOKED_KEY", "EventStream"]

REVOKED_KEY = "trainyard.revoked"

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx and friends: pass each event on at once
]
_START = {"type": "http.response.start", "status": 200, "headers": _HEADERS}
_END = {"type": "http.response.body", "body": b"", "more_body": False}
_WAIT = {"type": "http.response.body", "body": b"", "more_body": True}
BIG_CHUNK = 64 << 10  # uvicorn's write buffer high-water mark
_REVOKED = {"type": "http.response.body", "more_body": False,
            "body": b'event: revoked\ndata: {"message":"the token was revoked"}\n\n'}


class EventStream:
    """``text/event-stream`` from an async generator of encoded events."""

    __slots__ = ("body", "started", "stopping")

    def __init__(self, body: AsyncGenerator[bytes, None],
                 stopping: asyncio.Event | None = None) -> None:
        self.body = body
        self.stopping = stopping  # set when the process is asked to stop
        self.started = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        writer = asyncio.ensure_future(self._write(send))
        # A disconnect shows only through ``receive`` (``send`` to a gone client does
        # nothing): the client going cancels the writer, which closes the body.
        watcher = asyncio.ensure_future(_disconnected(receive))
        watcher.add_done_callback(lambda _: writer.cancel())
        waits: list[asyncio.Future[Any]] = [writer]
        if self.stopping is not None:
            waits.append(asyncio.ensure_future(self.stopping.wait()))
        # A revoked token ends the stream: the writer stops, and a last event says why.
        revoked: asyncio.Event | None = scope.get(REVOKED_KEY)
        ender = asyncio.ensure_future(revoked.wait()) if revoked is not None else None
        if ender is not None:
            ender.add_done_callback(lambda _: writer.cancel())
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            for extra in waits[1:]:
                extra.cancel()
            if ender is not None:
                ender.cancel()
            if not writer.done():  # the server is stopping
                writer.cancel()
                await asyncio.wait([writer])  # the body closes: a stream lets go of the hub
                if self.stopping is not None and self.stopping.is_set():
                    await self._goodbye(send)
        if not writer.cancelled():
            writer.result()  # a failure surfaces here, in the server's log
        elif revoked is not None and revoked.is_set() and not watcher.done():
            await send(_REVOKED)  # the start went first: the writer sends it before any await

    async def _goodbye(self, send: Any) -> None:
        """A last event saying when to reconnect, then a clean end of the response."""
        with contextlib.suppress(OSError, RuntimeError):  # the client may be gone too
            if not self.started:
                await send(_START)
            await send({"type": "http.response.body", "body": GOODBYE, "more_body": True})
            await send(_END)

    async def _write(self, send: Any) -> None:
        try:
            self.started = True
            await send(_START)
            async for chunk in self.body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if len(chunk) > BIG_CHUNK:
                    # The server's send waits for a full buffer to drain before it writes,
                    # not after: an empty write waits now, so the body makes its next chunk
                    # (a replay page) only once this one has gone, and a client that reads
                    # nothing holds one page, not two.
                    await send(_WAIT)
            await send(_END)
        finally:
            await self.body.aclose()


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
