"""Limits on request heads, enforced by the HTTP protocol before anything is buffered.

uvicorn's httptools protocol has no limit on a request's head: a 100 MB header on
``/healthz`` was read whole (263 MB RSS; 20 of them at once, 524 MB). This protocol feeds
the parser at most :data:`MAX_HEAD_BYTES` of a head, so a head never costs more memory
than that, and answers at once, closing the connection:

- 431 when the request line and headers pass :data:`MAX_HEAD_BYTES`, or there are more
  than :data:`MAX_HEADERS` header fields;
- 414 when the URL passes :data:`MAX_URL_BYTES`.

It also cuts off a client that takes nothing of what is written to it for
``stall_seconds`` (the connection's buffer stays full): the connection is aborted, so its
buffer, its stream and the stream's place in the hub go at once. An event-stream client
reconnects after the ``retry`` the stream began with, sending its Last-Event-ID: a
partly received event was never dispatched, so it resumes with no gap and no duplicate.

Body size (413) and JSON depth (400) are checked by the app (``request_max_body_size``,
:mod:`server.routes.body_checks`). Every limit is listed in ``docs/limits.md``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
import msgspec
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from common.models import ErrorBody

__all__ = ["MAX_HEADERS", "MAX_HEAD_BYTES", "MAX_URL_BYTES", "LimitedHttpToolsProtocol",
           "limited_protocol"]

MAX_HEAD_BYTES = 64 << 10
MAX_HEADERS = 100
MAX_URL_BYTES = 8 << 10


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; the answer is already chosen."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits on the request head and on stalls."""

    stall_seconds = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stall: asyncio.TimerHandle | None = None
        self._in_head = True  # the bytes coming now belong to a request's head
        self._head_bytes = 0
        self._header_count = 0
        self._refusal: tuple[int, str, str] | None = None

    def data_received(self, data: bytes) -> None:
        while data and not self.transport.is_closing():
            if not self._in_head:
                self._feed(data)
                return
            # Feed no more of a head than the limit allows (+1 to see it pass): the
            # parser buffers a header's value until it ends, so it must never get more.
            room = MAX_HEAD_BYTES - self._head_bytes + 1
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            self._feed(piece)
            if self._in_head and self._head_bytes > MAX_HEAD_BYTES \
                    and not self.transport.is_closing():
                self._refuse(431, "headers_too_large",
                             f"the request line and headers pass {MAX_HEAD_BYTES} bytes")
                return

    def _feed(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse(*self._refusal)
            else:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)

    def _refuse(self, status: int, code: str, message: str) -> None:
        body = msgspec.json.encode(ErrorBody(status_code=status, code=code, message=message,
                                             detail=message, details=None))
        self.transport.write(b"".join([
            STATUS_LINE[status], b"content-type: application/json\r\n",
            b"content-length: ", str(len(body)).encode(), b"\r\n",
            b"connection: close\r\n\r\n", body]))
        self.transport.close()

    # -- a client that reads nothing ----------------------------------------------------
    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stall is None:
            self._stall = self.loop.call_later(self.stall_seconds, self._cut_off)

    def resume_writing(self) -> None:
        self._stop_stall_timer()
        super().resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_stall_timer()
        super().connection_lost(exc)

    def _stop_stall_timer(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _cut_off(self) -> None:
        self._stall = None
        self.logger.info("cut off %s: it read nothing for %s s", self._peer(),
                         self.stall_seconds)
        self.transport.abort()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "a client"

    # -- parser callbacks --------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._in_head = True
        self._header_count = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self._refusal = (414, "url_too_long", f"the URL passes {MAX_URL_BYTES} bytes")
            raise _Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > MAX_HEADERS:
            self._refusal = (431, "too_many_headers",
                             f"the request has more than {MAX_HEADERS} header fields")
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()


def limited_protocol(stall_seconds: float) -> type[LimitedHttpToolsProtocol]:
    """The protocol class for uvicorn, cutting off clients stalled ``stall_seconds``."""
    return type("LimitedHttpToolsProtocol", (LimitedHttpToolsProtocol,),
                {"stall_seconds": stall_seconds})
