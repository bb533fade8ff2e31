"""A run's artifacts, checkpoints first (newest on top), the kept one marked."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from common.models import Artifact

from ..format import ago, middle
from .keyed_table import KeyedTable

__all__ = ["ArtifactsTable"]

NAME_MAX = 28
PATH_MIN = 16
# Type, Step, Tags, Created, their padding and the scrollbar: what the name and path share
# the rest of the width with.
FIXED_COLUMNS = 11 + 4 + 6 + 7 + 2 * 6 + 2


class ArtifactsTable(KeyedTable):
    COLUMNS = (("type", "Type"), ("name", "Name"), ("step", "Step"), ("tags", "Tags"),
               ("created", "Created"), ("path", "Path"))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.artifacts: dict[str, Artifact] = {}

    def show(self, artifacts: list[Artifact], kept: set[str], now: datetime) -> None:
        self.artifacts = {a.id: a for a in artifacts}
        # Names and paths are cut in the middle to what the width leaves them; the full
        # path of the selected row shows below the table (tui.screens.run).
        room = self.app.size.width - FIXED_COLUMNS  # the table spans the screen; it may be hidden
        longest = max((len(a.name) for a in artifacts), default=4)
        name_width = min(longest, NAME_MAX, max(12, room * 2 // 5))
        path_width = max(room - name_width, PATH_MIN)
        rows = []
        for artifact in artifacts:
            is_kept = artifact.id in kept
            tags = Text("★ kept ", style="bold yellow") if is_kept else Text()
            tags.append(", ".join(t for t in artifact.tags if t != "kept"), style="dim")
            rows.append((artifact.id, (
                Text(artifact.type, style="bold" if artifact.type == "checkpoint" else "dim"),
                Text(middle(artifact.name, name_width),
                     style="bold yellow" if is_kept else ""),
                "" if artifact.step is None else str(artifact.step), tags,
                ago(artifact.created_at, now),
                Text(middle(artifact.path, path_width), style="dim"))))
        self.set_rows(rows)

    @property
    def selected(self) -> Artifact | None:
        key = self.selected_key
        return self.artifacts.get(key) if key else None
