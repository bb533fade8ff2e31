"""Runs side by side: their curves of one metric overlaid, a summary, and what differs."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from common.models import Comparison, ValueDiff

from ..remote import fetch
from ..widgets import CompareTable, Line, LineChart
from ..widgets.compare_table import run_color
from .base import ViewScreen

__all__ = ["CompareScreen", "chart_metrics", "differences_text"]

LABEL = 6  # the legend names a run by the end of its id


def chart_metrics(result: Comparison) -> list[str]:
    """Metrics worth a chart, losses first: those with a best (a direction), then the rest."""
    goals: dict[str, str | None] = {}
    for run in result.runs:
        for key, summary in run.metrics.items():
            goals.setdefault(key, summary.goal)
    keys = [key for key in goals if key in result.series]
    return sorted(keys, key=lambda k: (k != "loss", goals[k] is None, "loss" not in k, k))


def _diff_lines(title: str, diffs: list[ValueDiff], out: Text) -> None:
    out.append(f"{title}\n", style="bold")
    for item in diffs:
        key, _, change = item.text.partition(": ")
        out.append(f"  {key}: ", style="dim")
        out.append(f"{change}\n")


def differences_text(result: Comparison) -> Text:
    changes = result.differences
    out = Text()
    if changes.command is None and not changes.env and not changes.config:
        out.append("Same command, env and training YAML.", style="dim")
        return out
    if changes.command is not None:
        out.append("Command\n", style="bold")
        for index, (run, command) in enumerate(zip(result.runs, changes.command,
                                                   strict=True)):
            out.append("  ━━ ", style=run_color(index))
            out.append(f"{run.id[-LABEL:]}  {command}\n")
    if changes.env:
        _diff_lines("Env", changes.env, out)
    if changes.config:
        _diff_lines("Training YAML", changes.config, out)
    out.rstrip()
    return out


class CompareScreen(ViewScreen):
    GUIDE = ("Runs side by side: one metric of each, overlaid (one colour per run, as in the "
             "table), the summary (final and best value and at which step), and what differs "
             "between them: start command, env, and the training YAML key by key. m shows "
             "the next metric.")
    BINDINGS = [Binding("m", "next_metric", "Next metric")]
    DEFAULT_CSS = """
    #compare-chart { height: 10; }
    #compare-runs { height: auto; max-height: 12; }
    #compare-diff { padding: 0 1; }
    """

    class Loaded(Message):
        def __init__(self, result: Comparison) -> None:
            super().__init__()
            self.result = result

    def __init__(self, run_ids: list[str], title: str) -> None:
        super().__init__()
        self.run_ids = run_ids
        self.title_crumb = title
        self.result: Comparison | None = None
        self.metric: str | None = None

    def crumbs(self) -> tuple[str, ...]:
        return (self.title_crumb, f"compare {len(self.run_ids)} runs")

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="compare-body"):
            yield Line(" Metrics", id="compare-metric", classes="section-title")
            yield LineChart(id="compare-chart", empty="these runs reported no metrics")
            yield CompareTable(id="compare-runs")
            yield Line(" What differs", classes="section-title")
            yield Static(id="compare-diff")

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True, group="load", exit_on_error=False)
    async def _load(self) -> None:
        api, ids = self.tapp.api, self.run_ids
        self.post_message(self.Loaded(await fetch(self.tapp.link, lambda: api.compare(ids))))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.result = message.result
        metrics = chart_metrics(message.result)
        self.metric = metrics[0] if metrics else None
        self.query_one("#compare-diff", Static).update(differences_text(message.result))
        self._redraw()

    def action_next_metric(self) -> None:
        if self.result is None:
            return
        metrics = chart_metrics(self.result)
        if self.metric in metrics:
            self.metric = metrics[(metrics.index(self.metric) + 1) % len(metrics)]
            self._redraw()

    def _redraw(self) -> None:
        if self.result is None:
            return
        chart = self.query_one(LineChart)
        aligned = self.result.series.get(self.metric or "")
        series: dict[str, dict[int, float]] = {}
        colors = []
        if aligned is not None:
            for index, (run, values) in enumerate(zip(self.result.runs, aligned.values,
                                                      strict=True)):
                points = {s: v for s, v in zip(aligned.steps, values, strict=True)
                          if v is not None}
                if points:  # a run with no points draws nothing and keeps its colour
                    series[f"{run.id[-LABEL:]}"] = points
                    colors.append(run_color(index))
        chart.palette = tuple(colors) or chart.palette
        chart.show(series, list(series))
        others = len(chart_metrics(self.result)) - 1
        title = f" {self.metric or 'Metrics'}" + (f" · m: {others} more" if others > 0 else "")
        self.query_one("#compare-metric", Line).set(title)
        self.query_one(CompareTable).show(self.result, self.metric)
