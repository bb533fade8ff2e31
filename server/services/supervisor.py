"""Follows every live run: its log files by byte offset, its artifacts, its exit.

One task per live run. Lines and the file offsets they were read up to commit in one
transaction, so a server killed at any moment restarts exactly where it stopped: no line
lost, none repeated. Stopping (cancel/pause) records the intent first, so a run that
ends while the server is down still gets the status that was asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from datetime import datetime

from common.models import LIVE_STATUSES, Artifact

from ..errors import Conflict
from ..executors.base import Executor, ExecutorError, Files
from ..storage.db import now_iso
from ..storage.runs import LogRow, RunRepository, RunRow
from .artifacts import newest_checkpoint, scan_output_dir
from .lines import LineSplitter
from .names import new_id

__all__ = ["Supervisor"]

log = logging.getLogger("trainyard.supervisor")

CHUNK = 1 << 20
STREAMS = ("stdout", "stderr")
SCAN_EVERY = 3.0
ALIVE_EVERY = 5.0
KILL_WAIT = 15.0


def signal_number(name: str) -> int:
    name = name.upper()
    return int(getattr(signal.Signals, name if name.startswith("SIG") else f"SIG{name}"))


class Supervisor:
    def __init__(self, *, runs: RunRepository, executor: Executor, poll_interval: float) -> None:
        self.runs = runs
        self.executor = executor
        self.poll = poll_interval
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ended: dict[str, asyncio.Event] = {}
        self._stopping: set[str] = set()

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Pick up every run that was live when the server last stopped."""
        for run in await self.runs.live():
            if run.pgid is None:
                await self._end(run, "failed", None,
                                "the server stopped before the run's command started")
            else:
                await self.runs.system_log(run.id, "server restarted; following the run again")
                self.follow(run)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def follow(self, run: RunRow) -> None:
        self._ended[run.id] = asyncio.Event()
        task = asyncio.create_task(self._follow(run), name=f"follow-{run.id}")
        self._tasks[run.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run.id, None))

    # -- following --------------------------------------------------------------------
    async def _follow(self, run: RunRow) -> None:
        while True:
            try:
                await _Follower(self, run).run()
                return
            except asyncio.CancelledError:
                raise
            except ExecutorError as exc:
                log.warning("following run %s: %s", run.id, exc)
                if not await self.executor.alive(run.container, run.wrapper_pid or 0):
                    await self._end(run, "failed", None, f"failed: {exc}")
                    return
                await asyncio.sleep(1.0)
            except Exception:
                log.exception("following run %s failed; retrying in 1 s", run.id)
                await asyncio.sleep(1.0)
                run = await self.runs.get(run.id) or run
                if run.status not in LIVE_STATUSES:
                    return

    async def scan(self, run: RunRow) -> list[Artifact]:
        """Record the artifacts now in the run's output directory; return all of them."""
        if run.output_dir:
            files = self.executor.files(run.container)
            # Trainers reuse an output directory across resumes: what predates this run
            # belongs to an earlier one.
            since = datetime.fromisoformat(run.created_at)
            found = [f for f in await scan_output_dir(files, run.output_dir)
                     if f.created_at >= since]
            await self.runs.add_artifacts(run, [
                Artifact(id=new_id("ckpt" if f.type == "checkpoint" else "art"), name=f.name,
                         type=f.type, path=f.path, step=f.step, created_at=f.created_at,  # type: ignore[arg-type]
                         tags=[], run_id=run.id)
                for f in found
            ])
        return await self.runs.artifacts(run.id)

    async def _end(self, run: RunRow, status: str, exit_code: int | None, message: str) -> None:
        fresh = await self.runs.get(run.id) or run
        artifacts = await self.scan(fresh)
        kept_id = None
        if fresh.stop_request:
            status = fresh.stop_request
            kept = newest_checkpoint(artifacts)
            if kept:
                await self.runs.tag_artifact(kept.id, "kept")
                kept_id = kept.id
                message = f"{status}; kept checkpoint {kept.name} ({kept.id}) at {kept.path}"
            else:
                message = f"{status}; no complete checkpoint existed, so none was kept"
        await self.runs.update(run.id, status=status, exit_code=exit_code,
                               status_message=message, kept_artifact_id=kept_id,
                               completed_at=now_iso())
        await self.runs.system_log(run.id, f"run {message}",
                                   "ERROR" if status == "failed" else "INFO")
        if event := self._ended.get(run.id):
            event.set()

    # -- stopping ---------------------------------------------------------------------
    async def stop(self, run: RunRow, *, kind: str, grace: float,
                   save_signal: str | None) -> None:
        """Cancel or pause: optional save signal, SIGTERM to the group, grace, SIGKILL."""
        if run.status not in LIVE_STATUSES:
            raise Conflict(f"run {run.id} is already {run.status}", code="run_finished",
                           details={"status": run.status})
        if run.id in self._stopping or run.pgid is None:
            raise Conflict(f"run {run.id} is already stopping or still starting; try again",
                           code="run_busy", details={"status": run.status})
        self._stopping.add(run.id)
        try:
            await self._stop(run, kind, grace, save_signal)
        finally:
            self._stopping.discard(run.id)

    async def _stop(self, run: RunRow, kind: str, grace: float, save_signal: str | None) -> None:
        assert run.pgid is not None
        ended = self._ended.setdefault(run.id, asyncio.Event())
        deadline = time.monotonic() + grace
        await self.runs.update(run.id, stop_request=kind)
        await self.runs.system_log(run.id, f"{kind} requested (grace {grace:g} s)")
        if save_signal:
            before = newest_checkpoint(await self.scan(run))
            await self.executor.signal(run.container, run.pgid, signal_number(save_signal))
            await self.runs.system_log(run.id, f"sent {save_signal}; waiting for a checkpoint")
            while time.monotonic() < deadline and not ended.is_set():
                newest = newest_checkpoint(await self.scan(run))
                if newest and (before is None or newest.id != before.id):
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), 0.5)
        if not ended.is_set():
            await self.executor.signal(run.container, run.pgid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), max(0.0, deadline - time.monotonic()))
        if not ended.is_set():
            await self.runs.system_log(run.id, f"still running after {grace:g} s; sent SIGKILL",
                                       "WARNING")
            await self.executor.signal(run.container, run.pgid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), KILL_WAIT)
        if not ended.is_set():  # the follower could not see an exit: record the stop anyway
            await self._end(run, kind, None, kind)


class _Follower:
    """Reads one run's files from its committed offsets until it has ended."""

    def __init__(self, supervisor: Supervisor, run: RunRow) -> None:
        self.sup = supervisor
        self.run_row = run
        self.files: Files = supervisor.executor.files(run.container)
        self.split = {s: LineSplitter() for s in STREAMS}
        self.pos = {"stdout": run.stdout_offset, "stderr": run.stderr_offset}
        self.committed = dict(self.pos)

    def _path(self, name: str) -> str:
        return f"{self.run_row.run_dir}/{name}"

    async def _read_once(self) -> tuple[list[LogRow], bool]:
        rows: list[LogRow] = []
        moved = False
        for stream in STREAMS:
            chunk = await self.files.read(self._path(f"{stream}.log"), self.pos[stream], CHUNK)
            if chunk:
                moved = True
                self.pos[stream] += len(chunk)
                rows.extend((stream, "INFO", line) for line in self.split[stream].feed(chunk))
        return rows, moved

    async def _commit(self, rows: list[LogRow], final: bool = False) -> None:
        offsets = {s: self.pos[s] - (0 if final else self.split[s].held) for s in STREAMS}
        if rows or offsets != self.committed:
            await self.sup.runs.append_logs(self.run_row.id, rows, offsets=offsets)
            self.committed = offsets

    async def _exit_code(self) -> int | None:
        raw = await self.files.read(self._path("exit_code"), 0, 64)
        if raw is None or not raw.strip():
            return None
        try:
            return int(raw.strip())
        except ValueError:
            return -1

    async def run(self) -> None:
        run = self.run_row
        next_scan = next_alive = time.monotonic()
        while True:
            rows, moved = await self._read_once()
            if moved:
                await self._commit(rows)
                continue
            code = await self._exit_code()
            if code is not None:
                while True:  # the command has ended: its files are complete, read them out
                    rows, moved = await self._read_once()
                    if not moved:
                        break
                    await self._commit(rows)
                await self._commit([(s, "INFO", line) for s in STREAMS
                                    for line in self.split[s].flush()], final=True)
                status = "completed" if code == 0 else "failed"
                message = "completed" if code == 0 else f"failed: exit code {code}"
                await self.sup._end(run, status, code, message)
                return
            now = time.monotonic()
            if now >= next_alive:
                next_alive = now + ALIVE_EVERY
                alive = await self.sup.executor.alive(run.container, run.wrapper_pid or 0)
                if not alive and await self._exit_code() is None:
                    await self._commit([(s, "INFO", line) for s in STREAMS
                                        for line in self.split[s].flush()], final=True)
                    await self.sup._end(run, "failed", None,
                                        "failed: the run's process vanished without an exit "
                                        "code (container or host restarted?)")
                    return
            if now >= next_scan:
                next_scan = now + SCAN_EVERY
                await self.sup.scan(run)
            await asyncio.sleep(self.sup.poll)
