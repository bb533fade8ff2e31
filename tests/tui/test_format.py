"""How values read on screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from common.client import ApiError
from common.models import ErrorBody
from tui.format import (
    ago,
    api_error_text,
    clip,
    duration,
    number,
    size,
    status_text,
    unreachable_text,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_durations_and_ages() -> None:
    assert [duration(s) for s in (None, 0, 45, 192, 7500, 3 * 86400 + 4 * 3600)] == [
        "—", "0s", "45s", "3m12s", "2h05m", "3d04h"]
    assert ago(None, NOW) == "—"
    assert ago(NOW - timedelta(seconds=2), NOW) == "just now"
    assert ago(NOW - timedelta(seconds=42), NOW) == "42s ago"
    assert ago(NOW - timedelta(minutes=5, seconds=59), NOW) == "5m ago"
    assert ago(NOW - timedelta(hours=26), NOW) == "1d ago"


def test_numbers_sizes_and_text() -> None:
    assert [number(v) for v in (None, 2.24731, 60.0, 0.0005, 1234567.0, 0.0)] == [
        "—", "2.247", "60", "5.000e-04", "1.235e+06", "0"]
    assert size(503316480) == "480 MiB"
    assert size(85520809984) == "79.6 GiB"
    assert clip("a  b\nc", 10) == "a b c"
    assert clip("abcdefghijk", 5) == "abcd…"


def test_statuses_read_without_colour() -> None:
    assert status_text("running").plain == "▶ running"
    assert status_text("canceled").plain == "■ canceled"
    assert status_text("weird").plain == "? weird"


def test_server_errors_keep_the_servers_words_and_details() -> None:
    body = ErrorBody(status_code=400, code="validation_failed", message="bad body",
                     detail="bad body", details={"errors": [
                         {"field": "owner", "source": "body", "message": "must not be blank"}]})
    assert api_error_text(ApiError(body)) == "bad body\nowner: must not be blank"
    missing = ErrorBody(status_code=400, code="resources_missing", message="not found",
                        detail="not found", details={"missing": [
                            {"item": "dataset", "name": "x", "looked_in": ["/w/data/x"]}]})
    assert "dataset 'x': looked in 1 places, e.g. /w/data/x" in api_error_text(ApiError(missing))


def test_why_the_server_is_unreachable() -> None:
    request = httpx.Request("GET", "http://x/")
    assert unreachable_text(httpx.ConnectError("All connection attempts failed")) == (
        "cannot connect")
    assert unreachable_text(httpx.ReadTimeout("timed out")) == "timed out"
    assert unreachable_text(httpx.RemoteProtocolError("peer closed")) == "connection dropped"
    response = httpx.Response(502, request=request)
    assert unreachable_text(httpx.HTTPStatusError("bad", request=request,
                                                  response=response)) == "HTTP 502"
