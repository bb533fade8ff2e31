"""Row: the TUI's run view stays interactive while the run prints 5,000 lines a second.

The real app (``tui.app.TrainyardApp``, headless at 120x36 through Textual's test driver)
on the real server, showing a run whose command prints 5,000 120-character lines per
second. Two figures, each beside the same measured on the view of a quiet run:

- key response: pressing ``2`` (Artifacts tab) then ``1`` (Log tab), from the key until
  the tab is the active one, p50 and p99 over 40 presses;
- event-loop lag: how late a 20 ms timer fires (what a user feels as frame stutter), p99.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from datetime import UTC

from common.client import ApiError, TrainyardClient
from common.models import RunCreate
from tui.api import HttpApi
from tui.app import TrainyardApp
from tui.screens.run import RunScreen

from .servers import Process, own_output_dir
from .stats import percentile
from .table import Row

__all__ = ["measure"]

LINES_PER_SECOND = 5000
PRESSES = 40
KEY_P99_TARGET_MS = 100  # a key answered within a frame or two
LAG_P99_TARGET_MS = 50
SIZE = (120, 36)
# 50 lines every 10 ms, each line 120 characters, for up to 60 s.
FIREHOSE = (
    "python3 -c \"import sys, time\n"
    "line = 'x' * 119 + '\\n'\n"
    "end = time.time() + 60\n"
    "while time.time() < end:\n"
    "    sys.stdout.write(line * 50); sys.stdout.flush(); time.sleep(0.01)\""
)
QUIET = "sleep 60"



async def _loop_lag(stop: asyncio.Event, out: list[float]) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.02)
        out.append((time.perf_counter() - start - 0.02) * 1000)


async def _drive(server: Process, token: str, project: str, run_id: str
                 ) -> tuple[list[float], list[float]]:
    app = TrainyardApp(HttpApi(server.url, token), url=server.url, tz=UTC)
    keys: list[float] = []
    lag: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(RunScreen(project, run_id, project))
        await pilot.pause(3.0)  # the view loads and its streams catch up
        stop = asyncio.Event()
        lagger = asyncio.create_task(_loop_lag(stop, lag))
        tabs = app.screen.query_one("TabbedContent")
        for i in range(PRESSES):
            key, want = ("2", "tab-artifacts") if i % 2 == 0 else ("1", "tab-log")
            start = time.perf_counter()
            # As a terminal delivers a key (Pilot.press would also wait for animations).
            app.simulate_key(key)
            # Polling is the measurement: how soon the screen shows the tab.
            while tabs.active != want:  # type: ignore[attr-defined]  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            keys.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(0.1)
        stop.set()
        await lagger
    return keys, lag


async def _view_of(server: Process, client: TrainyardClient, token: str, project: str,
                   command: str) -> tuple[list[float], list[float]]:
    run = await client.start_run(project, RunCreate(command, output_dir=own_output_dir()))
    try:
        await asyncio.sleep(1.0)
        return await _drive(server, token, project, run.id)
    finally:
        with contextlib.suppress(ApiError):  # it may have ended by itself
            await client.cancel(project, run.id, grace_seconds=1)


async def measure(server: Process, client: TrainyardClient, token: str,
                  project: str) -> list[Row]:
    quiet_keys, quiet_lag = await _view_of(server, client, token, project, QUIET)
    busy_keys, busy_lag = await _view_of(server, client, token, project, FIREHOSE)
    label = f"TUI run view while the run prints {LINES_PER_SECOND:,} lines/s"
    key_p99, lag_p99 = percentile(busy_keys, 0.99), percentile(busy_lag, 0.99)
    return [
        Row(f"{label}: key response p50 / p99 ({PRESSES} tab switches)",
            f"{statistics.median(busy_keys):.0f} / {key_p99:.0f} ms",
            f"{statistics.median(quiet_keys):.0f} / {percentile(quiet_keys, 0.99):.0f} ms "
            "(a quiet run)", f"{key_p99 / max(percentile(quiet_keys, 0.99), 1):.1f}×",
            f"p99 < {KEY_P99_TARGET_MS} ms", key_p99 < KEY_P99_TARGET_MS),
        Row(f"{label}: event-loop lag p99 (20 ms timer)", f"{lag_p99:.0f} ms",
            f"{percentile(quiet_lag, 0.99):.0f} ms (a quiet run)", "—",
            f"p99 < {LAG_P99_TARGET_MS} ms", lag_p99 < LAG_P99_TARGET_MS),
    ]


if __name__ == "__main__":
    from .standalone import run, with_server

    run(with_server(lambda _ws, server, client, project, token:
                    measure(server, client, token, project)))
