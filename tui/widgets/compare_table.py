"""Compared runs, one row each: its colour in the chart, outcome, steps, time, a metric."""

from __future__ import annotations

from rich.text import Text

from common.models import Comparison

from ..format import duration, number, status_text
from .chart import RUN_COLORS
from .keyed_table import KeyedTable

__all__ = ["CompareTable", "run_color"]


def run_color(index: int) -> str:
    return RUN_COLORS[index % len(RUN_COLORS)]


class CompareTable(KeyedTable):
    COLUMNS = (("run", "Run"), ("status", "Status"), ("exit", "Exit"), ("steps", "Steps"),
               ("took", "Took"), ("final", "Final"), ("best", "Best @step"))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.show_cursor = False  # a summary to read, not a list to pick from

    def show(self, result: Comparison, key: str | None) -> None:
        rows = []
        for index, run in enumerate(result.runs):
            metric = run.metrics.get(key) if key else None
            best = "—"
            if metric is not None and metric.best is not None:
                best = f"{number(metric.best)} @{metric.best_step}"
            rows.append((run.id, (
                Text.assemble(("━━ ", run_color(index)), (run.id, "bold")),
                status_text(run.status),
                Text("—" if run.exit_code is None else str(run.exit_code), justify="right"),
                Text("—" if run.steps is None else str(run.steps), justify="right"),
                duration(run.duration_seconds),
                Text(number(metric.final if metric else None), justify="right"),
                Text(best, justify="right"))))
        self.set_rows(rows)
