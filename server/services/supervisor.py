"""Owns every live run: its launch, a follower each, its stop, and its one ending.

Every change of a run's status is a conditional write made here (only from a live status,
see :data:`server.storage.runs.Guard`); only the winner publishes, so whatever races
(a stop and a natural exit, two stops, a stop during the launch, a restart mid-stop), a
run ends exactly once. A stop is stored as intent (kind, deadline, stage) and carried out
by a task of the supervisor's, not by the request that asked for it: a client that goes
away, or a server restarted during the grace period, does not cut it short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any

from common.models import LIVE_STATUSES, RunStatus

from ..errors import Conflict, ExecutorUnavailable, LaunchFailed
from ..executors.base import Executor, ExecutorError, Launch, Prepared, ProcRef, Procs
from ..storage.db import now_iso
from ..storage.runs import Guard, RunRepository, RunRow, StopKind
from .artifacts import newest_checkpoint
from .intake.follower import Exited, Follower, Outcome, Vanished
from .intake.lines import DEFAULT_MAX_LINE
from .recorder import RunRecorder
from .run_artifacts import RunArtifacts

__all__ = ["Supervisor"]

log = logging.getLogger("trainyard.supervisor")

KILL_WAIT = 15.0  # after SIGKILL, how long processes may take to be gone
TERM_GRACE = 5.0  # SIGTERM's own minimum grace after a save signal used up the period
FOLLOW_WAIT = 10.0  # after the last process is gone, how long the follower may drain
CHECK_EVERY = 0.2  # how often a stop looks whether the run's processes are gone
RETRY_CAP = 30.0


def signal_number(name: str) -> int:
    name = name.upper()
    return int(getattr(signal.Signals, name if name.startswith("SIG") else f"SIG{name}"))


def _queued(run: RunRow) -> bool:
    """Waiting in the GPU queue: nothing of it has started. (Slurm queues its own.)"""
    return (run.status == "pending" and run.gpus is not None and run.gpu_ids is None
            and run.executor != "slurm")


def _submitted(run: RunRow) -> bool:
    """Handed to a scheduler, and not seen started yet."""
    return run.status == "pending" and run.slurm_job_id is not None


def _ref(run: RunRow) -> ProcRef:
    return ProcRef(run.id, run.container, run.wrapper_pid or 0, run.identity, run.slurm_job_id)


class Supervisor:
    def __init__(self, *, runs: RunRepository, recorder: RunRecorder, executor: Executor,
                 poll_interval: float, follow_retries: int = 12,
                 max_line: int = DEFAULT_MAX_LINE) -> None:
        self.runs = runs
        self.max_line = max_line  # TRAINYARD_MAX_LINE_BYTES, for the followers' splitters
        self.recorder = recorder
        self.executor = executor
        self.poll = poll_interval
        self.follow_retries = follow_retries
        self.artifacts = RunArtifacts(runs, recorder, executor)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stops: dict[str, asyncio.Task[None]] = {}
        self._launching: dict[str, asyncio.Event] = {}
        self._outcomes: dict[str, Outcome] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._roots: dict[int, tuple[str, str]] = {}
        self.on_ended: Callable[[], None] = lambda: None  # GPUs may have come free

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Take up every run that was live when the server last stopped: finish its launch
        if the command started, follow it, and carry on with its stop if one was asked."""
        for run in await self.runs.live():
            if _queued(run):
                if run.stop_request:
                    self._ensure_stop(run.id)
                continue  # still waiting for GPUs: the queue starts it
            if _submitted(run):
                self._spawn(self._await_start(run), f"await-{run.id}")
                if run.stop_request:
                    self._ensure_stop(run.id)
                continue
            if run.status == "pending":
                self._spawn(self._reconcile(run), f"reconcile-{run.id}")
                continue
            await self.recorder.log(run.id, "server restarted; following the run again")
            self.follow(run)
            if run.stop_request:
                self._ensure_stop(run.id)

    async def close(self) -> None:
        tasks = [*self._tasks.values(), *self._stops.values(), *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def live_roots(self) -> dict[int, tuple[str, str]]:
        """Host pid of each followed run's wrapper -> (run id, project id)."""
        return dict(self._roots)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- launching --------------------------------------------------------------------
    async def dispatch(self, run: RunRow, gpu_ids: list[int], uuids: list[str]) -> bool:
        """Give a queued run its GPUs and start it (in the background); False when it no
        longer waits (a stop came first)."""
        env = {**run.env, "CUDA_VISIBLE_DEVICES": ",".join(uuids),
               "TRAINYARD_GPU_IDS": ",".join(str(i) for i in gpu_ids)}
        if gpu_ids:
            env["NPROC_PER_NODE"] = str(len(gpu_ids))
        self._launching[run.id] = asyncio.Event()  # before the write: a stop waits for it
        if not await self.runs.place(run.id, gpu_ids, env):
            self._launching.pop(run.id).set()
            return False
        await self.recorder.log(run.id, f"given GPU {', '.join(map(str, gpu_ids)) or 'none'}")
        launch = Launch(run_id=run.id, command=run.start_command, env=env,
                        container=run.container, workdir=run.workdir,
                        save_signal=env.get("TRAINYARD_SAVE_SIGNAL"))
        self._spawn(self._launch_queued(run, launch), f"launch-{run.id}")
        return True

    async def _launch_queued(self, run: RunRow, launch: Launch) -> None:
        with contextlib.suppress(LaunchFailed):  # recorded as the run's failure
            await self.launch(run, launch, Prepared(run.run_dir, run.workdir))

    async def launch(self, run: RunRow, launch: Launch, prepared: Prepared) -> None:
        """Start a stored ``pending`` run (its run_dir stored: the intent) and follow it."""
        self._launching.setdefault(run.id, asyncio.Event())
        on_where = ("on Slurm" if self.executor.schedules else
                    f"in container {run.container!r}" if run.container else "on this host")
        try:
            try:
                if self.executor.schedules:
                    job_id = await self.executor.submit(launch, prepared)
                else:
                    started = await self.executor.start(launch, prepared)
            except ExecutorError as exc:
                message = f"could not start the command {on_where}: {exc}"
                await self.fail_launch(run.id, message)
                raise LaunchFailed(message, details={"run_id": run.id,
                                                     "container": run.container}) from exc
            if self.executor.schedules:
                await self.runs.update(run.id, slurm_job_id=job_id)
                await self.recorder.log(run.id, f"submitted to Slurm as job {job_id}, workdir "
                                                f"{prepared.workdir}: {run.start_command}")
                fresh = await self.runs.get(run.id)
                if fresh is not None:
                    self._spawn(self._await_start(fresh), f"await-{run.id}")
                return
            await self._running(run, started.pgid, started.wrapper_pid, started.identity,
                                started.host_pid, f"started {on_where}, workdir "
                                f"{prepared.workdir}: {run.start_command}")
        finally:
            self._launching.pop(run.id).set()

    async def fail_launch(self, run_id: str, message: str) -> None:
        if await self.recorder.transition(run_id, "failed", message, guard="pending",
                                          level="ERROR", completed_at=now_iso()):
            self.on_ended()

    async def _running(self, run: RunRow, pgid: int, wrapper_pid: int, identity: str,
                       host_pid: int | None, message: str, **fields: Any) -> None:
        won = await self.recorder.transition(
            run.id, "running", f"{message} (process group {pgid})", guard="pending",
            pgid=pgid, wrapper_pid=wrapper_pid, identity=identity or None, host_pid=host_pid,
            started_at=now_iso(), **fields)
        fresh = await self.runs.get(run.id)
        if won and fresh is not None:
            self.follow(fresh)

    async def _reconcile(self, run: RunRow) -> None:
        """A run left ``pending`` by a server that stopped mid-launch: whoever makes its
        claim folder first owns the launch, so the command either runs followed or never."""
        self._launching[run.id] = asyncio.Event()
        try:
            await self._adopt(run)
        finally:
            self._launching.pop(run.id).set()
        fresh = await self.runs.get(run.id)
        if fresh is not None and fresh.status == "running" and fresh.stop_request:
            self._ensure_stop(run.id)

    async def _adopt(self, run: RunRow) -> None:
        if not run.run_dir:
            await self.fail_launch(run.id, "failed: the server stopped before the run's "
                                            "command started")
            return
        files = self.executor.files(run.container)
        started = None
        attempt = 0
        while started is None:
            attempt += 1
            try:
                if await files.claim(run.run_dir):
                    await self.fail_launch(run.id, "failed: the server stopped before the "
                                                    "run's command started; it never will")
                    return
                started = await self.executor.adopt(run.container, run.run_dir)
                if started is None and attempt > 8 and not (await self.executor.procs(
                        ProcRef(run.id, run.container, 0, None))).any:
                    await self.fail_launch(run.id, "failed: the run's wrapper claimed the "
                                                   "launch but ended before the command started")
                    return
            except ExecutorError as exc:
                log.warning("reconciling the launch of run %s: %s", run.id, exc)
            if started is None:
                await asyncio.sleep(min(RETRY_CAP, 0.05 * 2 ** attempt))
        await self._running(run, started.pgid, started.wrapper_pid, started.identity,
                            started.host_pid, "the server restarted mid-launch; the command "
                                              "had started")

    async def _await_start(self, run: RunRow) -> None:
        """A submitted job: ``pending`` with the scheduler's reason and place while it
        waits, ``running`` (and followed) once its wrapper started the command; or ended,
        if the job ended before that. The run's files are looked at first: they tell that
        the command started even while the controller does not answer."""
        self.recorder.project_of[run.id] = run.project_id
        files = self.executor.files(run.container)
        said = (run.pending_reason, run.queue_position)
        away = False
        delay = 0.1
        while (fresh := await self.runs.get(run.id)) is not None and _submitted(fresh):
            started = await files.started(run.run_dir)
            try:
                state = await self.executor.job(_ref(fresh))
            except ExecutorError as exc:
                state = None
                if not away:
                    await self.recorder.log(run.id, f"Slurm does not answer ({exc}); the run "
                                                    "stays pending until it does", "WARNING")
                away = True
            else:
                if away:
                    await self.recorder.log(run.id, "Slurm answers again")
                away = False
            if started is None and state is not None and state.phase == "ended":
                started = await files.started(run.run_dir)  # it may have been quick
                if started is None:
                    if not fresh.stop_request:  # else the stop ends it
                        await self._ended_unstarted(fresh, state.state, state.verdict)
                    return
            for _ in range(10):  # Slurm's answer may be older than the files: ask again
                if started is None or state is None or state.nodes:
                    break
                await asyncio.sleep(0.1)
                with contextlib.suppress(ExecutorError):
                    state = await self.executor.job(_ref(fresh))
            if started is not None:
                nodes = state.nodes if state is not None else None
                await self._running(
                    fresh, started.pgid, started.wrapper_pid, started.identity,
                    started.wrapper_pid if state is not None and state.here else None,
                    f"Slurm job {fresh.slurm_job_id} started on {nodes or 'its node'}",
                    node_list=nodes, pending_reason=None, queue_position=None)
                return
            if state is not None and state.phase == "waiting" and \
                    (state.reason, state.position) != said:
                await self.runs.set_waiting([(run.id, state.position or 0, state.reason or "")])
                if state.reason != said[0]:
                    await self.recorder.log(run.id, f"Slurm job {fresh.slurm_job_id} waits: "
                                                    f"{state.reason}")
                said = (state.reason, state.position)
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 1.5)

    async def _ended_unstarted(self, run: RunRow, state: str,
                               verdict: tuple[RunStatus, str] | None) -> None:
        status, message = verdict or (
            "failed", f"failed: Slurm job {run.slurm_job_id} ended ({state}) before the "
                      f"command started; see {run.run_dir}/slurm.out")
        await self.end(run.id, status, None, message, guard="live_unstopped")

    # -- following --------------------------------------------------------------------
    def follow(self, run: RunRow) -> None:
        self.recorder.project_of[run.id] = run.project_id
        if run.host_pid:
            self._roots[run.host_pid] = (run.id, run.project_id)
        task = asyncio.create_task(self._follow(run), name=f"follow-{run.id}")
        self._tasks[run.id] = task
        task.add_done_callback(lambda _: self._forget(run))

    def _forget(self, run: RunRow) -> None:
        self._tasks.pop(run.id, None)
        if run.id not in self._stops:
            self.recorder.project_of.pop(run.id, None)
        if run.host_pid:
            self._roots.pop(run.host_pid, None)

    def _follower(self, run: RunRow) -> Follower:
        async def procs() -> Procs:
            return await self.executor.procs(_ref(run))
        return Follower(run, files=self.executor.files(run.container), recorder=self.recorder,
                        procs=procs, scan=self.artifacts.scan, poll=self.poll,
                        max_line=self.max_line)

    async def _follow(self, run: RunRow) -> None:
        failures = 0
        while True:
            follower = self._follower(run)
            try:
                outcome: Outcome = await follower.run()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning("following run %s failed (%d): %s", run.id, failures, exc,
                            exc_info=not isinstance(exc, ExecutorError))
                if failures > self.follow_retries:
                    outcome = Vanished(f"following the run failed {failures} times in a row; "
                                       f"the last error: {exc}")
                    break
                await asyncio.sleep(min(RETRY_CAP, 0.5 * 2 ** failures))
            # Start again from what is stored: the offsets have moved on since `run` was
            # read, and lines read from the old ones would be stored twice.
            run = await self.runs.get(run.id) or run
            if run.status not in LIVE_STATUSES:
                return
        await self._conclude(run, outcome, follower)

    async def _conclude(self, run: RunRow, outcome: Outcome, follower: Follower) -> None:
        """The follower saw the run end: end it, unless a stop owns its ending."""
        self._outcomes[run.id] = outcome
        if run.id in self._stops:
            return
        if isinstance(outcome, Exited):
            status: RunStatus = "completed" if outcome.code == 0 else "failed"
            message = "completed" if outcome.code == 0 else f"failed: exit code {outcome.code}"
            code: int | None = outcome.code
        else:
            status, message, code = "failed", f"failed: {outcome.reason}", None
        if self.executor.schedules and (verdict := await self._verdict(run)) is not None:
            status, message = verdict  # a time limit, a node failure, a cancel outside
            if code is not None:
                message += f" (exit code {code})"
        await follower.finish(completed=status == "completed")
        if await self.end(run.id, status, code, message, guard="live_unstopped"):
            self._outcomes.pop(run.id, None)
            return
        fresh = await self.runs.get(run.id)
        if fresh is not None and fresh.status in LIVE_STATUSES and fresh.stop_request:
            self._ensure_stop(run.id)  # asked for while it ended: the stop ends it
        else:
            self._outcomes.pop(run.id, None)

    async def _verdict(self, run: RunRow) -> tuple[RunStatus, str] | None:
        """What the scheduler says of the job's end, once the job has ended (its batch
        script leaves just after writing the exit code); None if it says nothing more or
        cannot say it now."""
        for _ in range(50):
            try:
                state = await self.executor.job(_ref(run))
            except ExecutorError as exc:
                log.warning("asking how run %s's job ended: %s", run.id, exc)
                return None
            if state.phase == "ended":
                return state.verdict
            if state.phase == "waiting":  # requeued after it ran: this run has ended
                return ("failed", f"failed: Slurm requeued job {run.slurm_job_id} after it "
                                  f"started ({state.reason}); resume the run from its newest "
                                  "checkpoint")
            await asyncio.sleep(0.2)
        return None

    async def end(self, run_id: str, status: RunStatus, exit_code: int | None, message: str,
                  *, guard: Guard) -> bool:
        """Record how a run ended, if it is still live (True when this call ended it)."""
        fresh = await self.runs.get(run_id)
        if fresh is None or fresh.status not in LIVE_STATUSES:
            return False
        artifacts = await self.artifacts.scan(fresh)
        kept = newest_checkpoint(artifacts) if status in ("canceled", "paused") else None
        if status in ("canceled", "paused") and _queued(fresh):
            message = f"{status} while waiting for GPUs; nothing had started"
        elif status in ("canceled", "paused") and _submitted(fresh) and not kept \
                and message == status:  # our own stop of a job Slurm held
            message = f"{status} while Slurm held job {fresh.slurm_job_id}; nothing had started"
        elif status in ("canceled", "paused"):
            message = (f"{message}; kept checkpoint {kept.name} ({kept.id}) at {kept.path}"
                       if kept else f"{message}; no complete checkpoint existed, so none was "
                                    "kept")
        won = await self.recorder.transition(
            run_id, status, f"run {message}", guard=guard,
            level="ERROR" if status == "failed" else "INFO", exit_code=exit_code,
            kept_artifact_id=kept.id if kept else None, completed_at=now_iso())
        if won and kept:
            await self.runs.tag_artifact(kept.id, "kept")
        if won:
            self.on_ended()
        return won

    # -- stopping ---------------------------------------------------------------------
    async def stop(self, run: RunRow, *, kind: StopKind, grace: float,
                   by: str | None = None) -> None:
        """Cancel or pause: store the stop, then wait for the supervisor's stop task (which
        goes on if this request does not)."""
        if run.status not in LIVE_STATUSES:
            raise Conflict(f"run {run.id} is already {run.status}", code="run_finished",
                           details={"status": run.status})
        if run.status == "running" or _submitted(run):
            try:  # a stop that cannot reach the run changes nothing
                await self.executor.procs(_ref(run))
            except ExecutorError as exc:
                raise ExecutorUnavailable(f"cannot reach run {run.id} to stop it: {exc}",
                                          details={"run_id": run.id}) from exc
        if not await self.runs.request_stop(run.id, kind, time.time() + grace, by):
            fresh = await self.runs.get(run.id)
            if fresh is None or fresh.status not in LIVE_STATUSES:
                status = fresh.status if fresh else "gone"
                raise Conflict(f"run {run.id} is already {status}", code="run_finished",
                               details={"status": status})
            raise Conflict(f"run {run.id} is already being {fresh.stop_request}",
                           code="run_busy", details={"status": fresh.status,
                                                     "stop_request": fresh.stop_request})
        verb = "cancel" if kind == "canceled" else "pause"
        who = f" by {by}" if by else ""
        await self.recorder.log(run.id, f"{verb} requested{who} (grace {grace:g} s)")
        await asyncio.shield(self._ensure_stop(run.id))

    def _ensure_stop(self, run_id: str) -> asyncio.Task[None]:
        if (task := self._stops.get(run_id)) is None:
            task = asyncio.create_task(self._stop(run_id), name=f"stop-{run_id}")
            self._stops[run_id] = task
            task.add_done_callback(lambda _: self._stops.pop(run_id, None))
        return task

    async def _stop(self, run_id: str) -> None:
        if (launching := self._launching.get(run_id)) is not None:
            await launching.wait()  # a stop during the launch starts once it has run
        attempt = 0
        while True:
            try:
                await self._carry_out_stop(run_id)
                return
            except ExecutorError as exc:  # the engine went away mid-stop: keep at it
                attempt += 1
                log.warning("stopping run %s: %s", run_id, exc)
                if attempt == 1:
                    await self.recorder.log(run_id, f"cannot reach the run to stop it ({exc}); "
                                                    "retrying", "WARNING")
                await asyncio.sleep(min(RETRY_CAP, 0.5 * 2 ** attempt))

    async def _carry_out_stop(self, run_id: str) -> None:
        run = await self.runs.get(run_id)
        if run is None or run.status not in LIVE_STATUSES or run.stop_request is None:
            return
        kind: StopKind = run.stop_request
        if _queued(run):  # nothing started: nothing to signal
            await self.end(run_id, kind, None, kind, guard="pending")
            self.recorder.project_of.pop(run_id, None)
            return
        if _submitted(run) and await self.executor.files(run.container).started(
                run.run_dir) is None:  # Slurm holds it: take it back
            await self.executor.withdraw(_ref(run))
            await self.end(run_id, kind, None, kind, guard="live")
            self.recorder.project_of.pop(run_id, None)
            return
        ref = _ref(run)
        deadline = run.stop_deadline or time.time()
        save_signal = run.env.get("TRAINYARD_SAVE_SIGNAL")
        stage = run.stop_stage or "asked"
        if stage == "asked" and save_signal:
            # The trainer saves, then stops by itself: let it finish cleanly (a final save
            # may follow the checkpoint) for as long as the grace period allows.
            await self.executor.procs(ref, signal_number(save_signal))
            await self.runs.update(run_id, stop_stage="save")
            await self.recorder.log(run_id, f"sent {save_signal}: waiting up to "
                                            f"{max(0.0, deadline - time.time()):.0f} s for a "
                                            "checkpoint and a clean exit")
            stage = "save"
        if stage == "save":
            await self._wait_gone(ref, deadline)
            deadline = max(deadline, time.time() + TERM_GRACE)
        if stage in ("asked", "save"):
            await self.executor.procs(ref, signal.SIGTERM)
            await self.runs.update(run_id, stop_stage="term", stop_deadline=deadline)
        procs = await self._wait_gone(ref, deadline)
        if procs.any:
            await self.runs.update(run_id, stop_stage="kill")
            await self.recorder.log(run_id, "still running after the grace period; sent "
                                            "SIGKILL", "WARNING")
            give_up = time.monotonic() + KILL_WAIT
            while procs.any and time.monotonic() < give_up:
                procs = await self.executor.procs(ref, signal.SIGKILL)
                if procs.any:
                    await asyncio.sleep(CHECK_EVERY / 2)
        if procs.others:
            await self.recorder.log(run_id, f"{procs.others} process(es) of the run outlived "
                                            "SIGKILL", "ERROR")
        if (task := self._tasks.get(run_id)) is not None:
            # The follower reads out the last lines and sees the exit; then the stop ends it.
            done, _ = await asyncio.wait([task], timeout=FOLLOW_WAIT)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        outcome = self._outcomes.pop(run_id, None)
        code = outcome.code if isinstance(outcome, Exited) else None
        await self.end(run_id, kind, code, kind, guard="live")
        self.recorder.project_of.pop(run_id, None)

    async def _wait_gone(self, ref: ProcRef, until: float) -> Procs:
        """Look until no process of the run is left, or until ``until`` (epoch)."""
        while True:
            procs = await self.executor.procs(ref)
            if not procs.any or time.time() >= until:
                return procs
            await asyncio.sleep(min(CHECK_EVERY, max(0.0, until - time.time())))
