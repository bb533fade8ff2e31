"""A cheap SSE load client: many subscribers per process, reading only the framing.

Run as ``python -m bench.sse_client HOST PORT PATH N EVERY`` (the fan-out bench starts one
or two of these, see :mod:`bench.sse_fanout`). It opens ``N`` loopback connections, sends
one ``GET PATH`` on each, and scans the payload of only a sample of the writes: on 2
cores a byte-by-byte count (``bytes.count`` runs at ~1.4 GB/s) would make the client the
bottleneck. Instead:

* Both servers send each write as one HTTP/1.1 chunk made of whole SSE events; the
  client follows the chunk sizes, so it knows where every write ends without looking
  at what is in between (it keeps the first and last few hundred bytes of each).
* Lines are counted by sequence number: every event of a run stream has an id from one
  contiguous sequence shared by log lines and the few other events (``status``...); a
  ``log`` event ends with its last line's ``{"seq":N,...}``, another event with small
  JSON after ``id: N``. So a chunk brings ``last seq in it - last seq before it`` items,
  read from its last bytes. (The odd ``status`` event counts as a line: a handful in
  millions.) A chunk is counted when its last byte arrives.
* Latency, per line: every message starts with the wall-clock time (``time.time()``,
  ``%.6f``) the producer wrote it, and a line's latency is ``(time the chunk that carried
  it had its last byte) - (that time)``. Same host, same clock. Reading every stamp of
  every chunk would cost the client as much as the server, so one chunk in ``EVERY``
  on each connection (from a random offset, so the connections take turns) is kept
  whole and all its stamps are read: picked by count, not by size or time, these are a
  fair sample of the lines. Every other chunk gives a bound: all its lines counted at
  the age of its first, OLDEST line (errs high, never low; the same figure as per line
  when a producer stamps a whole batch at once, as the reference does).

Protocol over stdin/stdout, one line each way at a time:

* it prints ``ready`` once every connection has received the first chunk (``retry:``,
  which both servers send once the subscription is in place);
* it reads ``window T0 T1`` (``time.time()`` values): only chunks completed within
  [T0, T1) count;
* after T1 it prints one JSON object: ``lines`` (in the window, all connections),
  ``hist`` (``{bucket: lines}``, per line, from the chunks read whole; latency in
  0.1 ms buckets), ``bound`` (the same, every chunk at its oldest line's age),
  ``min_lines``/``max_lines``
  (per connection), ``chunks`` (writes received in the window), ``cpu_s`` (its own CPU
  time in the window, to show it is not the bottleneck), ``closed`` (connections
  the server ended), ``gaps`` (chunks whose first seq did not follow the previous one's
  last: lines lost or repeated; must be 0) and ``bytes``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
import sys
import time
from collections import Counter
from typing import Any, cast

__all__ = ["BUCKETS_PER_MS", "main"]

BUCKETS_PER_MS = 10
HEAD = 400  # bytes kept from the start of each chunk: event header + first line's start
TAIL = 1024  # and from its end: the last line, or a whole small event
_SEQ = b'{"seq":'
_MESSAGE = b'"message":"'
_ID = b"id: "
_STAMP = 17  # "1732736291.123456"
_STAMPS = re.compile(rb'"message":"(\d{10}\.\d{6})')


class _Stats:
    __slots__ = ("bound", "bytes", "chunks", "closed", "gaps", "hist", "lines", "t0", "t1")

    def __init__(self) -> None:
        self.t0 = self.t1 = float("inf")
        self.lines = self.bytes = self.chunks = self.closed = self.gaps = 0
        self.hist: Counter[int] = Counter()  # per line, chunks read whole
        self.bound: Counter[int] = Counter()  # every chunk at its oldest line's age


def _int_at(data: bytes, at: int) -> int | None:
    end = at
    while end < len(data) and 48 <= data[end] <= 57:
        end += 1
    return int(data[at:end]) if end > at else None


def _first_seq(head: bytes) -> int | None:
    """The first sequence number a chunk carries (its first event's), if it has one."""
    if not head.startswith(_ID):
        return None
    kind_at = head.find(b"\n") + 1
    if head.startswith(b"event: log\n", kind_at):
        at = head.find(_SEQ)
        return _int_at(head, at + len(_SEQ)) if at >= 0 else None
    if head.startswith(b"event: end\n", kind_at):
        return None  # repeats the last id sent
    return _int_at(head, len(_ID))


def _last_seq(tail: bytes) -> int | None:
    """The last sequence number in a chunk, from its last bytes: the id of its last event
    when that event starts within them, else the last ``{"seq":N`` (a long ``log``)."""
    start = tail.rfind(b"\n\n", 0, len(tail) - 2) + 2  # 1 when the last event began before
    if tail.startswith(_ID, start if start > 1 else 0):
        return _int_at(tail, (start if start > 1 else 0) + len(_ID))
    at = tail.rfind(_SEQ)
    return _int_at(tail, at + len(_SEQ)) if at >= 0 else None


def _bucket(seconds: float) -> int:
    return int(seconds * 1000 * BUCKETS_PER_MS)


class _Subscriber(asyncio.Protocol):
    __slots__ = ("_every", "_mode", "_pending", "_remaining", "_size", "_tail", "_turn", "_whole",
                 "head", "last_seq", "lines", "ready", "request", "stats", "transport")

    def __init__(self, request: bytes, stats: _Stats, ready: asyncio.Future[None],
                 every: int) -> None:
        self.request = request
        self.stats = stats
        self.ready = ready
        self._every = every
        self._turn = random.randrange(every)  # chunks until the next one read whole
        self._whole: list[bytes] | None = None  # the current chunk's bytes, if read whole
        self._mode = 0  # 0: response headers, 1: chunk size line, 2: chunk data, 3: done
        self._pending = b""  # unparsed header / size-line bytes
        self._remaining = 0  # bytes of the current chunk still to come (+2 for its CRLF)
        self._size = 0
        self.head = b""
        self._tail = b""
        self.last_seq = 0
        self.lines = 0  # this connection, in the window

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        pos, size = 0, len(data)
        while pos < size:
            if self._mode == 2:  # inside a chunk: keep its first and last bytes (all if sampled)
                take = min(self._remaining, size - pos)
                if self._whole is not None:
                    self._whole.append(data[pos:pos + take])
                if len(self.head) < HEAD:
                    self.head += data[pos:pos + min(take, HEAD - len(self.head))]
                pos += take
                self._remaining -= take
                self._tail = data[pos - TAIL:pos] if take >= TAIL else \
                    (self._tail + data[pos - take:pos])[-TAIL:]
                if self._remaining == 0:
                    self._chunk_done(self._tail[:-2])  # less the CRLF that ends a chunk
                    self._mode = 1
            elif self._mode == 1:  # a chunk's size line
                take = min(64, size - pos)
                self._pending += data[pos:pos + take]
                pos += take
                end = self._pending.find(b"\r\n")
                if end < 0:
                    if len(self._pending) > 64:
                        self._fail(f"bad chunk size line {self._pending!r}")
                    continue
                chunk = int(self._pending[:end], 16)
                pos -= len(self._pending) - end - 2  # hand back what follows the line
                self._pending = b""
                if chunk == 0:
                    self._mode = 3
                    return
                self._size = chunk
                self._remaining, self.head, self._tail, self._mode = chunk + 2, b"", b"", 2
                self._turn -= 1
                if self._turn < 0:
                    self._turn = self._every - 1
                    self._whole = []
            elif self._mode == 0:  # response headers
                self._pending += data[pos:]
                pos = size
                end = self._pending.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._pending) > 65536:
                        self._fail(f"no end of headers in {self._pending[:200]!r}")
                    return
                if not self._pending.startswith(b"HTTP/1.1 200") or \
                        b"transfer-encoding: chunked" not in self._pending[:end].lower():
                    self._fail(f"not a chunked 200 response: {self._pending[:300]!r}")
                    return
                rest, self._pending, self._mode = self._pending[end + 4:], b"", 1
                if rest:
                    self.data_received(rest)
                return
            else:
                return

    def _chunk_done(self, tail: bytes) -> None:
        now = time.time()
        head, whole, self._whole = self.head, self._whole, None
        if not self.ready.done():
            if head.startswith(b"retry:"):
                self.ready.set_result(None)
            else:
                self._fail(f"the stream did not begin with retry: {head[:200]!r}")
            return
        last = _last_seq(tail)
        if last is None:
            return  # a keepalive comment
        first = _first_seq(head)
        stats = self.stats
        if first is not None and first != self.last_seq + 1:
            stats.gaps += 1
        count = last - self.last_seq
        self.last_seq = last
        if not stats.t0 <= now < stats.t1 or count <= 0:
            return
        stats.lines += count
        stats.bytes += self._size
        stats.chunks += 1
        self.lines += count
        at = head.find(_MESSAGE)
        if at >= 0:
            stamp = head[at + len(_MESSAGE):at + len(_MESSAGE) + _STAMP]
            try:
                sent = float(stamp)
            except ValueError:
                return
            stats.bound[_bucket(now - sent)] += count
        if whole is not None:  # lines written together share a stamp: read each once
            hist = stats.hist
            for stamp, lines in Counter(_STAMPS.findall(b"".join(whole))).items():
                hist[_bucket(now - float(stamp))] += lines

    def _fail(self, why: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(why))
        self._mode = 3
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(
                f"connection closed before the stream began ({exc or 'by the server'})"))
        elif self._mode != 3:
            self.stats.closed += 1


async def _readline() -> str:
    line: str = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    return line.strip()


async def run(host: str, port: int, path: str, count: int, every: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
               "Accept: text/event-stream\r\n\r\n").encode()
    stats = _Stats()
    subs: list[_Subscriber] = []
    waits: list[asyncio.Future[None]] = []
    for _ in range(count):
        ready: asyncio.Future[None] = loop.create_future()
        _, sub = await loop.create_connection(
            functools.partial(_Subscriber, request, stats, ready, every), host, port)
        subs.append(sub)
        waits.append(ready)
    await asyncio.gather(*waits)
    print("ready", flush=True)
    try:
        words = (await _readline()).split()
        if len(words) != 3 or words[0] != "window":
            raise RuntimeError(f"expected 'window T0 T1', got {words!r}")
        stats.t0, stats.t1 = float(words[1]), float(words[2])
        await asyncio.sleep(max(0.0, stats.t0 - time.time()))
        cpu0 = time.process_time()
        await asyncio.sleep(max(0.0, stats.t1 - time.time()))
        cpu = time.process_time() - cpu0
        await asyncio.sleep(0.01)
    finally:
        for sub in subs:
            sub._mode = 3
            sub.transport.close()
    per = [sub.lines for sub in subs]
    return {"lines": stats.lines, "bytes": stats.bytes, "chunks": stats.chunks, "cpu_s": cpu,
            "closed": stats.closed, "gaps": stats.gaps, "min_lines": min(per),
            "max_lines": max(per), "hist": {str(k): v for k, v in stats.hist.items()},
            "bound": {str(k): v for k, v in stats.bound.items()}}


def main(argv: list[str]) -> int:
    host, port, path, count, every = argv
    try:
        import uvloop  # the servers' event loop too
        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        runner = asyncio.run
    print(json.dumps(runner(run(host, int(port), path, int(count), int(every)))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
