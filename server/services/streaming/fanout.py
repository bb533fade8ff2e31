"""One run's live events to many clients: a shared log of frames and a paced pump.

Each run with subscribers keeps its recent frames once (:class:`RunLog`); a subscriber
is a place in that log, so publishing costs the same for one client or a thousand.

Clients are woken by a pump, in rounds: each round wakes every waiting client that is
behind once, :data:`WAKE_PER_PASS` per pass of the event loop. Woken all at once, a
thousand clients write in one long pass of the loop, and the follower's next read and
commit wait behind it: a line waited one fan-out in the file and went out in the next
(p99 = two fan-outs). A few per pass, the follower keeps reading and publishing while the
clients write, and each client, when its turn comes, takes all that was published since
its last turn: a line waits about one round. Clients served in the same pass take the
same frames, so they share one joined copy (:meth:`RunHub.join`).

A round starts at least :data:`ROUND_GAP` after the one before, so a client gets at
most one write per gap. Without that floor the pump was greedy: the follower publishes a
frame every ~25 ms while a run prints, and every frame went to every client as its own
write, so 1,000 clients watching a run that printed 200 lines/s kept the server at 97%
of a core, as at 8,000 lines/s. A line that comes after a quiet spell still goes out at
once: the last round is long past.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from itertools import islice

from .events import QUEUE_LIMIT, Frame, Subscription

__all__ = ["RunHub", "RunSubscription"]

# Measured at 1,000 clients (p99 over 3-6 runs each): 16: 121-253 ms, 32: 103-136,
# 64: 85-295, 128: 76-281. Smaller passes poll the sockets more often.
WAKE_PER_PASS = 32
# Measured at 1,000 clients, 2 cores, run paced at 200 / 1,000 / 3,000 lines/s each:
# greedy: server CPU 97 / 97 / 98%, p99 60 / 72 / 77 ms; 60 ms: CPU 53 / 56 / 73%,
# p99 89 / 88 / 97 ms. At the benchmark's 6-8k lines/s both need the whole core.
ROUND_GAP = 0.06
LOG_BYTES = 32 << 20
TRIM_AT, TRIM_BYTES = 64, 4 << 20  # past either, drop what every subscriber has taken
JOINS_KEPT = 16


class RunLog:
    """A run's recent frames, shared by its subscribers, and the pump that wakes them.

    It keeps what some subscriber has yet to take, within :data:`QUEUE_LIMIT` frames and
    :data:`LOG_BYTES`: a subscriber left further behind overflows and catches up from
    storage."""

    __slots__ = ("at", "bytes", "end", "frames", "gap", "limit", "per_pass", "pumping",
                 "round_at", "start", "subs")

    def __init__(self, limit: int, per_pass: int, gap: float) -> None:
        self.frames: deque[Frame] = deque()
        self.start = 0  # the index of frames[0] since the log began
        self.end = 0  # the index after the last frame
        self.bytes = 0
        self.limit = limit
        self.subs: list[RunSubscription] = []
        self.per_pass = per_pass
        self.gap = gap
        self.at = 0  # where the pump's round goes on
        self.round_at = float("-inf")  # when the last round began
        self.pumping = False

    def append(self, frames: list[Frame]) -> None:
        self.frames.extend(frames)
        self.end += len(frames)
        self.bytes += sum(len(frame.data) for frame in frames)
        if len(self.frames) > min(TRIM_AT, self.limit) or self.bytes > TRIM_BYTES:
            taken = min((sub.position for sub in self.subs), default=self.end)
            while self.frames and (self.start < taken or len(self.frames) > self.limit
                                   or self.bytes > LOG_BYTES):
                self.bytes -= len(self.frames.popleft().data)
                self.start += 1
        if not self.pumping:
            self.pumping = True
            self._next_round(asyncio.get_running_loop())

    def _next_round(self, loop: asyncio.AbstractEventLoop) -> None:
        due = self.round_at + self.gap
        if due <= loop.time():
            loop.call_soon(self._pass)
        else:
            loop.call_at(due, self._pass)

    def _pass(self) -> None:
        loop = asyncio.get_running_loop()
        subs, end = self.subs, self.end
        if self.at == 0:
            self.round_at = loop.time()
        woken = 0
        while woken < self.per_pass and self.at < len(subs):
            sub = subs[self.at]
            self.at += 1
            if sub.position < end and sub.waiting:
                sub.wake()
                woken += 1
        if self.at < len(subs):
            loop.call_soon(self._pass)
            return
        self.at = 0
        if any(sub.position < end and sub.waiting for sub in subs):
            self._next_round(loop)
        else:
            self.pumping = False  # everyone has it all; the next append starts a round


class RunSubscription(Subscription):
    """A client's place in a run's log."""

    __slots__ = ("log", "position")

    def __init__(self, log: RunLog) -> None:
        super().__init__()
        self.log = log
        self.position = log.end  # it gets what is published from now on

    @property
    def pending(self) -> bool:
        return self.position < self.log.end

    @property
    def overflowed(self) -> bool:
        return self.position < self.log.start

    @property
    def next_first(self) -> int | None:
        """The first sequence number of the next frame it would take, if one is here."""
        log = self.log
        if not log.start <= self.position < log.end:
            return None
        return log.frames[self.position - log.start].first

    def drain(self) -> list[Frame]:
        log = self.log
        frames = list(islice(log.frames, self.position - log.start, None))
        self.position = log.end
        self.idle = False
        return frames

    def skip(self) -> None:
        self.position = self.log.end


class RunHub:
    """Per-run fan-out."""

    def __init__(self, queue_limit: int = QUEUE_LIMIT, per_pass: int = WAKE_PER_PASS,
                 gap: float = ROUND_GAP) -> None:
        self.queue_limit = queue_limit
        self.per_pass = per_pass
        self.gap = gap
        self._logs: dict[str, RunLog] = {}
        self._joins: dict[tuple[int, int], tuple[Frame, Frame, bytes]] = {}

    def subscribe(self, run_id: str) -> RunSubscription:
        log = self._logs.get(run_id)
        if log is None:
            log = self._logs[run_id] = RunLog(self.queue_limit, self.per_pass, self.gap)
        sub = RunSubscription(log)
        log.subs.append(sub)
        return sub

    def unsubscribe(self, run_id: str, sub: RunSubscription) -> None:
        log = self._logs.get(run_id)
        if log is not None and sub in log.subs:
            log.subs.remove(sub)
            if not log.subs:
                del self._logs[run_id]

    def publish(self, run_id: str, frames: Iterable[Frame]) -> None:
        log = self._logs.get(run_id)
        if log is not None:
            log.append(list(frames))

    def subscribers(self, run_id: str) -> int:
        log = self._logs.get(run_id)
        return len(log.subs) if log is not None else 0

    def join(self, frames: list[Frame]) -> bytes:
        """The frames' bytes as one write, shared by the clients that took the same ones."""
        if len(frames) == 1:
            return frames[0].data
        first, last = frames[0], frames[-1]
        key = (id(first), id(last))
        kept = self._joins.get(key)
        if kept is not None and kept[0] is first and kept[1] is last:
            return kept[2]
        data = b"".join(frame.data for frame in frames)
        if len(self._joins) >= JOINS_KEPT:
            self._joins.clear()
        self._joins[key] = (first, last, data)  # holding the frames keeps their ids unique
        return data
