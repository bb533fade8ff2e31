"""The hub's queues: bounded, woken by frames or by the shared keepalive ticker."""

from __future__ import annotations

import asyncio

from server.services.events import Frame, RunHub, keepalive


async def test_a_quiet_subscriber_gets_keepalives_and_a_busy_one_frames() -> None:
    hub = RunHub(queue_limit=2)
    quiet, busy = hub.subscribe("run_a"), hub.subscribe("run_b")
    ticker = asyncio.create_task(keepalive(0.05))
    try:
        assert await asyncio.wait_for(quiet.wait(), 1.0) is False  # a keepalive is due
        hub.publish("run_b", [Frame(1, 1, b"x")])
        assert await asyncio.wait_for(busy.wait(), 1.0) is True
        assert [f.last for f in busy.drain()] == [1]
        hub.publish("run_b", [Frame(n, n, b"x") for n in (2, 3, 4)])  # over the limit
        assert busy.overflowed and not busy.queue  # it must catch up from storage
    finally:
        ticker.cancel()
