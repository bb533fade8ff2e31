"""Talking to the server through outages: streams that resume, fetches that wait.

Both wait while the :class:`~tui.link.Link` is down and report the first failure to it;
neither clears anything on screen, so the last data stays visible while the server is away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from common.client import ServerEvent

from .api import UNREACHABLE, Api
from .link import Link

__all__ = ["FROM_NOW", "changes", "fetch", "follow"]

# A Last-Event-ID no server boot ever issued. A list-view stream opened with it answers
# ``reset`` at once, after subscribing: the signal that the stream is live and the list
# can be fetched without missing a change made in between.
FROM_NOW = "tui.0"

T = TypeVar("T")
CLEAN_CLOSE_PAUSE = 1.0  # a stream the server closed without error: wait before reopening


async def follow(link: Link, open_stream: Callable[[str | None], AsyncIterator[ServerEvent]],
                 last_event_id: str | None = None) -> AsyncIterator[ServerEvent]:
    """Events of a stream until it sends ``end``, reconnecting after the server goes away
    and resuming after the last event id seen (the server replays what was missed).

    An :class:`~common.client.ApiError` (bad token, unknown run) is raised: retrying
    would not help.
    """
    while True:
        await link.wait_online()
        try:
            async for event in open_stream(last_event_id):
                if event.id is not None:
                    last_event_id = event.id
                yield event
                if event.event == "end":
                    return
        except UNREACHABLE as error:
            link.lost(error)
            continue
        # Closed cleanly: the server is shutting down or a proxy timed the stream out.
        await asyncio.sleep(CLEAN_CLOSE_PAUSE)


def changes(link: Link, api: Api) -> AsyncIterator[ServerEvent]:
    """The list-view stream (/events), starting with a ``reset`` once it is live."""
    return follow(link, lambda last: api.events("/events", last_event_id=last), FROM_NOW)


async def fetch(link: Link, call: Callable[[], Awaitable[T]]) -> T:
    """``call()``'s result, retried once the server is back if it was unreachable."""
    while True:
        await link.wait_online()
        try:
            return await call()
        except UNREACHABLE as error:
            link.lost(error)
