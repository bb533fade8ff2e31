"""Waiting for a run to end, woken by its terminal event rather than by polling.

A waiter subscribes to the run's hub stream FIRST, then reads the stored status: a run
that ends in between still wakes it, and one already ended returns at once. It takes
and drops each batch of frames as they come (so the hub never keeps frames for it) and
stops at the final status frame, or when it fell behind and storage says it ended.
"""

from __future__ import annotations

import asyncio
import contextlib

import msgspec

from ..storage.runs import RunRepository
from .recorder import TERMINAL
from .streaming.fanout import RunHub

__all__ = ["EndOfRun", "end_payload", "wait_for_end", "waiting"]

_waiting = 0


def waiting() -> int:
    """How many requests are waiting for a run to end now."""
    return _waiting


class EndOfRun(msgspec.Struct, kw_only=True):
    """The data of a run stream's ``end`` event: how the run finished."""

    run_id: str
    status: str | None
    exit_code: int | None
    kept_artifact_id: str | None
    status_message: str | None


async def _ended(runs: RunRepository, run_id: str) -> bool:
    run = await runs.get(run_id)
    return run is None or run.status in TERMINAL


async def wait_for_end(runs: RunRepository, hub: RunHub, run_id: str, seconds: float) -> bool:
    """True once the run has ended; False if ``seconds`` passed first."""
    global _waiting
    sub = hub.subscribe(run_id)
    _waiting += 1
    try:
        if await _ended(runs, run_id):
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    if not await sub.wait():
                        continue  # a keepalive tick: nothing to send, keep waiting
                    if sub.overflowed:
                        sub.skip()
                        if await _ended(runs, run_id):
                            return True
                    elif any(frame.terminal for frame in sub.drain()):
                        return True
        return await _ended(runs, run_id)
    finally:
        _waiting -= 1
        hub.unsubscribe(run_id, sub)


async def end_payload(runs: RunRepository, run_id: str) -> bytes:
    """The ``end`` event's JSON: final status, exit code and the checkpoint kept."""
    run = await runs.get(run_id)
    return msgspec.json.encode(EndOfRun(
        run_id=run_id, status=run.status if run else None,
        exit_code=run.exit_code if run else None,
        kept_artifact_id=run.kept_artifact_id if run else None,
        status_message=run.status_message if run else None))
