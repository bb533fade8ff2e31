"""What a run was started with and how it ended: command, places, times, environment, and
the notes and tags people keep on it."""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from common.models import RunDetail

from ..format import clock_time

__all__ = ["RunDetails"]


class RunDetails(Static):
    DEFAULT_CSS = """
    RunDetails {
        padding: 0 1;
    }
    """

    def show(self, run: RunDetail, tz: tzinfo | None) -> None:
        def at(moment: datetime | None) -> str:
            return clock_time(moment, tz) if moment is not None else "—"

        rows: list[tuple[str, str]] = [
            ("tags", ", ".join(run.tags) or "—"), ("notes", run.notes or "—"),
            ("command", run.start_command), ("status", run.status_message or run.status),
            ("exit code", "—" if run.exit_code is None else str(run.exit_code)),
            ("container", run.container or "—"), ("workdir", run.workdir or "—"),
            ("output dir", run.output_dir or "—"), ("GPUs", _gpus(run)),
            ("parent run", run.parent_run_id or "—"),
            ("resumed from", run.resume_source_artifact_id or "—"),
            ("created by", run.created_by or "—"),
            ("stop asked by", run.stop_requested_by or "—"),
            ("created", at(run.created_at)), ("started", at(run.started_at)),
            ("completed", at(run.completed_at)),
        ]
        if run.stalled_since is not None:
            rows.insert(4, ("stalled", f"since {at(run.stalled_since)}: no log line nor "
                                       "progress since then (it is not stopped)"))
        rows += [(f"env {key}", value) for key, value in sorted(run.env.items())]
        # Two columns: a long value wraps under itself, not under the labels.
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in rows:
            grid.add_row(label, Text(value))
        self.update(grid)


def _gpus(run: RunDetail) -> str:
    """What the run asked for, and what it got or why it waits."""
    if run.gpus is None:
        return "— (not placed: sees every GPU of its container)"
    asked = f"{run.gpus} asked, priority {run.priority}"
    if run.gpu_ids is not None:
        return f"{asked}; given {', '.join(map(str, run.gpu_ids)) or 'none'}"
    if run.pending_reason:
        return f"{asked}; #{run.queue_position or '?'} in the queue: {run.pending_reason}"
    return asked
