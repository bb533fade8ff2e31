"""SSE streams: replay what a client missed from storage, then follow the live hub.

A run stream subscribes to the hub FIRST, then replays stored events after the client's
``Last-Event-ID``, then delivers live frames, skipping what it already sent and filling
any hole from storage: no gap, no duplicate, whatever the timing. A client that falls
behind falls out of the hub's log and is caught up from storage the same way. Once the
run's final status has gone out, an ``end`` event closes the stream (``curl -N`` exits).

Replay goes a page at a time, each written only once the client took the one before, so
what a client holds is bounded (``docs/limits.md``); a client that reads nothing at all is
cut off by the HTTP protocol (:mod:`server.http_limits`) and resumes by Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import msgspec

from ..errors import InvalidRequest
from ..storage.runs import RunRepository
from .events import Frame, RingChannel, encode_frame
from .fanout import RunHub
from .recorder import TERMINAL, event_frame, log_frame

__all__ = ["KEEPALIVE_SECONDS", "MAX_EVENT_ID", "RETRY_MS", "parse_event_id", "ring_stream",
           "run_stream"]

KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000
PAGE_BYTES = 128 << 10  # a replayed page's encoded size, about (see _Pager)
FIRST_PAGE_ROWS, MIN_PAGE_ROWS, MAX_PAGE_ROWS = 64, 8, 5000
REPLAY_READS = 2  # pages read at once across all streams (the database has 3 readers)
KEEPALIVE = b": keepalive\n\n"

MAX_EVENT_ID = (1 << 63) - 1  # SQLite's INTEGER: a run's sequence numbers fit in it

log = logging.getLogger("trainyard.streams")
_REPLAY_READS = asyncio.Semaphore(REPLAY_READS)


def parse_event_id(raw: str | None) -> int:
    """A run stream's ``Last-Event-ID`` (or ``?last_id=``): ASCII digits in SQLite's range;
    0 when absent. Anything else is a 400, not a number Python would take (``int('²')``
    raises, ``int('٣')`` is 3) nor one SQLite cannot (2^63 overflows)."""
    if not raw:
        return 0
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_EVENT_ID:
        raise InvalidRequest(f"Last-Event-ID {raw!r} is not an event id of this run (a number "
                             f"from 0 to {MAX_EVENT_ID})", code="invalid_event_id")
    return int(text)


def _seq(item: tuple[Any, ...]) -> int:
    """The sequence number of a stored item: a log row ``(run_id, seq, ...)`` or an event
    ``(seq, type, data)``."""
    return int(item[1] if len(item) == 6 else item[0])


class _Pager:
    """Stored frames after a cursor, a page at a time, for one stream.

    A page holds about :data:`PAGE_BYTES` of encoded events: the stream yields each page
    as one write and asks for the next only once the client has taken it (the server's
    ``send`` waits while the connection's buffer is full), so a client that does not
    read holds at most a page or two, not the run's history. Rows per read adapt to the
    run's line lengths. At most :data:`REPLAY_READS` pages are read at once across all
    streams, so late joiners leave storage readers and the loop to everyone else."""

    __slots__ = ("cursor", "rows", "run_id", "runs", "upto")

    def __init__(self, runs: RunRepository, run_id: str, after: int,
                 upto: int | None = None) -> None:
        self.runs = runs
        self.run_id = run_id
        self.cursor = after
        self.upto = upto
        self.rows = FIRST_PAGE_ROWS

    async def next(self) -> list[Frame]:
        """The next page (empty once storage has nothing more up to ``upto``)."""
        if self.upto is not None and self.cursor >= self.upto:
            return []
        async with _REPLAY_READS:
            stored = await self.runs.stored_after(self.run_id, self.cursor, self.rows)
        items = [item for item in stored if self.upto is None or _seq(item) <= self.upto]
        if not items:
            return []
        frames: list[Frame] = []
        pending: list[tuple[Any, ...]] = []
        for item in items:
            if len(item) == 6:  # a log row
                pending.append(item)
                continue
            if pending:
                frames.append(log_frame(pending))
                pending = []
            frames.append(event_frame(*item))
        if pending:
            frames.append(log_frame(pending))
        self.cursor = _seq(items[-1])
        size = sum(len(frame.data) for frame in frames)
        self.rows = max(MIN_PAGE_ROWS, min(MAX_PAGE_ROWS, self.rows * PAGE_BYTES // max(size, 1)))
        return frames


async def _replay(runs: RunRepository, run_id: str, after: int,
                  upto: int | None = None) -> tuple[list[Frame], int]:
    """Stored frames after ``after`` up to ``upto``, all at once: for the small holes
    between live frames only (a hole is at most what one commit stored)."""
    pager = _Pager(runs, run_id, after, upto)
    frames: list[Frame] = []
    while page := await pager.next():
        frames.extend(page)
    return frames, pager.cursor


async def run_stream(runs: RunRepository, hub: RunHub, run_id: str, after: int,
                     terminal_status: bool) -> AsyncGenerator[bytes, None]:
    sub = hub.subscribe(run_id)
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        pager = _Pager(runs, run_id, after)
        ended = False
        while page := await pager.next():
            ended = ended or any(frame.terminal for frame in page)
            yield b"".join(frame.data for frame in page)
        cursor = pager.cursor
        if not ended and terminal_status:
            # Ended before this stream began and nothing more will come: replay is all.
            run = await runs.get(run_id)
            ended = run is None or run.status in TERMINAL
        while not ended:
            if not await sub.wait():
                yield KEEPALIVE
                continue
            if sub.overflowed:
                sub.skip()
                log.info("a client of run %s fell behind at event %d; catching it up from "
                         "storage", run_id, cursor)
                pager = _Pager(runs, run_id, cursor)
                while page := await pager.next():
                    ended = ended or any(frame.terminal for frame in page)
                    yield b"".join(frame.data for frame in page)
                cursor = pager.cursor
                continue
            frames, live = [], True
            for frame in sub.drain():
                if frame.last <= cursor:
                    continue  # already sent from storage
                if frame.first > cursor + 1:
                    hole, cursor = await _replay(runs, run_id, cursor, frame.first - 1)
                    frames.extend(hole)
                    live = False
                frames.append(frame)
                cursor = frame.last
            ended = any(frame.terminal for frame in frames)
            if frames:
                # Live frames only are shared: clients served together took the same ones.
                yield hub.join(frames) if live else b"".join(frame.data for frame in frames)
        yield encode_frame("end", cursor, msgspec.json.encode({"run_id": run_id}))
    finally:
        hub.unsubscribe(run_id, sub)


async def ring_stream(channel: RingChannel, last_event_id: str | None,
                      snapshot: bytes | None = None) -> AsyncGenerator[bytes, None]:
    """A live channel: replay from its ring when it can, else a ``reset`` event."""
    sub = channel.subscribe()
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        missed = channel.since(last_event_id)
        if missed is None:
            yield encode_frame("reset", None, b'{"reason":"events since your last id are gone; '
                                              b'fetch the list again"}')
        elif missed:
            yield b"".join(frame.data for frame in missed)
        if snapshot is not None and (not last_event_id or missed is None):
            yield snapshot  # a fresh client, or one whose missed events are gone
        sent = missed[-1].last if missed else channel.last_number
        while True:
            if not await sub.wait():
                yield KEEPALIVE
                continue
            if sub.overflowed:
                sub.skip()
                yield encode_frame("reset", None, b'{"reason":"this client fell behind"}')
                continue
            frames = [frame for frame in sub.drain() if frame.last > sent]
            if frames:
                sent = frames[-1].last
                yield b"".join(frame.data for frame in frames)
    finally:
        channel.unsubscribe(sub)
