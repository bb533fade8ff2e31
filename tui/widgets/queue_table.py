"""The runs waiting for GPUs, in the order they will start: who, how many, how long, why."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from common.models import QueuedRun

from ..format import clip, duration
from .keyed_table import KeyedTable

__all__ = ["QueueTable"]


class QueueTable(KeyedTable):
    COLUMNS = (("position", "#"), ("run", "Run"), ("project", "Project"),
               ("priority", "Prio"), ("gpus", "GPUs"), ("waiting", "Waiting"),
               ("reason", "Reason"))

    def show(self, runs: list[QueuedRun], now: datetime, project_names: dict[str, str],
             reason_width: int) -> None:
        self.set_rows([(run.run_id, (
            Text(str(run.position), justify="right"), Text(run.run_id, style="bold"),
            clip(project_names.get(run.project_id, run.project_id), 16),
            Text(f"{run.priority:+d}" if run.priority else "0", justify="right"),
            Text(str(run.gpus), justify="right"),
            Text(duration((now - run.waiting_since).total_seconds()), justify="right"),
            Text(clip(run.reason or "—", reason_width), style="dim")))
            for run in runs])
