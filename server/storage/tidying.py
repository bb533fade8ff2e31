"""Removing what users made (a project with its runs, an ended run) and run notes.

Deletes touch rows only: log files, checkpoints and config snapshots on disk stay where
they are. Each delete checks that nothing is live inside the same transaction that
deletes, so a run launched meanwhile is either seen (and refuses the delete) or fails to
find its project.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from .db import Database, now_iso

__all__ = ["Blocked", "RunNotes", "Tidying", "notes_of"]

# Child tables first: rows that point at a run, then the runs, then the project.
_RUN_TABLES = ("log_lines", "run_events", "metric_points", "gpu_history", "artifacts",
               "run_notes")
_decode_tags = msgspec.json.Decoder(list[str]).decode


class Blocked(Exception):
    """The delete would remove something still needed; ``ids`` says what."""

    def __init__(self, reason: str, ids: list[str]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ids = ids


class RunNotes(msgspec.Struct, frozen=True):
    notes: str = ""
    tags: list[str] = msgspec.field(default_factory=list)


class Tidying:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def delete_project(self, project_id: str) -> int:
        """Delete the project, its runs and their rows; return how many runs went."""
        async with self.db.transaction() as tx:
            live = await _ids(tx, "SELECT id FROM runs WHERE project_id = ? AND status IN "
                                  "('pending', 'running')", (project_id,))
            if live:
                raise Blocked("live", live)
            runs = "SELECT id FROM runs WHERE project_id = ?"
            for table in _RUN_TABLES:
                await tx.execute(f"DELETE FROM {table} WHERE run_id IN ({runs})", (project_id,))
            cur = await tx.execute("DELETE FROM runs WHERE project_id = ?", (project_id,))
            count = cur.rowcount
            await tx.execute("DELETE FROM projects WHERE id = ?", (project_id,))
        return count

    async def delete_run(self, run_id: str) -> None:
        async with self.db.transaction() as tx:
            live = await _ids(tx, "SELECT id FROM runs WHERE id = ? AND status IN "
                                  "('pending', 'running')", (run_id,))
            if live:
                raise Blocked("live", live)
            children = await _ids(tx, "SELECT id FROM runs WHERE parent_run_id = ?", (run_id,))
            if children:
                raise Blocked("resumed", children)
            for table in _RUN_TABLES:
                await tx.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            await tx.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    async def set_notes(self, run_id: str, changes: dict[str, Any]) -> None:
        """Change ``notes`` and/or ``tags``; what is not given stays."""
        async with self.db.transaction() as tx:
            async with tx.execute("SELECT notes, tags FROM run_notes WHERE run_id = ?",
                                  (run_id,)) as cur:
                row = await cur.fetchone()
            notes = changes.get("notes", row[0] if row else "")
            tags = changes.get("tags", _decode_tags(row[1]) if row else [])
            await tx.execute(
                "INSERT INTO run_notes (run_id, notes, tags, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET notes = excluded.notes, "
                "tags = excluded.tags, updated_at = excluded.updated_at",
                (run_id, notes, msgspec.json.encode(tags).decode(), now_iso()))


async def notes_of(db: Database, run_id: str) -> RunNotes:
    """A run's notes and tags (none: empty)."""
    row = await db.fetch_one("SELECT notes, tags FROM run_notes WHERE run_id = ?", (run_id,))
    return RunNotes(row[0], _decode_tags(row[1])) if row else RunNotes()


async def _ids(tx: Any, sql: str, params: Sequence[Any]) -> list[str]:
    async with tx.execute(sql, params) as cur:
        return [row[0] for row in await cur.fetchall()]
