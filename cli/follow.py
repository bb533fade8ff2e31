"""Following a run over a connection that may drop: its log as it is written, its end.

A dropped stream (a server restart, a proxy timeout) is picked up again with
``Last-Event-ID`` set to the last event received, so the server replays exactly what was
missed: no line twice, none lost. Connection errors are retried for ``retry_for`` seconds
before the command gives up with exit status 2.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx

from common.client import ApiError, TrainyardClient
from common.models import LogEntry, RunDetail

from .outcome import CliError
from .output import err

__all__ = ["RETRY_FOR", "Reconnect", "follow_logs", "print_entries", "wait_for_end"]

RETRY_FOR = 120.0
TRANSIENT = frozenset({502, 503, 504})  # a proxy or a server starting up: try again
WAIT_CHUNK = 300.0  # seconds per ``/wait`` request; a long wait is several of them


class Reconnect:
    """Backoff between attempts, and the point where trying stops."""

    def __init__(self, retry_for: float) -> None:
        self.retry_for = retry_for
        self.deadline: float | None = None
        self.delay = 0.2

    def connected(self) -> None:
        self.deadline = None
        self.delay = 0.2

    async def after(self, why: str) -> None:
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.retry_for
            err(f"{why}; reconnecting")
        elif now > self.deadline:
            raise CliError(f"gave up after {self.retry_for:g} s: {why}")
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, 2.0)


def _why(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"server answered {exc.status_code}: {exc.body.message}"
    return f"connection lost ({type(exc).__name__}: {exc})" if str(exc) else \
        f"connection lost ({type(exc).__name__})"


def _print_line(stream: str, message: str) -> None:
    # The command's own output goes to stdout, Trainyard's notes about the run to stderr,
    # so `trainyard logs RUN > out.txt` holds what the command printed.
    if stream == "system":
        sys.stderr.write(f"[trainyard] {message}\n")
    else:
        sys.stdout.write(message + "\n")


def print_entries(entries: list[LogEntry]) -> None:
    for entry in entries:
        _print_line(entry.stream, entry.message)
    sys.stdout.flush()


async def follow_logs(api: TrainyardClient, run_id: str, *, since: int,
                      retry_for: float) -> dict[str, Any]:
    """Print the run's log lines after ``since`` as they come; return the ``end`` data."""
    last = str(since) if since else None
    retry = Reconnect(retry_for)
    while True:
        try:
            async for event in api.events_of_run(run_id, last_event_id=last):
                retry.connected()
                if event.event == "log":
                    for line in event.data["lines"]:
                        _print_line(line["stream"], line["message"])
                    sys.stdout.flush()
                elif event.event == "end":
                    return dict(event.data)
                if event.id:
                    last = event.id
            why = "the stream ended before the run did"
        except ApiError as exc:
            if exc.status_code not in TRANSIENT:
                raise
            why = _why(exc)
        except httpx.TransportError as exc:
            why = _why(exc)
        await retry.after(why)


async def wait_for_end(api: TrainyardClient, run_id: str, *, within: float | None,
                       retry_for: float) -> tuple[RunDetail, bool]:
    """The run's detail once it has ended (True), or after ``within`` seconds (False)."""
    deadline = None if within is None else time.monotonic() + within
    retry = Reconnect(retry_for)
    while True:
        left = WAIT_CHUNK if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            detail, ended = await api.wait_run(run_id, seconds=min(left, WAIT_CHUNK))
        except ApiError as exc:
            if exc.status_code not in TRANSIENT:
                raise
            await retry.after(_why(exc))
            continue
        except httpx.TransportError as exc:
            await retry.after(_why(exc))
            continue
        retry.connected()
        if ended or (deadline is not None and time.monotonic() >= deadline):
            return detail, ended
