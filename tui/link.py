"""Whether the server answers, and getting back to it when it does not.

The first request or stream that finds the server gone calls :meth:`Link.lost`; one
probe task then pings it with growing pauses until it answers. Everything that needs the
server waits in :meth:`Link.wait_online` meanwhile, so a dead server costs one ping per
pause, not one reconnect per stream, and all streams resume together.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from .format import unreachable_text

__all__ = ["Backoff", "Link", "LinkState"]


class Backoff:
    """0.5 s, 1 s, 2 s, ... up to ``cap``."""

    def __init__(self, first: float = 0.5, factor: float = 2.0, cap: float = 10.0) -> None:
        self.first, self.factor, self.cap = first, factor, cap
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * self.factor, self.cap)
        return delay


@dataclass(frozen=True, slots=True)
class LinkState:
    online: bool = True
    reason: str = ""  # why it is down: "connection refused", ...
    down_since: float | None = None  # time.monotonic()
    retry_at: float | None = None  # time.monotonic() of the next probe
    attempts: int = 0


class Link:
    def __init__(self, ping: Callable[[], Awaitable[None]],
                 on_change: Callable[[LinkState], None],
                 backoff: Callable[[], Backoff] = Backoff) -> None:
        self._ping = ping
        self._on_change = on_change
        self._backoff = backoff
        self._online = asyncio.Event()
        self._online.set()
        self._probe: asyncio.Task[None] | None = None
        self.state = LinkState()

    @property
    def online(self) -> bool:
        return self._online.is_set()

    async def wait_online(self) -> None:
        await self._online.wait()

    def lost(self, error: BaseException) -> None:
        """The server did not answer: go offline (once) and start probing it."""
        if not self.online:
            return
        self._online.clear()
        self._set(LinkState(online=False, reason=unreachable_text(error),
                            down_since=time.monotonic()))
        self._probe = asyncio.create_task(self._recover(), name="trainyard-link-probe")

    async def _recover(self) -> None:
        backoff = self._backoff()
        while True:
            delay = backoff.next()
            self._set(replace(self.state, retry_at=time.monotonic() + delay,
                              attempts=self.state.attempts + 1))
            await asyncio.sleep(delay)
            try:
                await self._ping()
            except Exception as error:  # anything but an answer: still down
                self._set(replace(self.state, reason=unreachable_text(error)))
                continue
            break
        self._set(LinkState())
        self._online.set()

    def _set(self, state: LinkState) -> None:
        self.state = state
        self._on_change(state)

    async def close(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
