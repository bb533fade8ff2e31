"""The ``local`` executor: runs as host processes, each in its own session."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from .base import (
    SIGNAL_TREE,
    WRAPPER,
    Executor,
    ExecutorError,
    Files,
    Launch,
    Started,
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

    async def start(self, launch: Launch) -> Started:
        run_dir = (self.runs_dir / launch.run_id).resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        workdir = (self.workspace_root / launch.workdir).resolve()
        # The server's own settings (its token first of all) are not the run's business.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("TRAINYARD_")}
        env = {**inherited, "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", **launch.env}
        try:
            proc = await asyncio.create_subprocess_exec(
                "bash", "-c", WRAPPER, "trainyard-run", str(run_dir), str(workdir),
                launch.command, trap_name(launch.save_signal),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, env=env, start_new_session=True,
            )
        except OSError as exc:
            raise ExecutorError(f"cannot start bash on this host: {exc}") from exc
        # Reap the wrapper when it ends, so it never lingers as a zombie.
        reaper = asyncio.ensure_future(proc.wait())
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)
        pgid = await _wait_for_pgid(run_dir, proc)
        return Started(run_dir=str(run_dir), workdir=str(workdir), pgid=pgid,
                       wrapper_pid=proc.pid, host_pid=pgid)

    async def signal(self, container: str | None, pgid: int, signum: int) -> None:
        if pgid <= 1:
            return
        proc = await asyncio.create_subprocess_exec(
            "bash", "-c", SIGNAL_TREE, "signal", str(int(signum)), str(pgid),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        await proc.wait()

    async def alive(self, container: str | None, pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not _is_zombie(pid)

    def files(self, container: str | None) -> Files:
        return HostFiles()


def _is_zombie(pid: int) -> bool:
    """An exited process not yet reaped is not alive."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


async def _wait_for_pgid(run_dir: Path, proc: asyncio.subprocess.Process) -> int:
    pgid_file = run_dir / "pgid"
    for _ in range(500):
        if pgid_file.exists():
            text = pgid_file.read_text().strip()
            if text:
                return int(text)
        if proc.returncode is not None and not pgid_file.exists():
            raise ExecutorError(f"the run wrapper exited with code {proc.returncode} before "
                                "starting the command")
        await asyncio.sleep(0.01)
    raise ExecutorError("the run wrapper did not report a process group within 5 s")
