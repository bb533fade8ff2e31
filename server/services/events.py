"""The in-process event hub behind the SSE streams.

Producers publish :class:`Frame` objects whose bytes are encoded ONCE; every subscriber
gets the same bytes. Each subscriber has a bounded queue: one that falls behind is cut
off (``overflowed``) and catches up from storage, so a slow client never blocks the
producer or anyone else.

Run streams are numbered by the run's own sequence (shared with its log lines, so ids
survive restarts). The global ``/events`` and ``/gpus/events`` channels keep a short
ring of recent frames, numbered ``<boot>.<n>``: an id from another boot cannot be
replayed and gets a ``reset`` event instead.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Frame", "RingChannel", "RunHub", "Subscription", "encode_frame", "keepalive"]

QUEUE_LIMIT = 1024


def encode_frame(event: str, event_id: str | int | None, payload: bytes) -> bytes:
    head = f"id: {event_id}\nevent: {event}\n" if event_id is not None else f"event: {event}\n"
    return head.encode() + b"data: " + payload + b"\n\n"


@dataclass(frozen=True, slots=True)
class Frame:
    first: int  # the first sequence number the frame covers
    last: int  # its id
    data: bytes
    terminal: bool = False  # the run's final status


_LIVE: weakref.WeakSet[Subscription] = weakref.WeakSet()


class Subscription:
    """One client's queue. Waiting costs one future, no task and no timer: with a thousand
    clients, a ``wait_for`` per wait (its task, its timer handle, their garbage) cost
    more than the writes. Keepalives come from one shared ticker (:func:`keepalive`)."""

    __slots__ = ("__weakref__", "_waiter", "idle", "limit", "overflowed", "queue")

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self.queue: deque[Frame] = deque()
        self.limit = limit
        self.overflowed = False
        self.idle = False  # set by the ticker: nothing came since its last tick
        self._waiter: asyncio.Future[None] | None = None
        _LIVE.add(self)

    def put(self, frame: Frame) -> None:
        if len(self.queue) >= self.limit:
            self.queue.clear()  # too far behind: it will catch up from storage
            self.overflowed = True
        else:
            self.queue.append(frame)
        self.idle = False
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> bool:
        """Wait until something arrives (True) or a keepalive is due (False)."""
        if self.queue or self.overflowed:
            return True
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        return bool(self.queue or self.overflowed)

    def drain(self) -> list[Frame]:
        frames = list(self.queue)
        self.queue.clear()
        return frames


async def keepalive(seconds: float) -> None:
    """Every ``seconds``, wake the subscribers that got nothing since the last tick, so
    their streams send a keepalive comment (one loop for all clients)."""
    while True:
        await asyncio.sleep(seconds)
        for sub in list(_LIVE):
            if sub.idle:
                sub._wake()
            sub.idle = True


class RunHub:
    """Per-run fan-out."""

    def __init__(self, queue_limit: int = QUEUE_LIMIT) -> None:
        self.queue_limit = queue_limit
        self._subs: dict[str, set[Subscription]] = {}

    def subscribe(self, run_id: str) -> Subscription:
        sub = Subscription(self.queue_limit)
        self._subs.setdefault(run_id, set()).add(sub)
        return sub

    def unsubscribe(self, run_id: str, sub: Subscription) -> None:
        subs = self._subs.get(run_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[run_id]

    def publish(self, run_id: str, frames: Iterable[Frame]) -> None:
        subs = self._subs.get(run_id)
        if subs:
            frames = list(frames)
            for sub in subs:
                for frame in frames:
                    sub.put(frame)

    def subscribers(self, run_id: str) -> int:
        return len(self._subs.get(run_id, ()))


class RingChannel:
    """A live channel with a short memory, for list views and GPU samples."""

    def __init__(self, size: int = 1000) -> None:
        self.boot = secrets.token_hex(3)
        self._ring: deque[Frame] = deque(maxlen=size)
        self._next = 1
        self._subs: set[Subscription] = set()

    def publish(self, event: str, payload: bytes) -> None:
        number = self._next
        self._next += 1
        frame = Frame(number, number, encode_frame(event, f"{self.boot}.{number}", payload))
        self._ring.append(frame)
        for sub in self._subs:
            sub.put(frame)

    def subscribe(self) -> Subscription:
        sub = Subscription()
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def since(self, last_event_id: str | None) -> list[Frame] | None:
        """Frames after ``last_event_id``; None when they cannot be replayed (reset)."""
        if not last_event_id:
            return []
        boot, _, number = last_event_id.partition(".")
        if boot != self.boot or not number.isdigit():
            return None
        after = int(number)
        if self._ring and self._ring[0].first > after + 1:
            return None
        return [frame for frame in self._ring if frame.last > after]

    @property
    def last_number(self) -> int:
        return self._next - 1
