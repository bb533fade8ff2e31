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

from ...errors import InvalidRequest
from ...storage.runs import RunRepository, StoredEvent, StoredLine
from ..recorder import TERMINAL, event_frame, log_frame
from ..waiting import end_payload
from .events import Frame, RingChannel, encode_frame
from .fanout import RunHub, RunSubscription

__all__ = ["KEEPALIVE_SECONDS", "MAX_EVENT_ID", "RETRY_MS", "parse_event_id", "ring_stream",
           "run_stream"]

KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000
PAGE_BYTES, PAGE_ROWS = 128 << 10, 5000  # a replayed page: at most this text, these rows
# Later pages of long replays read at once across all streams: the database has 3
# readers, and a burst of late joiners (200 at once) must leave one to everything else,
# and the loop to live clients. First pages and holes do not wait: they are small, and a
# thousand clients that subscribed before a run printed each need one, at once.
REPLAY_READS = 2
KEEPALIVE = b": keepalive\n\n"

MAX_EVENT_ID = (1 << 63) - 1  # SQLite's INTEGER: a run's sequence numbers fit in it

log = logging.getLogger("trainyard.streams")
_replay_reads = asyncio.Semaphore(REPLAY_READS)


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


def _seq(item: StoredLine | StoredEvent) -> int:
    """The sequence number of a stored log row or event."""
    return item.seq if isinstance(item, StoredEvent) else item[1]


class _Pager:
    """Stored frames after a cursor, a page at a time, for one stream.

    A page is one read of at most :data:`PAGE_BYTES` of stored text: the stream yields
    each page as one write, and :class:`..routes.event_stream.EventStream` asks for the
    next only once the connection has taken the last (its buffer is below the high-water
    mark), so a client that does not read holds about a page, not the run's history."""

    __slots__ = ("cursor", "pages", "run_id", "runs", "upto")

    def __init__(self, runs: RunRepository, run_id: str, after: int,
                 upto: int | None = None) -> None:
        self.runs = runs
        self.run_id = run_id
        self.cursor = after
        self.upto = upto
        self.pages = 0

    async def next(self) -> list[Frame]:
        """The next page (empty once storage has nothing more up to ``upto``)."""
        if self.upto is not None and self.cursor >= self.upto:
            return []
        if self.upto is None and self.pages:
            async with _replay_reads:  # a long replay's later pages take turns
                stored = await self.runs.stored_after(self.run_id, self.cursor, PAGE_ROWS,
                                                      max_bytes=PAGE_BYTES)
        else:  # a first page, or a hole between live frames: small, and needed now
            stored = await self.runs.stored_after(self.run_id, self.cursor, PAGE_ROWS,
                                                  max_bytes=PAGE_BYTES)
        self.pages += 1
        items = [item for item in stored if self.upto is None or _seq(item) <= self.upto]
        if not items:
            return []
        frames: list[Frame] = []
        pending: list[StoredLine] = []
        for item in items:
            if not isinstance(item, StoredEvent):
                pending.append(item)
                continue
            if pending:
                frames.append(log_frame(pending))
                pending = []
            frames.append(event_frame(item.seq, item.type, item.data))
        if pending:
            frames.append(log_frame(pending))
        self.cursor = _seq(items[-1])
        return frames


async def _page(pager: _Pager, sub: RunSubscription) -> list[Frame]:
    """The next page from storage, or none once the hub holds what comes next: a client
    that subscribed before a run printed reads nothing from storage, and a late one
    only up to where its live frames begin (those are shared, storage reads are not)."""
    first = sub.next_first
    if first is not None and first <= pager.cursor + 1:
        return []
    return await pager.next()


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
        while page := await _page(pager, sub):
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
                while page := await _page(pager, sub):
                    ended = ended or any(frame.terminal for frame in page)
                    yield b"".join(frame.data for frame in page)
                cursor = pager.cursor
                continue
            frames, live = [], True
            for frame in sub.drain():
                if frame.last <= cursor:
                    continue  # already sent from storage
                if frame.first <= cursor:
                    # A replay page ended inside this frame's commit: the rest of it
                    # comes from storage, the frame itself would repeat lines.
                    part, cursor = await _replay(runs, run_id, cursor, frame.last)
                    frames.extend(part)
                    live = False
                    continue
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
        yield encode_frame("end", cursor, await end_payload(runs, run_id))
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
