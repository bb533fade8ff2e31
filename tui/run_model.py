"""A run as the run view knows it: the detail, then every event of its stream applied.

Pure data (no Textual): :meth:`RunModel.apply` folds one server event in and says what
changed, so the screen redraws only those parts.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

import msgspec

from common.client import ServerEvent
from common.models import Artifact, LogEntry, ProgressInfo, Queue, RunDetail, RunGpu

__all__ = ["CHART_KEYS", "LOG_KEEP", "RunModel", "chart_keys"]

LOG_KEEP = 20_000  # lines kept for the log view and its search
TERMINAL = frozenset({"completed", "failed", "canceled", "paused"})
CHART_KEYS = 3  # series drawn at most


class _StatusEvent(msgspec.Struct):
    status: str
    message: str | None = None
    exit_code: int | None = None
    completed_at: datetime | None = None
    kept_artifact_id: str | None = None


class _StalledEvent(msgspec.Struct):
    stalled: bool
    since: datetime | None = None


class _MetricsEvent(msgspec.Struct):
    step: int
    values: dict[str, float]


def chart_keys(metric_names: list[str] | dict[str, float]) -> list[str]:
    """The losses worth charting: ``loss`` first, then eval losses and other losses."""
    names = sorted(metric_names, key=lambda k: (k != "loss", not k.startswith("eval"), k))
    return [k for k in names if "loss" in k][:CHART_KEYS]


class RunModel:
    def __init__(self, detail: RunDetail) -> None:
        self.detail = detail
        self.artifacts: dict[str, Artifact] = {a.id: a for a in detail.artifacts}
        self.series: dict[str, dict[int, float]] = {}
        self.lines: deque[LogEntry] = deque(maxlen=LOG_KEEP)
        self.last_event_id: str | None = None
        self.ended = False  # the stream said ``end``: nothing more will come
        self._new_lines: list[LogEntry] = []

    @property
    def finished(self) -> bool:
        return self.detail.status in TERMINAL

    @property
    def gpu(self) -> RunGpu | None:
        return self.detail.gpu

    def replace_detail(self, detail: RunDetail) -> None:
        """A fresh detail from the server (after it ended: final artifacts and tags)."""
        self.detail = detail
        self.artifacts.update({a.id: a for a in detail.artifacts})

    def add_series(self, series: dict[str, list[tuple[int, float]]]) -> None:
        for key, points in series.items():
            self.series.setdefault(key, {}).update(points)

    def artifact_list(self) -> list[Artifact]:
        """Checkpoints by step, newest first, then the other artifacts by name."""
        def order(a: Artifact) -> tuple[int, int, str]:
            return (a.type != "checkpoint", -(a.step or 0), a.name)
        return sorted(self.artifacts.values(), key=order)

    def is_kept(self, artifact: Artifact) -> bool:
        return "kept" in artifact.tags or artifact.id == self.detail.kept_artifact_id

    def apply(self, event: ServerEvent) -> set[str]:
        """Fold one event in; the names of the parts that changed."""
        if event.id is not None:
            self.last_event_id = event.id
        handler = getattr(self, f"_on_{event.event}", None)
        if handler is None:
            return set()
        changed: set[str] = handler(event.data)
        return changed

    def apply_queue(self, queue: Queue) -> set[str]:
        """A ``queue`` event (``/events``): this run's place and reason while it waits."""
        if self.detail.status != "pending":
            return set()
        mine = next((r for r in queue.runs if r.run_id == self.detail.id), None)
        if mine is None:  # starting (its status event follows) or not placed at all
            return set()
        if (mine.position, mine.reason) == (self.detail.queue_position,
                                            self.detail.pending_reason):
            return set()
        self.detail = msgspec.structs.replace(self.detail, queue_position=mine.position,
                                              pending_reason=mine.reason)
        return {"status"}

    def take_new_lines(self) -> list[LogEntry]:
        """The log lines applied since the last call."""
        lines, self._new_lines = self._new_lines, []
        return lines

    def _on_log(self, data: Any) -> set[str]:
        lines = msgspec.convert(data["lines"], list[LogEntry])
        self.lines.extend(lines)
        self._new_lines.extend(lines)
        return {"log"}

    def _on_status(self, data: Any) -> set[str]:
        status = msgspec.convert(data, _StatusEvent)
        changes: dict[str, Any] = {"status": status.status, "status_message": status.message}
        for field in ("exit_code", "completed_at", "kept_artifact_id"):
            if getattr(status, field) is not None:
                changes[field] = getattr(status, field)
        self.detail = msgspec.structs.replace(self.detail, **changes)
        return {"status"}

    def _on_progress(self, data: Any) -> set[str]:
        info = msgspec.convert(data, ProgressInfo)
        self.detail = msgspec.structs.replace(self.detail, progress_info=info,
                                              progress=info.progress)
        return {"progress"}

    def _on_metrics(self, data: Any) -> set[str]:
        point = msgspec.convert(data, _MetricsEvent)
        self.detail.metrics.update(point.values)
        for key, value in point.values.items():
            self.series.setdefault(key, {})[point.step] = value
        return {"metrics"}

    def _on_artifact(self, data: Any) -> set[str]:
        artifact = msgspec.convert(data, Artifact)
        self.artifacts[artifact.id] = artifact
        return {"artifacts"}

    def _on_gpu(self, data: Any) -> set[str]:
        self.detail = msgspec.structs.replace(self.detail, gpu=msgspec.convert(data, RunGpu))
        return {"gpu"}

    def _on_stalled(self, data: Any) -> set[str]:
        stalled = msgspec.convert(data, _StalledEvent)
        self.detail = msgspec.structs.replace(
            self.detail, stalled_since=stalled.since if stalled.stalled else None)
        return {"status"}

    def _on_end(self, data: Any) -> set[str]:
        self.ended = True
        return {"end"}
