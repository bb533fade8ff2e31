"""The process was asked to stop: event streams end at once, telling clients to come back.

An open SSE response never finishes by itself, so without this uvicorn waits out its
graceful-shutdown timeout, then cancels the streams (an ``ERROR`` line, tracebacks, and
clients cut mid-chunk). The command that starts the server calls :meth:`Stopping.request`
from its signal handler; each stream then writes a last ``shutdown`` event with a short
``retry`` and ends cleanly; clients reconnect with ``Last-Event-ID`` and miss nothing.
"""

from __future__ import annotations

import asyncio

__all__ = ["GOODBYE", "Stopping"]

GOODBYE = (b"retry: 1000\nevent: shutdown\ndata: {\"reason\":\"the server is stopping or "
           b"restarting; reconnect with Last-Event-ID to resume\"}\n\n")


class Stopping:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self) -> None:
        """Remember the serving loop (called from the app's start-up)."""
        self._loop = asyncio.get_running_loop()

    def request(self) -> None:
        """Safe from a signal handler: sets the event on the serving loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.event.set)
