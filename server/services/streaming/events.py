"""The in-process event hub behind the SSE streams: frames, subscriptions, live channels.

Producers publish :class:`Frame` objects whose bytes are encoded ONCE; every subscriber
gets the same bytes. What a subscriber may hold is bounded: one that falls behind is cut
off (``overflowed``) and catches up from storage, so a slow client never blocks the
producer or anyone else.

Run streams (:mod:`.fanout`) are numbered by the run's own sequence (shared with its log
lines, so ids survive restarts). The global ``/events`` and ``/gpus/events`` channels
(:class:`RingChannel`) keep a short ring of recent frames, numbered ``<boot>.<n>``: an
id from another boot cannot be replayed and gets a ``reset`` event instead.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass

__all__ = ["Frame", "QueueSubscription", "RingChannel", "Subscription", "encode_frame",
           "keepalive"]

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


class Subscription(ABC):
    """One client's place in a stream. Waiting costs one future, no task and no timer:
    with a thousand clients, a ``wait_for`` per wait (its task, its timer handle, their
    garbage) cost more than the writes. Keepalives come from one shared ticker
    (:func:`keepalive`)."""

    __slots__ = ("__weakref__", "_ping", "_waiter", "idle")

    def __init__(self) -> None:
        self.idle = False  # set by the ticker: nothing was taken since its last tick
        self._ping = False  # a keepalive is due
        self._waiter: asyncio.Future[None] | None = None
        _LIVE.add(self)

    @property
    @abstractmethod
    def pending(self) -> bool:
        """Something to take: frames, or news that it fell behind."""

    @property
    @abstractmethod
    def overflowed(self) -> bool:
        """It fell behind: what it missed is gone from memory."""

    @abstractmethod
    def drain(self) -> list[Frame]:
        """Take what is pending."""

    @abstractmethod
    def skip(self) -> None:
        """Drop what is pending (it fell behind and catches up some other way)."""

    @property
    def waiting(self) -> bool:
        return self._waiter is not None and not self._waiter.done()

    def wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def ping(self) -> None:
        self._ping = True
        self.wake()

    async def wait(self) -> bool:
        """Wait until something is pending (True) or a keepalive is due (False)."""
        while not self.pending:
            if self._ping:
                self._ping = False
                return False
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return True


class QueueSubscription(Subscription):
    """A subscription with a bounded queue of its own (the low-traffic channels)."""

    __slots__ = ("_overflowed", "limit", "queue")

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        super().__init__()
        self.queue: deque[Frame] = deque()
        self.limit = limit
        self._overflowed = False

    def put(self, frame: Frame) -> None:
        if len(self.queue) >= self.limit:
            self.queue.clear()  # too far behind
            self._overflowed = True
        else:
            self.queue.append(frame)
        self.wake()

    @property
    def pending(self) -> bool:
        return bool(self.queue) or self._overflowed

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    def drain(self) -> list[Frame]:
        frames = list(self.queue)
        self.queue.clear()
        self.idle = False
        return frames

    def skip(self) -> None:
        self.queue.clear()
        self._overflowed = False


async def keepalive(seconds: float) -> None:
    """Every ``seconds``, ping the subscribers that took nothing since the last tick, so
    their streams send a keepalive comment (one loop for all clients)."""
    while True:
        await asyncio.sleep(seconds)
        for sub in list(_LIVE):
            if sub.idle:
                sub.ping()
            sub.idle = True


class RingChannel:
    """A live channel with a short memory, for list views and GPU samples."""

    def __init__(self, size: int = 1000) -> None:
        self.boot = secrets.token_hex(3)
        self._ring: deque[Frame] = deque(maxlen=size)
        self._next = 1
        self._subs: set[QueueSubscription] = set()

    def publish(self, event: str, payload: bytes) -> None:
        number = self._next
        self._next += 1
        frame = Frame(number, number, encode_frame(event, f"{self.boot}.{number}", payload))
        self._ring.append(frame)
        for sub in self._subs:
            sub.put(frame)

    def subscribe(self) -> QueueSubscription:
        sub = QueueSubscription()
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: QueueSubscription) -> None:
        self._subs.discard(sub)

    def since(self, last_event_id: str | None) -> list[Frame] | None:
        """Frames after ``last_event_id``; None when they cannot be replayed (reset)."""
        if not last_event_id:
            return []
        boot, _, number = last_event_id.partition(".")
        if boot != self.boot or not (number.isascii() and number.isdigit()):
            return None
        after = int(number)
        if self._ring and self._ring[0].first > after + 1:
            return None
        return [frame for frame in self._ring if frame.last > after]

    @property
    def last_number(self) -> int:
        return self._next - 1
