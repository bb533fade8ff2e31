"""The ``docker`` executor: runs exec'd into a long-lived container (aiodocker).

Docker has no API to signal an exec'd process, so finding and signalling a run's
processes goes through a second exec of ``run_procs.sh`` (the container's /proc). Run files are read
straight from the host when a mount shares them (inspect -> ``Mounts``), and through
an exec that streams from a byte offset when not.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiodocker
import aiohttp

from .base import (
    RUN_PROCS,
    WRAPPER,
    Entry,
    Executor,
    ExecutorError,
    Files,
    Launch,
    Prepared,
    ProcRef,
    Procs,
    parse_procs,
    trap_name,
)
from .host_files import claim_host, read_host, walk_host

__all__ = ["DockerExecutor"]

Mounts = list[tuple[str, str]]  # (container destination, host source), longest first


def to_host(path: str, mounts: Mounts) -> str | None:
    """The host path of a container path, when a mount that exists here shares it."""
    for dest, source in mounts:
        if path == dest or path.startswith(dest.rstrip("/") + "/"):
            return source + path[len(dest):]
    return None


def to_container(path: str, mounts: Mounts) -> str | None:
    for dest, source in mounts:
        if path == source or path.startswith(source.rstrip("/") + "/"):
            return dest + path[len(source):]
    return None


def _shared_mounts(info: dict[str, Any]) -> Mounts:
    """The container's mounts whose source exists on this host, longest path first."""
    mounts = [(m["Destination"], m["Source"]) for m in info.get("Mounts", [])
              if os.path.exists(m.get("Source", ""))]
    return sorted(mounts, key=lambda m: len(m[0]), reverse=True)


@dataclass
class DockerExecutor(Executor):
    workspace_root: Path = Path("/")
    docker_host: str | None = None
    kind: str = field(init=False, default="docker")
    _docker: aiodocker.Docker | None = field(init=False, default=None)
    _mounts: dict[str, Mounts] = field(init=False, default_factory=dict)

    @property
    def url(self) -> str:
        return self.docker_host or "unix:///var/run/docker.sock"

    def _client(self) -> aiodocker.Docker:
        if self._docker is None:
            self._docker = aiodocker.Docker(url=self.url)
        return self._docker

    async def close(self) -> None:
        if self._docker is not None:
            await self._docker.close()
            self._docker = None

    async def inspect(self, name: str) -> dict[str, Any]:
        try:
            container = await self._client().containers.get(name)
        except aiodocker.DockerError as exc:
            if exc.status == 404:
                raise ContainerGone(f"container {name!r} does not exist") from exc
            raise ExecutorError(f"Docker engine error for container {name!r}: "
                                f"{exc.message}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ExecutorError(f"cannot reach the Docker engine at {self.url} to use container "
                                f"{name!r}: {exc}") from exc
        info: dict[str, Any] = container._container
        self._mounts[name] = _shared_mounts(info)
        state = info.get("State", {})
        if not state.get("Running"):
            raise ContainerGone(f"container {name!r} is not running "
                                f"(status: {state.get('Status', 'unknown')})")
        return info

    async def mounts(self, name: str) -> Mounts:
        """The container's mounts that this host shares (cached after the first look)."""
        if name not in self._mounts:
            try:
                await self.inspect(name)
            except ExecutorError:
                self._mounts.setdefault(name, [])
        return self._mounts[name]

    async def prepare(self, launch: Launch) -> Prepared:
        name = launch.container or ""
        info = await self.inspect(name)
        base = info.get("Config", {}).get("WorkingDir") or "/"
        shared = to_container(str(self.workspace_root), self._mounts[name])
        return Prepared(
            run_dir=posixpath.join(shared or "/tmp/trainyard", ".trainyard/runs", launch.run_id),
            workdir=posixpath.normpath(posixpath.join(base, launch.workdir)))

    async def spawn(self, launch: Launch, prepared: Prepared) -> int | None:
        name = launch.container or ""
        try:
            container = self._client().containers.container(name)
            execution = await container.exec(
                ["bash", "-c", WRAPPER, "trainyard-run", prepared.run_dir, prepared.workdir,
                 launch.command, trap_name(launch.save_signal)],
                stdout=False, stderr=False, environment=launch.run_env,
            )
            await execution.start(detach=True)
            pid = (await execution.inspect()).get("Pid")
        except aiodocker.DockerError as exc:
            raise ExecutorError(f"cannot exec in container {name!r}: {exc.message}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ExecutorError(f"lost the Docker engine at {self.url} while starting in "
                                f"container {name!r}: {exc}") from exc
        return pid if isinstance(pid, int) and pid > 0 else None

    async def run(self, container: str, argv: list[str]) -> tuple[int, bytes]:
        """Run a short command in the container; its exit code and stdout."""
        try:
            execution = await self._client().containers.container(container).exec(
                argv, stdout=True, stderr=False)
            out = bytearray()
            async with execution.start(detach=False) as stream:
                while (message := await stream.read_out()) is not None:
                    if message.stream == 1:
                        out += message.data
            code = (await execution.inspect()).get("ExitCode")
        except aiodocker.DockerError as exc:
            raise ExecutorError(f"exec in container {container!r} failed: {exc.message}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ExecutorError(f"cannot reach the Docker engine at {self.url}: {exc}") from exc
        return (code if isinstance(code, int) else -1), bytes(out)

    async def procs(self, ref: ProcRef, signum: int = 0) -> Procs:
        if not ref.container:
            raise ExecutorError(f"run {ref.run_id} names no container")
        try:
            return await self._procs(ref, signum)
        except ContainerGone:
            return Procs("gone", 0)

    async def _procs(self, ref: ProcRef, signum: int) -> Procs:
        container = ref.container or ""
        try:
            code, out = await self.run(container, [
                "bash", "-c", RUN_PROCS, "run-procs", ref.run_id, str(int(signum)),
                str(ref.wrapper_pid), ref.identity or ""])
        except ExecutorError:
            await self.inspect(container)  # ContainerGone: stopped, so nothing runs there
            raise  # paused, or the engine is away: unknown
        if code != 0:
            raise ExecutorError(f"cannot look at the processes in container {ref.container!r} "
                                f"(exit code {code})")
        return parse_procs(out)

    def files(self, container: str | None) -> Files:
        return ContainerFiles(self, container or "")


class ContainerGone(ExecutorError):
    """The container does not exist or is not running."""


class ContainerFiles(Files):
    def __init__(self, executor: DockerExecutor, container: str) -> None:
        self.executor = executor
        self.container = container

    async def costly(self, path: str) -> bool:
        return to_host(path, await self.executor.mounts(self.container)) is None

    async def read(self, path: str, offset: int = 0, limit: int = 1 << 20) -> bytes | None:
        host = to_host(path, await self.executor.mounts(self.container))
        if host is not None:
            return await asyncio.to_thread(read_host, host, offset, limit)
        code, out = await self.executor.run(self.container, [
            "sh", "-c", '[ -f "$2" ] || exit 3; tail -c "+$1" -- "$2" | head -c "$3"',
            "read", str(offset + 1), path, str(limit)])
        return None if code == 3 else out

    async def claim(self, run_dir: str) -> bool:
        host = to_host(run_dir, await self.executor.mounts(self.container))
        if host is not None:
            return await asyncio.to_thread(claim_host, host)
        code, _ = await self.executor.run(self.container, [
            "sh", "-c", 'mkdir -p -- "$1" || exit 2; mkdir -- "$1/claim" 2>/dev/null || exit 1',
            "claim", run_dir])
        if code not in (0, 1):
            raise ExecutorError(f"cannot make {run_dir} in container {self.container!r}")
        return code == 0

    async def walk(self, root: str, depth: int) -> list[Entry]:
        host = to_host(root, await self.executor.mounts(self.container))
        if host is not None:
            return await asyncio.to_thread(walk_host, host, depth)
        code, out = await self.executor.run(self.container, [
            "sh", "-c", '[ -d "$1" ] || exit 3; find "$1" -mindepth 1 -maxdepth "$2" '
            "-printf '%y %T@ %s %P\\n'", "walk", root, str(depth)])
        entries = []
        for line in out.decode("utf-8", "replace").splitlines() if code == 0 else []:
            kind, mtime, size, rel = line.split(" ", 3)
            entries.append(Entry(rel, kind == "d", float(mtime), int(size)))
        return entries
