"""Reading run files straight from the host filesystem."""

from __future__ import annotations

import os

from .base import Entry, Files

__all__ = ["HostFiles"]


def read_host(path: str, offset: int, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            if offset:
                handle.seek(offset)
            return handle.read(limit)
    except (FileNotFoundError, NotADirectoryError):
        return None


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
        return read_host(path, offset, limit)

    async def walk(self, root: str, depth: int) -> list[Entry]:
        return walk_host(root, depth)
