"""The projects list: one row per project, newest first."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from common.models import ProjectSummary

from ..format import ago, clip, status_text
from .keyed_table import KeyedTable

__all__ = ["ProjectsTable"]


class ProjectsTable(KeyedTable):
    COLUMNS = (("name", "Name"), ("status", "Status"), ("owner", "Owner"), ("task", "Task"),
               ("runs", "Runs"), ("updated", "Updated"), ("objective", "Objective"))

    def show(self, projects: list[ProjectSummary], now: datetime) -> None:
        self.set_rows([
            (p.id, (Text(clip(p.name, 32), style="bold"), status_text(p.status),
                    clip(p.owner, 14), clip(p.task_type, 14),
                    Text(str(p.runs_started), justify="right"), ago(p.updated_at, now),
                    Text(clip(p.objective, 40), style="dim")))
            for p in projects])
