"""Follows one run: its log files by byte offset, its trainer log, artifacts and exit.

Lines, the offsets they were read up to, and what they said (metrics, progress) commit
in one transaction, so a server killed at any moment restarts exactly where it stopped:
no line lost, none repeated.
"""

from __future__ import annotations

import asyncio
import posixpath
import time
from itertools import repeat
from typing import TYPE_CHECKING, Any

from ..executors.base import Files
from ..storage.runs import LogRow, RunRow
from ..telemetry.run_telemetry import RunTelemetry, parse_trainer_log_line
from .lines import LineSplitter

if TYPE_CHECKING:
    from .supervisor import Supervisor

__all__ = ["Follower"]

CHUNK = 1 << 20
STREAMS = ("stdout", "stderr")
SCAN_EVERY = 3.0
TRAINER_LOG_EVERY = 1.0
ALIVE_EVERY = 5.0
TRAINER_LOG = "trainer_log.jsonl"
REMOTE_POLL = 1.0
ACTIVE_POLL = 0.02
BATCH_EVERY = 0.02  # while lines come steadily, a batch per this at most


class Follower:
    def __init__(self, supervisor: Supervisor, run: RunRow) -> None:
        self.sup = supervisor
        self.run_row = run
        self.files: Files = supervisor.executor.files(run.container)
        self.split = {s: LineSplitter(supervisor.max_line) for s in STREAMS}
        self.pos = {"stdout": run.stdout_offset, "stderr": run.stderr_offset}
        self.committed = dict(self.pos)
        self.jsonl_offset = run.jsonl_offset
        self.telemetry = RunTelemetry(run.metrics, run.progress_info)
        self._inflight: asyncio.Task[Any] | None = None
        self._committed_at = 0.0

    def _path(self, name: str) -> str:
        return f"{self.run_row.run_dir}/{name}"

    async def _read_once(self) -> tuple[list[LogRow], bool]:
        rows: list[LogRow] = []
        moved = False
        # stderr first: the bar there says which step the stdout dicts belong to.
        for stream in ("stderr", "stdout"):
            chunk = await self.files.read(self._path(f"{stream}.log"), self.pos[stream], CHUNK)
            if chunk:
                moved = True
                # A full chunk means a backlog: its lines' timing says nothing about speed.
                self.telemetry.catching_up = len(chunk) == CHUNK
                self.pos[stream] += len(chunk)
                lines = self.split[stream].feed(chunk)
                self.telemetry.feed(lines)
                rows.extend(zip(repeat(stream), repeat("INFO"), lines))
        if moved:
            self.telemetry.feed_partial(self.split["stderr"].current)
        return rows, moved

    async def _commit(self, rows: list[LogRow], *, final: bool = False,
                      extra: dict[str, Any] | None = None, top_up: bool = False) -> None:
        # Writes stay in order (one in flight at a time); while catching up, the next
        # chunk is read and parsed while this one is inserted (big batches go to a thread).
        await self._settle()
        if top_up and not self.telemetry.catching_up:
            # Read again, now that the last batch is stored and handed to the streams:
            # with a thousand clients, handing it out is a long pass of the event loop,
            # and lines read ahead of it went out one fan-out later than these.
            more, _ = await self._read_once()
            rows.extend(more)
        offsets = {s: self.pos[s] - (0 if final else self.split[s].held) for s in STREAMS}
        events, fields, points = self.telemetry.take(force=final)
        if extra:
            fields.update(extra)
        if rows or events or fields or offsets != self.committed:
            self._committed_at = time.monotonic()
            self._inflight = asyncio.create_task(self.sup.recorder.record(
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

    async def run(self) -> None:
        try:
            await self._follow()
        finally:
            await self._settle()

    async def _follow(self) -> None:
        run = self.run_row
        # Files not shared with this host are read through an exec each time: poll slower.
        poll = max(REMOTE_POLL, self.sup.poll) if await self.files.costly(run.run_dir) \
            else self.sup.poll
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
                fresh = await self.sup.runs.get(run.id)
                stopped = fresh is not None and fresh.stop_request is not None
                self.telemetry.finish(completed=code == 0 and not stopped)
                await self._commit([], final=True)
                await self._settle()
                status = "completed" if code == 0 else "failed"
                message = "completed" if code == 0 else f"failed: exit code {code}"
                await self.sup.end(run, status, code, message)
                return
            now = time.monotonic()
            if now >= next_alive:
                next_alive = now + ALIVE_EVERY
                alive = await self.sup.executor.alive(run.container, run.wrapper_pid or 0)
                if not alive and await self._exit_code() is None:
                    await self._drain()
                    await self._settle()
                    await self.sup.end(run, "failed", None, "failed: the run's process vanished "
                                       "without an exit code (container or host restarted?)")
                    return
            if now >= next_jsonl:
                next_jsonl = now + TRAINER_LOG_EVERY
                await self._read_trainer_log()
            if now >= next_scan:
                next_scan = now + SCAN_EVERY
                await self.sup.scan(run)
            await asyncio.sleep(wait)
            wait = min(poll, wait * 2)
