"""The reference for the SSE fan-out rows: a raw ASGI app, no framework, no storage.

``GET /events`` answers like trainyard's run stream (``text/event-stream``, the same
headers, a ``retry:`` frame first) and then gets every batch the producer makes.
``GET /start?lines=B&seconds=S`` starts the producer, inside this process: a batch of
``B`` log lines (a ``log`` event with the very JSON trainyard sends: ``seq``,
``timestamp``, ``stream``, ``level``, ``message``; each message a 120-character line
starting with the wall-clock time it was made, like the trainyard run's) is encoded ONCE
and the same bytes are handed to every client's ``send``, one client after the other;
the next batch is made when that has returned for all of them. That is the fastest a
fan-out on this uvicorn can go while every client gets every line, and the producer runs
exactly as fast as that (``send`` waits when a client's socket buffer is full), so its
latency is its own round time, with no backlog. ``GET /`` answers ``ok`` (readiness);
``GET /stats`` says how many batches went out.

Served by the same uvicorn with the same options as trainyard (see
:func:`bench.servers.start_bare`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import msgspec

WIDTH = 120
_PAD = "x" * WIDTH


class _Line(msgspec.Struct):
    seq: int
    timestamp: str
    stream: str
    level: str
    message: str


class _Lines(msgspec.Struct):
    lines: list[_Line]


_encode = msgspec.json.Encoder().encode
_START = {"type": "http.response.start", "status": 200, "headers": [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]}
_RETRY = {"type": "http.response.body", "body": b"retry: 2000\n\n", "more_body": True}
_clients: set[Any] = set()
_stats: dict[str, float | bool] = {"batches": 0, "lines": 0, "clients": 0, "producing": False}
_producer: list[asyncio.Task[None]] = []


def _frame(seq: int, count: int) -> bytes:
    """One ``log`` event of ``count`` lines from ``seq`` on, stamped now."""
    now = time.time()
    message = (f"{now:.6f} " + _PAD)[:WIDTH - 1]
    ts = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
    payload = _encode(_Lines([_Line(n, ts, "stdout", "INFO", message)
                              for n in range(seq, seq + count)]))
    last = seq + count - 1
    return f"id: {last}\nevent: log\n".encode() + b"data: " + payload + b"\n\n"


async def _produce(lines: int, seconds: float) -> None:
    end = time.monotonic() + seconds
    seq = 1
    _stats["producing"] = True
    try:
        while time.monotonic() < end:
            message = {"type": "http.response.body", "body": _frame(seq, lines),
                       "more_body": True}
            for send in list(_clients):
                with contextlib.suppress(Exception):  # a client gone: its handler cleans up
                    await send(message)
            seq += lines
            _stats["batches"] += 1
            _stats["lines"] += lines
            await asyncio.sleep(0)  # let the loop accept, read and flush between batches
    finally:
        _stats["producing"] = False


async def _reply(send: Any, body: bytes, status: int = 200) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _stream(receive: Any, send: Any) -> None:
    await send(_START)
    await send(_RETRY)
    _clients.add(send)
    _stats["clients"] = max(_stats["clients"], len(_clients))
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    finally:
        _clients.discard(send)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in _producer:
                    task.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/events":
        await _stream(receive, send)
    elif path == "/start":
        query = parse_qs(scope["query_string"].decode())
        if any(not task.done() for task in _producer):
            await _reply(send, b"already producing", 409)
            return
        _producer.append(asyncio.ensure_future(
            _produce(int(query["lines"][0]), float(query["seconds"][0]))))
        await _reply(send, b"started")
    elif path == "/stats":
        await _reply(send, json.dumps(_stats).encode())
    else:
        await _reply(send, b"ok")
