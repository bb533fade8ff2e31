"""A project's fields, two per line where they fit."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widget import Widget

from common.models import ProjectSummary

from ..format import ago, clip, status_text

__all__ = ["ProjectFields"]


class ProjectFields(Widget):
    DEFAULT_CSS = """
    ProjectFields {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.project: ProjectSummary | None = None
        self.now: datetime | None = None

    def show(self, project: ProjectSummary, now: datetime) -> None:
        self.project, self.now = project, now
        self.refresh(layout=True)

    def render(self) -> Text:
        p, now = self.project, self.now
        if p is None or now is None:
            return Text("loading…", style="dim")
        width = max(self.size.width - 2, 40)
        overrides = [f"{k} {v}" for k, v in (("container", p.container), ("workdir", p.workdir),
                                             ("output_dir", p.output_dir),
                                             ("save_signal", p.save_signal)) if v]
        rows: list[list[tuple[str, Text | str]]] = [
            [("status", status_text(p.status)), ("owner", p.owner), ("task", p.task_type),
             ("runs", str(p.runs_started))],
            [("dataset", p.dataset_name), ("yaml", p.training_yaml_name),
             ("tags", ", ".join(p.tags) or "—")],
            [("objective", p.objective)],
            [("description", p.description or "—")],
            [("overrides", "; ".join(overrides) or "server defaults")],
            [("created", ago(p.created_at, now)), ("updated", ago(p.updated_at, now)),
             ("id", p.id)],
        ]
        lines = []
        for row in rows:
            line = Text()
            for index, (label, value) in enumerate(row):
                if index:
                    line.append("   ")
                line.append(f"{label} ", style="dim")
                line.append(value if isinstance(value, Text)
                            else clip(value, max(width - line.cell_len, 10)))
            line.truncate(width, overflow="ellipsis")
            lines.append(line)
        return Text("\n").join(lines)
