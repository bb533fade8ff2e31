"""Two lines atop the run view: status and timing, then progress with step, rate and ETA
(or, while the run waits for GPUs, its place in the queue and why it waits)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widget import Widget

from common.models import RunDetail

from ..drawing import bar
from ..format import ago, clip, duration, status_text

__all__ = ["RunHeader", "run_elapsed"]


def run_elapsed(run: RunDetail | None, now: datetime) -> float | None:
    if run is None or run.started_at is None:
        return None
    end = run.completed_at or now
    return (end - run.started_at).total_seconds()


class RunHeader(Widget):
    DEFAULT_CSS = """
    RunHeader {
        height: 2;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run: RunDetail | None = None
        self.now: datetime | None = None
        self.stopping: str | None = None  # "canceling" or "pausing" while a stop is under way

    def show(self, run: RunDetail, now: datetime, stopping: str | None = None) -> None:
        self.run, self.now, self.stopping = run, now, stopping
        self.refresh()

    def render(self) -> Text:
        run, now = self.run, self.now
        if run is None or now is None:
            return Text("loading…", style="dim")
        width = self.size.width
        top = status_text(run.status)
        if self.stopping:
            top.append(f" ({self.stopping}…)", style="bold yellow")
        if run.status == "pending" and run.queue_position is not None:
            top.append(f"  #{run.queue_position} in the GPU queue", style="bold yellow")
            top.append(f" · waiting {duration((now - run.created_at).total_seconds())}"
                       f" · asks {run.gpus} GPU{'s' if run.gpus != 1 else ''}, priority "
                       f"{run.priority}", style="dim")
            return Text.assemble(top, "\n", Text(clip(run.pending_reason or "", width - 2),
                                                 style="italic"))
        if run.stalled_since is not None and run.status == "running":
            silent = duration((now - run.stalled_since).total_seconds())
            top.append(f" ⚠ stalled {silent}", style="bold yellow")
        by = f"  by {run.created_by} ·" if run.created_by else " "
        top.append(f"{by} started {ago(run.started_at, now)}", style="dim")
        top.append(f" · ran {duration(run_elapsed(run, now))}", style="dim")
        if run.exit_code is not None:
            top.append(f" · exit {run.exit_code}", style="dim")
        if run.status_message:
            room = width - top.cell_len - 3
            if room > 10:
                top.append(" · " + clip(run.status_message, room), style="italic")
        return Text.assemble(top, "\n", self._progress_line(run, width))

    @staticmethod
    def _progress_line(run: RunDetail, width: int) -> Text:
        info = run.progress_info
        fraction = info.progress if info.progress else run.progress
        facts = [f"{fraction * 100:5.1f}%"]
        if info.current_step is not None:
            total = f"/{info.total_steps}" if info.total_steps else ""
            facts.append(f"step {info.current_step}{total}")
        if info.steps_per_second:
            facts.append(f"{info.steps_per_second:.2f} it/s")
        if info.eta_seconds is not None and run.status == "running":
            facts.append(f"ETA {duration(info.eta_seconds)}")
        tail = "  " + " · ".join(facts)
        filled, empty = bar(fraction, max(min(width - len(tail) - 2, 50), 10))
        style = "green" if run.status == "completed" else "cyan"
        return Text.assemble((filled, style), (empty, "dim"), tail)
