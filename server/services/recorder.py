"""Recording what happens to runs: store it, then tell the streams.

Everything a run emits (log lines, status, progress, metrics, artifacts, GPU use) goes
through :meth:`RunRecorder.record`: one transaction numbers and stores it, then frames
are encoded once and handed to the hub. List views get run changes on the global channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from common.models import RunStatus

from ..storage.runs import Committed, Guard, LogRow, RunRepository
from ..storage.webhooks import OutboxWrite, outbox_rows
from .streaming.events import Frame, RingChannel, encode_frame
from .streaming.fanout import RunHub

__all__ = ["TERMINAL", "RunRecorder"]

TERMINAL = frozenset({"completed", "failed", "canceled", "paused"})
# The webhook event a status change is; written in the change's own transaction.
NOTICE = {"pending": "run.queued", "running": "run.started", "completed": "run.completed",
          "failed": "run.failed", "canceled": "run.canceled", "paused": "run.paused"}
_encode = msgspec.json.encode


class _Line(msgspec.Struct):
    seq: int
    timestamp: str
    stream: str
    level: str
    message: str


class _Lines(msgspec.Struct):
    lines: list[_Line]


def log_frame(rows: Sequence[tuple[Any, ...]]) -> Frame:
    """One ``log`` frame for consecutive stored rows (run_id, seq, ts, stream, level, msg)."""
    payload = _encode(_Lines([_Line(r[1], r[2], r[3], r[4], r[5]) for r in rows]))
    return Frame(rows[0][1], rows[-1][1], encode_frame("log", rows[-1][1], payload))


def event_frame(seq: int, kind: str, data: bytes | str) -> Frame:
    raw = data.encode() if isinstance(data, str) else data
    terminal = kind == "status" and msgspec.json.decode(raw).get("status") in TERMINAL
    return Frame(seq, seq, encode_frame(kind, seq, raw), terminal)


class RunRecorder:
    def __init__(self, runs: RunRepository, hub: RunHub, changes: RingChannel) -> None:
        self.runs = runs
        self.hub = hub
        self.changes = changes
        self.project_of: dict[str, str] = {}  # run id -> project id, for list-view events
        self.lines_recorded = 0  # since start, for GET /metrics
        self.on_outbox: Callable[[], None] = lambda: None  # notifications were stored

    async def record(self, run_id: str, rows: Sequence[LogRow] = (), *,
                     events: Sequence[tuple[str, Any]] = (),
                     offsets: dict[str, int] | None = None,
                     fields: dict[str, Any] | None = None,
                     points: Sequence[tuple[str, int, float]] = (),
                     guard: Guard | None = None,
                     project: dict[str, Any] | None = None,
                     outbox: Sequence[OutboxWrite] = ()) -> Committed | None:
        """Store, then publish; with a ``guard`` the run's row may refuse it (None), and
        then nothing is stored or published. ``project``: what changed in the run's
        project row, for list views to update in place."""
        encoded = [(kind, _encode(data)) for kind, data in events]
        committed = await self.runs.append(run_id, rows, events=encoded, offsets=offsets,
                                           fields=fields, points=points, guard=guard,
                                           outbox=outbox)
        if committed is None:
            return None
        self.lines_recorded += len(rows)
        if outbox:
            self.on_outbox()
        if self.hub.subscribers(run_id):  # encode only for someone: ingest stays cheap
            frames = [log_frame(committed.lines)] if committed.lines else []
            frames.extend(event_frame(seq, kind, data) for seq, kind, data in committed.events)
            if frames:
                self.hub.publish(run_id, frames)
        for _, kind, data in committed.events:
            if kind in ("status", "progress"):
                changed = b',"project":%s' % _encode(project) if project else b""
                payload = b'{"run_id":"%s","project_id":"%s","data":%s%s}' % (
                    run_id.encode(), self.project_of.get(run_id, "").encode(), data, changed)
                self.changes.publish(f"run.{kind}", payload)
        return committed

    async def log(self, run_id: str, message: str, level: str = "INFO") -> None:
        await self.record(run_id, [("system", level, message)])

    async def transition(self, run_id: str, status: RunStatus, message: str | None, *,
                         guard: Guard, level: str = "INFO",
                         project: dict[str, Any] | None = None, **fields: Any) -> bool:
        """Change status, only if the run's row passes ``guard``: the log line, the
        ``status`` event and the row commit together, and only the winner publishes."""
        data = {"status": status, "message": message,
                **{k: v for k, v in fields.items() if k in ("exit_code", "completed_at",
                                                            "kept_artifact_id")}}
        rows: list[LogRow] = [("system", level, message)] if message else []
        notice = NOTICE.get(status)
        committed = await self.record(
            run_id, rows, events=[("status", data)], guard=guard, project=project,
            fields={"status": status, "status_message": message, **fields},
            outbox=[outbox_rows(notice, run_id)] if notice else ())
        return committed is not None
