"""Answers made of bytes encoded beforehand, with their entity tag.

The handler hands Litestar a small ASGI app of its own (a documented return type): the
body is already JSON, so there is nothing for a :class:`~litestar.Response` to render,
and building one, then Litestar's ``ASGIResponse`` from it, then its headers one by one,
was over a third of ``GET /projects``'s time in the framework. A client that sends the
tag back in ``If-None-Match`` gets 304 with no body while nothing changed.
"""

from __future__ import annotations

from litestar.types import Receive, Scope, Send

from ..scope_headers import header
from ..services.projects import EncodedListing

__all__ = ["EncodedJSON", "matches"]


def matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks for it)."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


class EncodedJSON:
    """An ASGI app answering with ``listing``: 200 with its bytes, or 304 when the
    request's ``If-None-Match`` names it. A client may keep it but must ask again
    (``no-cache``), which costs a 304 while nothing changed."""

    __slots__ = ("listing",)

    def __init__(self, listing: EncodedListing) -> None:
        self.listing = listing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        listing = self.listing
        head = [(b"etag", listing.etag.encode()), (b"cache-control", b"no-cache")]
        if matches(header(scope, b"if-none-match"), listing.etag):
            await send({"type": "http.response.start", "status": 304, "headers": head})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        head += [(b"content-type", b"application/json"),
                 (b"content-length", str(len(listing.body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": head})
        await send({"type": "http.response.body", "body": listing.body, "more_body": False})
