"""A run's artifacts, checkpoints first (newest on top), the kept one marked."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from common.models import Artifact

from ..format import ago
from .keyed_table import KeyedTable

__all__ = ["ArtifactsTable"]


class ArtifactsTable(KeyedTable):
    COLUMNS = (("type", "Type"), ("name", "Name"), ("step", "Step"), ("tags", "Tags"),
               ("created", "Created"), ("path", "Path"))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.artifacts: dict[str, Artifact] = {}

    def show(self, artifacts: list[Artifact], kept: set[str], now: datetime) -> None:
        self.artifacts = {a.id: a for a in artifacts}
        rows = []
        for artifact in artifacts:
            is_kept = artifact.id in kept
            tags = Text("★ kept ", style="bold yellow") if is_kept else Text()
            tags.append(", ".join(t for t in artifact.tags if t != "kept"), style="dim")
            rows.append((artifact.id, (
                Text(artifact.type, style="bold" if artifact.type == "checkpoint" else "dim"),
                Text(artifact.name, style="bold yellow" if is_kept else ""),
                "" if artifact.step is None else str(artifact.step), tags,
                ago(artifact.created_at, now), Text(artifact.path, style="dim"))))
        self.set_rows(rows)

    @property
    def selected(self) -> Artifact | None:
        key = self.selected_key
        return self.artifacts.get(key) if key else None
