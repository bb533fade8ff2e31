"""A project's runs: status, progress, loss, when and how long, and the command."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from common.models import RunDetail, RunSummary

from ..drawing import bar
from ..format import ago, clip, duration, number, status_text
from .keyed_table import KeyedTable

__all__ = ["RunsTable"]


def _elapsed(run: RunSummary, now: datetime) -> float | None:
    if run.started_at is None:
        return None
    return ((run.completed_at or now) - run.started_at).total_seconds()


class RunsTable(KeyedTable):
    COLUMNS = (("run", "Run"), ("status", "Status"), ("progress", "Progress"),
               ("loss", "Loss"), ("started", "Started"), ("took", "Took"),
               ("command", "Command"))

    def show(self, runs: list[RunSummary], details: dict[str, RunDetail],
             now: datetime, marked: frozenset[str] = frozenset()) -> None:
        rows = []
        for run in runs:
            detail = details.get(run.id)
            loss = detail.metrics.get("loss") if detail else None
            filled, empty = bar(run.progress, 8)
            progress = Text.assemble((filled, "cyan"), (empty, "dim"),
                                     f" {run.progress * 100:3.0f}%")
            parent = f" ↻{run.parent_run_id[-4:]}" if run.parent_run_id else ""
            rows.append((run.id, (
                Text.assemble(("◆ " if run.id in marked else "", "bold yellow"),
                              (run.id, "bold"), (parent, "dim")), status_text(run.status),
                progress, Text(number(loss), justify="right"), ago(run.started_at, now),
                duration(_elapsed(run, now)), Text(clip(run.start_command, 60), style="dim"))))
        self.set_rows(rows)
