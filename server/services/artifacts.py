"""Finding artifacts where real trainers write them, under a run's output directory.

- Hugging Face ``checkpoint-<step>/``: complete once ``trainer_state.json`` exists
  (the Trainer writes it last).
- DeepSpeed ``global_step<N>/``: complete once the ``latest`` file names step N or later.
- Tensorboard ``events.out.tfevents.*`` files at any depth (HF: ``runs/<date_host>/``).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from common.models import Artifact, ArtifactType

from ..executors.base import Files

__all__ = ["Found", "newest_checkpoint", "scan_output_dir"]

_HF = re.compile(r"^checkpoint-(\d+)$")
_DS = re.compile(r"^global_step(\d+)$")
_TB = re.compile(r"(^|/)events\.out\.tfevents\.[^/]+$")


@dataclass(frozen=True, slots=True)
class Found:
    name: str
    type: ArtifactType
    path: str
    step: int | None
    created_at: datetime


async def scan_output_dir(files: Files, output_dir: str) -> list[Found]:
    entries = await files.walk(output_dir, depth=3)
    paths = {e.path for e in entries}
    found: list[Found] = []
    latest_step = None
    if "latest" in paths:
        raw = await files.read(posixpath.join(output_dir, "latest"), 0, 256)
        text = (raw or b"").decode("utf-8", "replace")
        match = _DS.match(text.strip())
        latest_step = int(match.group(1)) if match else None
    for entry in entries:
        when = datetime.fromtimestamp(entry.mtime, UTC)
        full = posixpath.join(output_dir, entry.path)
        if entry.is_dir and "/" not in entry.path:
            step = _complete_checkpoint_step(entry.path, paths, latest_step)
            if step is not None:
                found.append(Found(entry.path, "checkpoint", full, step, when))
        elif not entry.is_dir and _TB.search(entry.path):
            found.append(Found(posixpath.basename(entry.path), "tensorboard", full, None, when))
    return found


def _complete_checkpoint_step(name: str, paths: set[str], latest_step: int | None) -> int | None:
    if (m := _HF.match(name)) and f"{name}/trainer_state.json" in paths:
        return int(m.group(1))
    if (m := _DS.match(name)) and latest_step is not None and int(m.group(1)) <= latest_step:
        return int(m.group(1))
    return None


def newest_checkpoint(artifacts: list[Artifact]) -> Artifact | None:
    checkpoints = [a for a in artifacts if a.type == "checkpoint"]
    return max(checkpoints, key=lambda a: (a.step or 0, a.created_at), default=None)
