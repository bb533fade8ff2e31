"""The ``local`` executor: runs as host processes, each in its own session."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from .base import (
    RUN_PROCS,
    WRAPPER,
    Executor,
    ExecutorError,
    Files,
    Launch,
    Prepared,
    ProcRef,
    Procs,
    Started,
    parse_procs,
    trap_name,
)
from .host_files import HostFiles

__all__ = ["LocalExecutor"]


@dataclass
class LocalExecutor(Executor):
    runs_dir: Path = Path("var/runs")
    workspace_root: Path = Path("/")
    kind: str = field(init=False, default="local")
    _reapers: set[asyncio.Task[int]] = field(init=False, default_factory=set)

    async def prepare(self, launch: Launch) -> Prepared:
        return Prepared(run_dir=str((self.runs_dir / launch.run_id).resolve()),
                        workdir=str((self.workspace_root / launch.workdir).resolve()))

    async def spawn(self, launch: Launch, prepared: Prepared) -> int | None:
        # The server's own settings (its token first of all) are not the run's business.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("TRAINYARD_")}
        try:
            proc = await asyncio.create_subprocess_exec(
                "bash", "-c", WRAPPER, "trainyard-run", prepared.run_dir, prepared.workdir,
                launch.command, trap_name(launch.save_signal),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, env={**inherited, **launch.run_env},
                start_new_session=True,
            )
        except OSError as exc:
            raise ExecutorError(f"cannot start bash on this host: {exc}") from exc
        # Reap the wrapper when it ends, so it never lingers as a zombie.
        reaper = asyncio.ensure_future(proc.wait())
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)
        return proc.pid

    async def procs(self, ref: ProcRef, signum: int = 0) -> Procs:
        try:
            proc = await asyncio.create_subprocess_exec(
                "bash", "-c", RUN_PROCS, "run-procs", ref.run_id, str(int(signum)),
                str(ref.wrapper_pid), ref.identity or "",
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL)
            out, _ = await proc.communicate()
        except OSError as exc:
            raise ExecutorError(f"cannot look at this host's processes: {exc}") from exc
        return parse_procs(out)

    async def adopt(self, container: str | None, run_dir: str) -> Started | None:
        started = await super().adopt(container, run_dir)
        if started is None:
            return None
        return Started(started.pgid, started.wrapper_pid, started.identity, started.wrapper_pid)

    def files(self, container: str | None) -> Files:
        return HostFiles()
