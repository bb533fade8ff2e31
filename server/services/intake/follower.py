"""Follows one run: its log files by byte offset, its trainer log, artifacts and exit.

Lines, the offsets they were read up to, and what they said (metrics, progress) commit
in one transaction, so a server killed at any moment restarts exactly where it stopped:
no line lost, none repeated. Output read after a restart is put back in the order it was
written, across stdout and stderr, with the time it was written, from the wrapper's
clock file (see :mod:`server.services.intake.clock`).

The follower calls back into no one: :meth:`Follower.run` returns what it saw end the run
(:class:`Exited` or :class:`Vanished`), and its owner decides what that means.
"""

from __future__ import annotations

import asyncio
import posixpath
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ...executors.base import ExecutorUnreachable, Files, Procs
from ...storage.runs import LogRow, RunRow
from ..recorder import RunRecorder
from .clock import Clock, Segment
from .lines import DEFAULT_MAX_LINE, LineSplitter
from .run_telemetry import RunTelemetry, parse_trainer_log_line

__all__ = ["Exited", "Follower", "Outcome", "Vanished"]

CHUNK = 1 << 20
STREAMS = ("stdout", "stderr")
SCAN_EVERY = 3.0
TRAINER_LOG_EVERY = 1.0
ALIVE_EVERY = 5.0
TRAINER_LOG = "trainer_log.jsonl"
REMOTE_POLL = 1.0
ACTIVE_POLL = 0.02
BATCH_EVERY = 0.02  # while lines come steadily, a batch per this at most


@dataclass(frozen=True, slots=True)
class Exited:
    """The command ended and the wrapper wrote its exit code."""

    code: int


@dataclass(frozen=True, slots=True)
class Vanished:
    """No process of the run is left, and no exit code was written."""

    reason: str


Outcome = Exited | Vanished


def last_drawing(data: bytes) -> str:
    """The last non-blank redraw (``\\r``-separated) or line in ``data``'s tail."""
    for piece in reversed(re.split(rb"[\r\n]", data[-4096:])):
        if piece.strip():
            return piece.decode("utf-8", "replace")
    return ""


class Follower:
    def __init__(self, run: RunRow, *, files: Files, recorder: RunRecorder,
                 procs: Callable[[], Awaitable[Procs]],
                 scan: Callable[[RunRow], Awaitable[object]], poll: float,
                 max_line: int = DEFAULT_MAX_LINE) -> None:
        self.run_row = run
        self.files = files
        self.recorder = recorder
        self.procs = procs
        self.scan = scan
        self.poll = poll
        self.split = {s: LineSplitter(max_line) for s in STREAMS}
        self.pos = {"stdout": run.stdout_offset, "stderr": run.stderr_offset}
        self.committed = dict(self.pos)
        self.jsonl_offset = run.jsonl_offset
        self.telemetry = RunTelemetry(run.metrics, run.progress_info)
        self.clock = Clock(run.clock_offset)
        self._clock_committed = run.clock_offset
        self._fresh = True  # nothing read since this follower started: a backlog may wait
        self._orphans_said = False
        self._inflight: asyncio.Task[Any] | None = None
        self._committed_at = 0.0

    def _path(self, name: str) -> str:
        return f"{self.run_row.run_dir}/{name}"

    async def _read_clock(self) -> None:
        data = await self.files.read(self._path("clock"), self.clock.read_to, CHUNK)
        end = data.rfind(b"\n") if data else -1
        if data and end >= 0:
            self.clock.feed(data[:end + 1])

    async def _read_once(self) -> tuple[list[LogRow], bool]:
        chunks: dict[str, bytes] = {}
        for stream in ("stderr", "stdout"):
            chunks[stream] = await self.files.read(
                self._path(f"{stream}.log"), self.pos[stream], CHUNK) or b""
        if not any(chunks.values()):
            self._fresh = False
            return [], False
        # A backlog (after a restart, or a burst bigger than a chunk) is put in the order
        # and at the time it was written; what is read as it comes is stamped now.
        backlog = self._fresh or any(len(c) == CHUNK for c in chunks.values())
        if backlog:
            await self._read_clock()
        segments = self.clock.order(self.pos, chunks) if backlog else [
            Segment(s, chunks[s], None, False) for s in ("stderr", "stdout") if chunks[s]]
        rows: list[LogRow] = []
        for segment in segments:
            self.pos[segment.stream] += len(segment.data)
            lines = self.split[segment.stream].feed(segment.data)
            self.telemetry.catching_up = segment.old
            self.telemetry.feed(lines)
            if segment.stream == "stderr":
                # A bar drawn then cleared for a line printed above it (tqdm.write) is
                # gone from the unfinished tail: its last drawing says the step.
                self.telemetry.feed_partial(last_drawing(segment.data))
            if segment.ts is None:
                rows.extend((segment.stream, "INFO", line) for line in lines)
            else:
                rows.extend((segment.stream, "INFO", line, segment.ts) for line in lines)
        self.telemetry.catching_up = False
        self.telemetry.feed_partial(self.split["stderr"].current)
        return rows, True

    async def _commit(self, rows: list[LogRow], *, final: bool = False,
                      extra: dict[str, Any] | None = None, top_up: bool = False) -> None:
        # Writes stay in order (one in flight at a time); while catching up, the next
        # chunk is read and parsed while this one is inserted (big batches go to a thread).
        await self._settle()
        if top_up and not self._fresh:
            # Read again, now that the last batch is stored and handed to the streams:
            # with a thousand clients, handing it out is a long pass of the event loop,
            # and lines read ahead of it went out one fan-out later than these.
            more, _ = await self._read_once()
            rows.extend(more)
        offsets = {s: self.pos[s] - (0 if final else self.split[s].held) for s in STREAMS}
        events, fields, points = self.telemetry.take(force=final)
        if extra:
            fields.update(extra)
        self.clock.forget(offsets)
        if self.clock.offset != self._clock_committed:
            fields["clock_offset"] = self._clock_committed = self.clock.offset
        if rows or events or fields or offsets != self.committed:
            self._committed_at = time.monotonic()
            self._inflight = asyncio.create_task(self.recorder.record(
                self.run_row.id, rows, events=events, offsets=offsets, fields=fields,
                points=points))
            self.committed = offsets

    async def _settle(self) -> None:
        """Wait for the write in flight; its failure surfaces here."""
        if self._inflight is not None:
            task, self._inflight = self._inflight, None
            await task

    async def _read_trainer_log(self) -> None:
        """LLaMA-Factory's trainer_log.jsonl: complete lines only, from where we were."""
        if not self.run_row.output_dir:
            return
        path = posixpath.join(self.run_row.output_dir, TRAINER_LOG)
        data = await self.files.read(path, self.jsonl_offset, CHUNK)
        end = data.rfind(b"\n") if data else -1
        if data is None or end < 0:
            return
        for line in data[:end].decode("utf-8", "replace").splitlines():
            parsed = parse_trainer_log_line(line)
            if parsed is not None:
                self.telemetry.apply(parsed)
        self.jsonl_offset += end + 1
        await self._commit([], extra={"jsonl_offset": self.jsonl_offset})

    async def _exit_code(self) -> int | None:
        raw = await self.files.read(self._path("exit_code"), 0, 64)
        if raw is None or not raw.strip():
            return None
        try:
            return int(raw.strip())
        except ValueError:
            return -1

    async def _drain(self) -> None:
        """The command has ended: its files are complete; read them out, flush the tails."""
        while True:
            rows, moved = await self._read_once()
            if not moved:
                break
            await self._commit(rows)
        await self._read_trainer_log()
        await self._settle()
        tails: list[LogRow] = []
        for stream in STREAMS:
            lines = self.split[stream].flush()
            self.telemetry.feed(lines)
            tails.extend((stream, "INFO", line) for line in lines)
        await self._commit(tails, final=True)
        await self._settle()

    async def finish(self, *, completed: bool) -> None:
        """Store the final progress (complete only if the run completed)."""
        self.telemetry.finish(completed=completed)
        await self._commit([], final=True)
        await self._settle()

    async def run(self) -> Outcome:
        try:
            return await self._follow()
        finally:
            await self._settle()

    async def _vanished(self) -> Vanished | None:
        """Whether the run has no process left though no exit code was written."""
        try:
            procs = await self.procs()
        except ExecutorUnreachable:
            return None  # a cluster's controller is away: the files still tell; look later
        if procs.wrapper == "alive" or await self._exit_code() is not None:
            return None
        if procs.others:
            if not self._orphans_said:
                self._orphans_said = True
                await self.recorder.log(
                    self.run_row.id, f"the run's wrapper is gone but {procs.others} of its "
                    "processes still run; following them until they end", "WARNING")
            return None
        if procs.wrapper == "replaced":
            return Vanished("the run's process is gone and its pid now belongs to another "
                            "process (the host or container restarted?)")
        return Vanished("the run's process vanished without an exit code (container or "
                        "host restarted?)")

    async def _follow(self) -> Outcome:
        run = self.run_row
        # Files not shared with this host are read through an exec each time: poll slower.
        poll = max(REMOTE_POLL, self.poll) if await self.files.costly(run.run_dir) \
            else self.poll
        next_scan = next_alive = next_jsonl = time.monotonic()
        # While a run writes, look again soon (its readers wait on us); as it goes quiet,
        # back off to the configured interval, so idle runs cost no more than before.
        wait = poll
        while True:
            rows, moved = await self._read_once()
            if moved:
                await self._commit(rows, top_up=True)
                wait = min(ACTIVE_POLL, poll)
                continue
            if self._inflight is not None:
                await self._settle()
                # Then look again soon: lines came meanwhile. Not at once: each batch
                # costs a transaction, a frame and a round of wake-ups whatever its size.
                pause = self._committed_at + BATCH_EVERY - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                continue
            await self._commit([])  # a throttled progress event may be waiting
            code = await self._exit_code()
            if code is not None:
                await self._drain()
                return Exited(code)
            now = time.monotonic()
            if now >= next_alive:
                next_alive = now + ALIVE_EVERY
                if (gone := await self._vanished()) is not None:
                    await self._drain()
                    return gone
            if now >= next_jsonl:
                next_jsonl = now + TRAINER_LOG_EVERY
                await self._read_trainer_log()
            if now >= next_scan:
                next_scan = now + SCAN_EVERY
                await self.scan(run)
            await asyncio.sleep(wait)
            wait = min(poll, wait * 2)
