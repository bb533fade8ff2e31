"""The data folder is private to the server's user: no group or other permissions
(folders 0700, files 0600 as the server creates them).

The database holds every run's ``env`` (tokens among them) and the run folders hold
logs; they were 0644 in 0755 folders, readable by every user of the host. The server
runs with umask 077, so what it creates is private; :func:`make_private` fixes what an
older version (or a hand) left open, at every start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["make_private"]


def _tighten(path: str, mode: int) -> bool:
    if stat.S_IMODE(mode) & 0o077:
        os.chmod(path, stat.S_IMODE(mode) & ~0o077)
        return True
    return False


def make_private(data_dir: Path) -> int:
    """Create ``data_dir`` (0700) if needed and take group and other permissions off it
    and everything in it (symlinks are left alone). Returns how many paths changed;
    raises ``OSError`` when one cannot be changed."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    changed = int(_tighten(str(data_dir), data_dir.stat().st_mode))
    for folder, dirs, files in os.walk(data_dir):
        for name in (*dirs, *files):
            path = os.path.join(folder, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                continue
            changed += _tighten(path, info.st_mode)
    return changed
