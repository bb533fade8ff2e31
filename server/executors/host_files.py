"""Reading run files straight from the host filesystem, off the event loop (a stalled
network filesystem must not freeze every stream)."""

from __future__ import annotations

import asyncio
import os

from .base import Entry, Files

__all__ = ["HostFiles", "claim_host", "read_host", "walk_host"]


def read_host(path: str, offset: int, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            if offset:
                handle.seek(offset)
            return handle.read(limit)
    except (FileNotFoundError, NotADirectoryError):
        return None


def claim_host(run_dir: str) -> bool:
    os.makedirs(run_dir, mode=0o700, exist_ok=True)
    try:
        os.mkdir(os.path.join(run_dir, "claim"))
    except FileExistsError:
        return False
    return True


def walk_host(root: str, depth: int) -> list[Entry]:
    found: list[Entry] = []
    base = root.rstrip("/")

    def visit(folder: str, prefix: str, level: int) -> None:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return
        for entry in entries:
            try:
                stat = entry.stat(follow_symlinks=False)
                is_dir = entry.is_dir(follow_symlinks=False)
            except FileNotFoundError:
                continue
            rel = f"{prefix}{entry.name}"
            found.append(Entry(rel, is_dir, stat.st_mtime, stat.st_size))
            if is_dir and level < depth:
                visit(entry.path, rel + "/", level + 1)

    visit(base, "", 1)
    return found


class HostFiles(Files):
    """Files whose executor path is a host path (the ``local`` executor)."""

    async def read(self, path: str, offset: int = 0, limit: int = 1 << 20) -> bytes | None:
        return await asyncio.to_thread(read_host, path, offset, limit)

    async def walk(self, root: str, depth: int) -> list[Entry]:
        return await asyncio.to_thread(walk_host, root, depth)

    async def claim(self, run_dir: str) -> bool:
        return await asyncio.to_thread(claim_host, run_dir)
