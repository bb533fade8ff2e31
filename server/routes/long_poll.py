"""A long-polling request ends its work when its client goes away.

``GET .../wait`` may hold a request for up to an hour; a script killed meanwhile would
otherwise leave its wait (and its hub subscription) to run out the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, TypeVar

from litestar import Request

from ..errors import TrainyardError

__all__ = ["ClientGone", "unless_client_leaves"]

T = TypeVar("T")


class ClientGone(TrainyardError):
    """The client disconnected before the answer was ready (no one reads this answer)."""

    status_code = 499  # nginx's "client closed request"
    code = "client_closed_request"


async def _disconnected(request: Request[Any, Any, Any]) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_client_leaves(request: Request[Any, Any, Any], work: Awaitable[T]) -> T:
    """``work``'s result; cancelled, raising :class:`ClientGone`, if the client leaves."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait([task, watcher], return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        raise ClientGone("the client went away while waiting")
    return task.result()
