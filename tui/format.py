"""How values read on screen: durations, sizes, numbers, statuses, server errors.

Everything here is pure (the current time is passed in), so views render the same
output for the same data, which the snapshot tests rely on.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import httpx
from rich.text import Text

from common.client import ApiError

__all__ = [
    "STATUS_GLYPH",
    "STATUS_STYLE",
    "ago",
    "api_error_text",
    "clip",
    "clock_time",
    "duration",
    "number",
    "size",
    "status_text",
    "unreachable_text",
]

# Glyph and colour both say the status, so it reads without colour too (NO_COLOR, mono).
STATUS_GLYPH = {"pending": "◌", "running": "▶", "completed": "✔", "failed": "✖",
                "canceled": "■", "paused": "‖", "active": "●", "archived": "○"}
STATUS_STYLE = {"pending": "yellow", "running": "bold cyan", "completed": "green",
                "failed": "bold red", "canceled": "magenta", "paused": "yellow",
                "active": "green", "archived": "dim"}


def status_text(status: str) -> Text:
    glyph = STATUS_GLYPH.get(status, "?")
    return Text(f"{glyph} {status}", style=STATUS_STYLE.get(status, ""))


def duration(seconds: float | None) -> str:
    """``45s``, ``3m12s``, ``2h05m``, ``3d04h``; ``—`` when unknown."""
    if seconds is None or seconds < 0:
        return "—"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def ago(then: datetime | None, now: datetime) -> str:
    """``just now``, ``12s ago``, ``5m ago``, ``3h ago``, ``2d ago``."""
    if then is None:
        return "—"
    seconds = (now - then).total_seconds()
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)}s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    return f"{int(seconds // 86400)}d ago"


def clock_time(moment: datetime, tz: tzinfo | None) -> str:
    """``HH:MM:SS`` in ``tz`` (local time when None)."""
    return moment.astimezone(tz).strftime("%H:%M:%S")


def size(n_bytes: float | None) -> str:
    if n_bytes is None:
        return "—"
    gib = n_bytes / 1024**3
    if gib >= 1:
        return f"{gib:.1f} GiB"
    return f"{n_bytes / 1024**2:.0f} MiB"


def number(value: float | None) -> str:
    """Four significant digits; scientific only where that would hide the value."""
    if value is None:
        return "—"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3e}"
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.4g}"


def clip(text: str, width: int) -> str:
    """One line of at most ``width`` cells, with ``…`` where it was cut."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut in the middle: a path keeps its
    start and its last part (``/KTIP_Rel…/checkpoint-120``)."""
    if len(text) <= width:
        return text
    tail = max((width - 1) * 2 // 3, 1)
    head = max(width - 1 - tail, 0)
    return f"{text[:head]}…{text[len(text) - tail:]}"


def api_error_text(error: ApiError) -> str:
    """The server's message, plus the specifics it gives for the common codes."""
    body = error.body
    lines = [body.message]
    details: dict[str, Any] = body.details or {}
    for item in details.get("errors") or []:
        if isinstance(item, dict) and item.get("message") not in (None, body.message):
            field = item.get("field")
            lines.append(f"{field}: {item['message']}" if field else str(item["message"]))
    for item in details.get("missing") or []:
        if isinstance(item, dict):
            looked = item.get("looked_in") or []
            lines.append(f"{item.get('item')} {item.get('name')!r}: looked in {len(looked)} places"
                         + (f", e.g. {looked[0]}" if looked else ""))
    return "\n".join(lines)


def unreachable_text(error: BaseException) -> str:
    """A short reason a person understands: ``cannot connect``, ``timed out``, ..."""
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.ConnectError):
        return "cannot connect"
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    if isinstance(error, httpx.TransportError):  # read errors, protocol errors
        return "connection dropped"
    return clip(str(error) or type(error).__name__, 60)
