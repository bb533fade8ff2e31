"""What every executor offers: start a run detached, read its files, signal its group.

A run is started through ``wrapper.sh`` (beside this file), which records the process
group, sends stdout/stderr to ``stdout.log``/``stderr.log`` in the run's folder and writes
``exit_code`` when the command ends. Paths here are as the executor sees them (inside the
container for ``docker``); :class:`Files` reads them wherever they really are.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from importlib import resources

__all__ = ["SIGNAL_TREE", "WRAPPER", "Entry", "Executor", "ExecutorError", "Files", "Launch",
           "Started", "trap_name"]

WRAPPER = (resources.files("server.executors") / "wrapper.sh").read_text("utf-8")
SIGNAL_TREE = (resources.files("server.executors") / "signal_tree.sh").read_text("utf-8")


def trap_name(name: str | None) -> str:
    """``SIGUSR1``/``USR1`` -> ``USR1``, as bash's ``trap`` takes it; '' for none."""
    return name.upper().removeprefix("SIG") if name else ""


class ExecutorError(Exception):
    """The executor could not do what was asked; ``str()`` says why, for a person."""


@dataclass(frozen=True, slots=True)
class Launch:
    run_id: str
    command: str
    env: dict[str, str]
    container: str | None
    workdir: str  # as configured: relative to the container's (or workspace's) root
    save_signal: str | None = None  # ignored by the command's processes unless they handle it


@dataclass(frozen=True, slots=True)
class Started:
    run_dir: str
    workdir: str  # absolute, as the executor sees it
    pgid: int
    wrapper_pid: int
    host_pid: int | None = None


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

    async def costly(self, path: str) -> bool:
        """Whether reading ``path`` costs more than a file read (an exec, say)."""
        return False


@dataclass
class Executor(abc.ABC):
    kind: str = field(init=False, default="")

    @abc.abstractmethod
    async def start(self, launch: Launch) -> Started:
        """Start the command detached; raise :class:`ExecutorError` if it cannot start."""

    @abc.abstractmethod
    async def signal(self, container: str | None, pgid: int, signum: int) -> None:
        """Send ``signum`` to the run's process group and all its descendants (see
        ``signal_tree.sh``); processes already gone are not an error."""

    @abc.abstractmethod
    async def alive(self, container: str | None, pid: int) -> bool:
        """Whether the process (the wrapper) still exists."""

    @abc.abstractmethod
    def files(self, container: str | None) -> Files:
        """File access for runs in ``container`` (ignored by the local executor)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
