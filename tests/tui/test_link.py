"""Noticing the server is gone, and getting back to it with growing pauses."""

from __future__ import annotations

import asyncio

import httpx

from tui.link import Backoff, Link, LinkState


def test_backoff_grows_to_a_cap() -> None:
    backoff = Backoff(first=0.5, factor=2, cap=3)
    assert [backoff.next() for _ in range(5)] == [0.5, 1, 2, 3, 3]


async def test_one_probe_loop_until_the_server_answers() -> None:
    answers = [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), None]
    pings = 0
    states: list[LinkState] = []

    async def ping() -> None:
        nonlocal pings
        pings += 1
        error = answers.pop(0)
        if error is not None:
            raise error

    link = Link(ping, states.append, backoff=lambda: Backoff(first=0.01, cap=0.02))
    link.lost(httpx.ConnectError("refused"))
    link.lost(httpx.ConnectError("refused again"))  # already down: no second probe
    assert not link.online
    await asyncio.wait_for(link.wait_online(), 5)
    assert pings == 3
    assert states[0].reason == "cannot connect" and not states[0].online
    assert "timed out" in {s.reason for s in states}
    assert states[-1] == LinkState()
    await link.close()
