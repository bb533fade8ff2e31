"""Supervises every live run: one follower task each, their endings, and stopping them.

Stopping (cancel/pause) records the intent first, so a run that ends while the server
is down still gets the status that was asked for.
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
from ..executors.base import Executor, ExecutorError
from ..storage.db import now_iso
from ..storage.runs import RunRepository, RunRow
from ..telemetry.run_telemetry import points_from_trainer_state
from .artifacts import newest_checkpoint, scan_output_dir
from .follower import Follower
from .lines import DEFAULT_MAX_LINE
from .names import new_id
from .recorder import RunRecorder

__all__ = ["Supervisor"]

log = logging.getLogger("trainyard.supervisor")

KILL_WAIT = 15.0
TERM_GRACE = 5.0  # SIGTERM's own minimum grace after a save signal used up the period


def signal_number(name: str) -> int:
    name = name.upper()
    return int(getattr(signal.Signals, name if name.startswith("SIG") else f"SIG{name}"))


class Supervisor:
    def __init__(self, *, runs: RunRepository, recorder: RunRecorder, executor: Executor,
                 poll_interval: float, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.runs = runs
        self.max_line = max_line  # TRAINYARD_MAX_LINE_BYTES, for the followers' splitters
        self.recorder = recorder
        self.executor = executor
        self.poll = poll_interval
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ended: dict[str, asyncio.Event] = {}
        self._stopping: set[str] = set()
        self._roots: dict[int, tuple[str, str]] = {}

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Pick up every run that was live when the server last stopped."""
        for run in await self.runs.live():
            if run.pgid is None:
                await self.end(run, "failed", None,
                               "failed: the server stopped before the run's command started")
            else:
                await self.recorder.log(run.id, "server restarted; following the run again")
                self.follow(run)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def live_roots(self) -> dict[int, tuple[str, str]]:
        """Host pid of each followed run's root process -> (run id, project id)."""
        return dict(self._roots)

    def follow(self, run: RunRow) -> None:
        self.recorder.project_of[run.id] = run.project_id
        if run.host_pid:
            self._roots[run.host_pid] = (run.id, run.project_id)
        self._ended[run.id] = asyncio.Event()
        task = asyncio.create_task(self._follow(run), name=f"follow-{run.id}")
        self._tasks[run.id] = task
        task.add_done_callback(lambda _: self._forget(run))

    def _forget(self, run: RunRow) -> None:
        self._tasks.pop(run.id, None)
        self.recorder.project_of.pop(run.id, None)
        if run.host_pid:
            self._roots.pop(run.host_pid, None)

    # -- following --------------------------------------------------------------------
    async def _follow(self, run: RunRow) -> None:
        while True:
            try:
                await Follower(self, run).run()
                return
            except asyncio.CancelledError:
                raise
            except ExecutorError as exc:
                log.warning("following run %s: %s", run.id, exc)
                if not await self.executor.alive(run.container, run.wrapper_pid or 0):
                    await self.end(run, "failed", None, f"failed: {exc}")
                    return
                await asyncio.sleep(1.0)
            except Exception:
                log.exception("following run %s failed; retrying in 1 s", run.id)
                await asyncio.sleep(1.0)
            # Start again from what is stored: the offsets have moved on since `run` was
            # read, and lines read from the old ones would be stored twice.
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
            new = await self.runs.add_artifacts(run, [
                Artifact(id=new_id("ckpt" if f.type == "checkpoint" else "art"), name=f.name,
                         type=f.type, path=f.path, step=f.step, created_at=f.created_at,  # type: ignore[arg-type]
                         tags=[], run_id=run.id)
                for f in found
            ])
            if new:
                await self.recorder.record(run.id, events=[("artifact", a) for a in new])
                await self._exact_metrics(run, [a for a in new if a.type == "checkpoint"])
        return await self.runs.artifacts(run.id)

    async def _exact_metrics(self, run: RunRow, checkpoints: list[Artifact]) -> None:
        """A dict line carries no step, so it was stored at the step the bar showed; the
        newest checkpoint's trainer_state.json says exactly, and replaces the guesses."""
        newest = max(checkpoints, key=lambda a: a.step or 0, default=None)
        if newest is None or newest.step is None:
            return
        files = self.executor.files(run.container)
        raw = await files.read(f"{newest.path}/trainer_state.json", 0, 16 << 20)
        points, _ = points_from_trainer_state(raw or b"")
        if points:
            keys = sorted({key for key, _, _ in points})
            await self.runs.replace_metric_points(run.id, newest.step, keys, points)

    async def end(self, run: RunRow, status: str, exit_code: int | None, message: str) -> None:
        """Record how a run ended (a stop that was asked for decides its status)."""
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
        await self.recorder.status(run.id, status, f"run {message}",
                                   level="ERROR" if status == "failed" else "INFO",
                                   exit_code=exit_code, kept_artifact_id=kept_id,
                                   completed_at=now_iso())
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
        verb = "cancel" if kind == "canceled" else "pause"
        await self.recorder.log(run.id, f"{verb} requested (grace {grace:g} s)")
        if save_signal:
            # The trainer saves, then stops by itself: let it finish cleanly (a final save
            # may follow the checkpoint) for as long as the grace period allows.
            await self.executor.signal(run.container, run.pgid, signal_number(save_signal))
            await self.recorder.log(run.id, f"sent {save_signal}: waiting up to {grace:g} s "
                                            "for a checkpoint and a clean exit")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), max(0.0, deadline - time.monotonic()))
            deadline = max(deadline, time.monotonic() + TERM_GRACE)
        if not ended.is_set():
            await self.executor.signal(run.container, run.pgid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), max(0.0, deadline - time.monotonic()))
        if not ended.is_set():
            await self.recorder.log(run.id, "still running after the grace period; sent "
                                            "SIGKILL", "WARNING")
            await self.executor.signal(run.container, run.pgid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), KILL_WAIT)
        if not ended.is_set():  # the follower could not see an exit: record the stop anyway
            await self.end(run, kind, None, kind)
