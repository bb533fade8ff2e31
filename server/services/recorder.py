"""Recording what happens to runs: store it, then tell the streams.

Everything a run emits (log lines, status, progress, metrics, artifacts, GPU use) goes
through :meth:`RunRecorder.record`: one transaction numbers and stores it, then frames
are encoded once and handed to the hub. List views get run changes on the global channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from ..storage.runs import Committed, LogRow, RunRepository
from .events import Frame, RingChannel, encode_frame
from .fanout import RunHub

__all__ = ["TERMINAL", "RunRecorder"]

TERMINAL = frozenset({"completed", "failed", "canceled", "paused"})
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

    async def record(self, run_id: str, rows: Sequence[LogRow] = (), *,
                     events: Sequence[tuple[str, Any]] = (),
                     offsets: dict[str, int] | None = None,
                     fields: dict[str, Any] | None = None,
                     points: Sequence[tuple[str, int, float]] = ()) -> Committed:
        encoded = [(kind, _encode(data)) for kind, data in events]
        committed = await self.runs.append(run_id, rows, events=encoded, offsets=offsets,
                                           fields=fields, points=points)
        self.lines_recorded += len(rows)
        if self.hub.subscribers(run_id):  # encode only for someone: ingest stays cheap
            frames = [log_frame(committed.lines)] if committed.lines else []
            frames.extend(event_frame(seq, kind, data) for seq, kind, data in committed.events)
            if frames:
                self.hub.publish(run_id, frames)
        for _, kind, data in committed.events:
            if kind in ("status", "progress"):
                project = self.project_of.get(run_id, "")
                payload = b'{"run_id":"%s","project_id":"%s","data":%s}' % (
                    run_id.encode(), project.encode(), data)
                self.changes.publish(f"run.{kind}", payload)
        return committed

    async def log(self, run_id: str, message: str, level: str = "INFO") -> None:
        await self.record(run_id, [("system", level, message)])

    async def status(self, run_id: str, status: str, message: str | None = None, *,
                     level: str = "INFO", **fields: Any) -> None:
        """Change status: the log line, the ``status`` event and the row, together."""
        data = {"status": status, "message": message,
                **{k: v for k, v in fields.items() if k in ("exit_code", "completed_at",
                                                            "kept_artifact_id")}}
        rows: list[LogRow] = [("system", level, message)] if message else []
        await self.record(run_id, rows, events=[("status", data)],
                          fields={"status": status, "status_message": message, **fields})
