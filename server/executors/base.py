"""What every executor offers: start a run detached, read its files, find and signal its
processes.

A run is started through ``wrapper.sh`` (beside this file), which claims the launch,
records its own identity, sends stdout/stderr to ``stdout.log``/``stderr.log`` in the run's
folder and writes ``exit_code`` when the command ends. Every process of the run carries
``TRAINYARD_RUN_ID`` in its environment; ``run_procs.sh`` finds them by it. Paths here are
as the executor sees them (inside the container for ``docker``); :class:`Files` reads them
wherever they really are.
"""

from __future__ import annotations

import abc
import asyncio
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

__all__ = ["MARKER", "RUN_PROCS", "WRAPPER", "Entry", "Executor", "ExecutorError",
           "ExecutorUnreachable", "Files", "JobState", "Launch", "ProcRef", "Procs", "Started",
           "WrapperState", "trap_name"]

WRAPPER = (resources.files("server.executors") / "wrapper.sh").read_text("utf-8")
RUN_PROCS = (resources.files("server.executors") / "run_procs.sh").read_text("utf-8")
MARKER = "TRAINYARD_RUN_ID"  # in the environment of every process a run starts
WrapperState = Literal["alive", "gone", "replaced"]


def trap_name(name: str | None) -> str:
    """``SIGUSR1``/``USR1`` -> ``USR1``, as bash's ``trap`` takes it; '' for none."""
    return name.upper().removeprefix("SIG") if name else ""


class ExecutorError(Exception):
    """The executor could not do what was asked; ``str()`` says why, for a person."""


class ExecutorUnreachable(ExecutorError):
    """What the executor fronts (a cluster's controller) does not answer now; nothing was
    done, and nothing about the run may be concluded from it."""


START_POLLS = 500  # x 10 ms: how long a wrapper may take to start the command


@dataclass(frozen=True, slots=True)
class Launch:
    run_id: str
    command: str
    env: dict[str, str]
    container: str | None
    workdir: str  # as configured: relative to the container's (or workspace's) root
    save_signal: str | None = None  # ignored by the command's processes unless they handle it
    gpus: int | None = None  # for executors that place runs themselves (Slurm)
    nodes: int = 1
    priority: int = 0

    @property
    def run_env(self) -> dict[str, str]:
        """The environment the wrapper gets: the run's marker always wins."""
        return {"LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", **self.env, MARKER: self.run_id}


@dataclass(frozen=True, slots=True)
class Prepared:
    """Where a run will live, known (and stored) before anything starts."""

    run_dir: str
    workdir: str  # absolute, as the executor sees it


@dataclass(frozen=True, slots=True)
class Started:
    pgid: int
    wrapper_pid: int
    identity: str  # "<boot id> <start time>" of the wrapper, as run_procs.sh checks it
    host_pid: int | None = None  # the wrapper's pid as this host sees it (GPU attribution)


@dataclass(frozen=True, slots=True)
class ProcRef:
    """What finds a run's processes: its marker, and its wrapper checked by identity."""

    run_id: str
    container: str | None
    wrapper_pid: int
    identity: str | None
    job_id: str | None = None  # the scheduler's job (Slurm)


@dataclass(frozen=True, slots=True)
class Procs:
    """A census of a run's processes."""

    wrapper: WrapperState
    others: int  # processes of the run besides its wrapper

    @property
    def any(self) -> bool:
        return self.wrapper == "alive" or self.others > 0


def parse_procs(out: bytes) -> Procs:
    state, _, count = out.decode("ascii", "replace").strip().partition(" ")
    if state not in ("alive", "gone", "replaced") or not count.isdigit():
        raise ExecutorError(f"cannot read the run's processes: {out[:200]!r}")
    return Procs(state, int(count))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class JobState:
    """A submitted job as its scheduler tells it (executors with ``schedules``)."""

    phase: Literal["waiting", "started", "ended"]
    state: str  # the scheduler's own word: PENDING, RUNNING, TIMEOUT, ...
    reason: str | None = None  # why it waits, in plain words with the raw code
    position: int | None = None  # 1-based, among the waiting jobs it queues with
    nodes: str | None = None  # where it runs
    node_count: int = 1
    here: bool = False  # on this host: its processes' pids are this host's
    # How the job's end reads for the run (status, message), when it says more than the
    # command's exit code does (a time limit, a node failure, a cancel outside Trainyard).
    verdict: tuple[Literal["failed", "canceled"], str] | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    path: str  # relative to the walked folder, '/'-separated
    is_dir: bool
    mtime: float
    size: int


class Files(abc.ABC):
    """Reads files in the executor's view of the filesystem."""

    @abc.abstractmethod
    async def read(self, path: str, offset: int = 0, limit: int = 1 << 20) -> bytes | None:
        """Up to ``limit`` bytes from ``offset``; None when the file does not exist."""

    @abc.abstractmethod
    async def walk(self, root: str, depth: int) -> list[Entry]:
        """Files and folders under ``root`` down to ``depth`` levels; [] when missing."""

    @abc.abstractmethod
    async def claim(self, run_dir: str) -> bool:
        """Make ``run_dir/claim`` (and ``run_dir``) if no one has: True when we made it."""

    async def costly(self, path: str) -> bool:
        """Whether reading ``path`` costs more than a file read (an exec, say)."""
        return False

    async def started(self, run_dir: str) -> Started | None:
        """What the wrapper recorded once the command started; None until then."""
        pgid = (await self.read(f"{run_dir}/pgid") or b"").strip()
        if not pgid.isdigit():
            return None
        wrapper = (await self.read(f"{run_dir}/wrapper.pid") or b"").strip()
        identity = (await self.read(f"{run_dir}/identity") or b"").decode("ascii", "replace")
        return Started(pgid=int(pgid), wrapper_pid=int(wrapper) if wrapper.isdigit() else 0,
                       identity=identity.strip())


@dataclass
class Executor(abc.ABC):
    kind: str = field(init=False, default="")
    # A scheduler places and queues runs itself (Slurm): a launch submits a job and the
    # run stays pending until :meth:`job` says it started; no GPU queue of ours.
    schedules: bool = field(init=False, default=False)

    @abc.abstractmethod
    async def prepare(self, launch: Launch) -> Prepared:
        """Where the run will live; raise :class:`ExecutorError` if it cannot run there."""

    @abc.abstractmethod
    async def spawn(self, launch: Launch, prepared: Prepared) -> int | None:
        """Start the wrapper detached; its host pid where this host can see it."""

    async def start(self, launch: Launch, prepared: Prepared) -> Started:
        """Start the command detached and wait until it runs. If the wrapper does not say
        so in time, claim the launch: then the command never starts late, untracked."""
        host_pid = await self.spawn(launch, prepared)
        files = self.files(launch.container)
        for _ in range(START_POLLS):
            if (started := await files.started(prepared.run_dir)) is not None:
                return Started(started.pgid, started.wrapper_pid, started.identity, host_pid)
            await asyncio.sleep(0.01)
        if await files.claim(prepared.run_dir):
            raise ExecutorError("the run wrapper did not start the command within "
                                f"{START_POLLS // 100} s (is bash installed there?)")
        for _ in range(START_POLLS):  # the wrapper has claimed it: it is starting now
            if (started := await files.started(prepared.run_dir)) is not None:
                return Started(started.pgid, started.wrapper_pid, started.identity, host_pid)
            await asyncio.sleep(0.01)
        raise ExecutorError("the run wrapper claimed the launch but reported no process")

    async def adopt(self, container: str | None, run_dir: str) -> Started | None:
        """What a wrapper that an earlier server launched recorded; None until it has."""
        return await self.files(container).started(run_dir)

    @abc.abstractmethod
    async def procs(self, ref: ProcRef, signum: int = 0) -> Procs:
        """Count the run's processes and send ``signum`` (0: none) to all but its wrapper
        (see ``run_procs.sh``); raise :class:`ExecutorError` when they cannot be reached."""

    @abc.abstractmethod
    def files(self, container: str | None) -> Files:
        """File access for runs in ``container`` (ignored by the local executor)."""

    async def submit(self, launch: Launch, prepared: Prepared) -> str:
        """Hand the run to the scheduler; its job id (executors with ``schedules``)."""
        raise ExecutorError(f"the {self.kind} executor does not submit jobs")

    async def job(self, ref: ProcRef) -> JobState:
        """A submitted job's state; :class:`ExecutorUnreachable` while none can be had."""
        raise ExecutorError(f"the {self.kind} executor does not submit jobs")

    async def withdraw(self, ref: ProcRef) -> None:
        """Cancel a submitted job, whether or not it has started."""
        raise ExecutorError(f"the {self.kind} executor does not submit jobs")

    async def reprioritize(self, ref: ProcRef, priority: int) -> None:
        """Change a waiting job's place as the scheduler orders it."""
        raise ExecutorError(f"the {self.kind} executor does not submit jobs")

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
