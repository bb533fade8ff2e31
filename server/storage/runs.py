"""Run rows, their log lines and artifacts, in and out as msgspec Structs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from common.models import Artifact, LogEntry, RunSummary

from .db import Database, now_iso

__all__ = ["LogRow", "RunRepository", "RunRow"]

_json = msgspec.json.encode
_dict_decode = msgspec.json.Decoder(dict[str, Any]).decode
_list_decode = msgspec.json.Decoder(list[str]).decode

# A log row as inserted: (stream, level, message); seq and timestamp are added on insert.
LogRow = tuple[str, str, str]


class RunRow(msgspec.Struct, kw_only=True):
    """Everything the server keeps about a run (more than the wire shows)."""

    id: str
    project_id: str
    status: str
    start_command: str
    env: dict[str, str]
    executor: str
    container: str | None
    workdir: str
    run_dir: str
    output_dir: str | None
    pgid: int | None
    wrapper_pid: int | None
    exit_code: int | None
    status_message: str | None
    stop_request: str | None
    progress: float
    metrics: dict[str, Any]
    resume_source_artifact_id: str | None
    parent_run_id: str | None
    kept_artifact_id: str | None
    stdout_offset: int
    stderr_offset: int
    last_seq: int
    created_at: str
    updated_at: str
    started_at: str | None
    completed_at: str | None

    def summary(self) -> RunSummary:
        return msgspec.convert(
            {f: getattr(self, f) for f in RunSummary.__struct_fields__}, RunSummary
        )


def _run(row: sqlite3.Row) -> RunRow:
    data = dict(row)
    data["env"] = _dict_decode(data["env"])
    data["metrics"] = _dict_decode(data["metrics"])
    return RunRow(**data)


def _artifact(row: sqlite3.Row) -> Artifact:
    data = dict(row)
    data["tags"] = _list_decode(data["tags"])
    data.pop("project_id", None)
    return msgspec.convert(data, Artifact)


def _log(row: sqlite3.Row) -> LogEntry:
    return msgspec.convert(
        {"seq": row[0], "timestamp": row[1], "stream": row[2], "level": row[3],
         "message": row[4]},
        LogEntry,
    )


_SUMMARY_COLUMNS = (
    "id, project_id, status, created_at, updated_at, started_at, completed_at, progress, "
    "start_command, resume_source_artifact_id, parent_run_id, exit_code, status_message"
)


class RunRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- runs -------------------------------------------------------------------------
    async def insert(self, run: RunRow) -> None:
        """Insert a new run and count it in its project's ``runs_started``."""
        data = msgspec.structs.asdict(run)
        data["env"] = _json(run.env).decode()
        data["metrics"] = _json(run.metrics).decode()
        columns = ", ".join(data)
        marks = ", ".join("?" for _ in data)
        async with self.db.transaction() as tx:
            await tx.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", tuple(data.values()))
            await tx.execute(
                "UPDATE projects SET runs_started = runs_started + 1, updated_at = ? WHERE id = ?",
                (run.created_at, run.project_id),
            )

    async def get(self, run_id: str) -> RunRow | None:
        row = await self.db.fetch_one("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _run(row) if row else None

    async def live(self) -> list[RunRow]:
        rows = await self.db.fetch_all(
            "SELECT * FROM runs WHERE status IN ('pending', 'running') ORDER BY created_at"
        )
        return [_run(row) for row in rows]

    async def list_for_project(self, project_id: str, status: str | None = None
                               ) -> list[RunSummary]:
        sql = f"SELECT {_SUMMARY_COLUMNS} FROM runs WHERE project_id = ?"
        params: list[Any] = [project_id]
        if status:
            sql += " AND status = ?"
            params.append(status)
        rows = await self.db.fetch_all(sql + " ORDER BY created_at DESC, rowid DESC", params)
        return [msgspec.convert(dict(row), RunSummary) for row in rows]

    async def update(self, run_id: str, **fields: Any) -> None:
        for key in ("env", "metrics"):
            if key in fields:
                fields[key] = _json(fields[key]).decode()
        fields["updated_at"] = now_iso()
        sets = ", ".join(f"{column} = ?" for column in fields)
        async with self.db.transaction() as tx:
            await tx.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*fields.values(), run_id))

    # -- logs -------------------------------------------------------------------------
    async def append_logs(self, run_id: str, rows: Sequence[LogRow], *,
                          offsets: dict[str, int] | None = None) -> int:
        """Append lines in one transaction, with the file offsets they were read up to.

        Lines and offsets commit together, so a crash never loses or repeats a line.
        Returns the last sequence number used.
        """
        ts = now_iso()
        async with self.db.transaction() as tx:
            async with tx.execute("SELECT last_seq FROM runs WHERE id = ?", (run_id,)) as cur:
                found = await cur.fetchone()
            first = (found[0] if found else 0) + 1
            if rows:
                await tx.executemany(
                    "INSERT INTO log_lines (run_id, seq, ts, stream, level, message) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(run_id, seq, ts, s, lvl, msg)
                     for seq, (s, lvl, msg) in enumerate(rows, first)],
                )
            last = first + len(rows) - 1
            sets, params = "last_seq = ?", [last]
            for stream, offset in (offsets or {}).items():
                sets += f", {stream}_offset = ?"
                params.append(offset)
            await tx.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*params, run_id))
        return last

    async def system_log(self, run_id: str, message: str, level: str = "INFO") -> None:
        await self.append_logs(run_id, [("system", level, message)])

    async def logs_after(self, run_id: str, after: int, limit: int) -> list[LogEntry]:
        rows = await self.db.fetch_all(
            "SELECT seq, ts, stream, level, message FROM log_lines "
            "WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, after, limit),
        )
        return [_log(row) for row in rows]

    async def logs_tail(self, run_id: str, count: int) -> list[LogEntry]:
        rows = await self.db.fetch_all(
            "SELECT seq, ts, stream, level, message FROM log_lines "
            "WHERE run_id = ? ORDER BY seq DESC LIMIT ?",
            (run_id, count),
        )
        return [_log(row) for row in reversed(rows)]

    # -- artifacts --------------------------------------------------------------------
    async def add_artifacts(self, run: RunRow, found: Iterable[Artifact]) -> list[Artifact]:
        """Record artifacts not seen before (by path); return the new ones."""
        new = []
        async with self.db.transaction() as tx:
            for art in found:
                cur = await tx.execute(
                    "INSERT OR IGNORE INTO artifacts "
                    "(id, run_id, project_id, name, type, path, step, tags, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (art.id, run.id, run.project_id, art.name, art.type, art.path, art.step,
                     _json(art.tags).decode(), art.created_at.isoformat()),
                )
                if cur.rowcount:
                    new.append(art)
        return new

    async def artifacts(self, run_id: str) -> list[Artifact]:
        rows = await self.db.fetch_all(
            "SELECT id, run_id, project_id, name, type, path, step, tags, created_at "
            "FROM artifacts WHERE run_id = ? ORDER BY type, step, created_at",
            (run_id,),
        )
        return [_artifact(row) for row in rows]

    async def artifact(self, artifact_id: str) -> tuple[Artifact, str] | None:
        """An artifact and its project id."""
        row = await self.db.fetch_one(
            "SELECT id, run_id, project_id, name, type, path, step, tags, created_at "
            "FROM artifacts WHERE id = ?",
            (artifact_id,),
        )
        return (_artifact(row), row["project_id"]) if row else None

    async def tag_artifact(self, artifact_id: str, tag: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE artifacts SET tags = json_insert(tags, '$[#]', ?) "
                "WHERE id = ? AND NOT EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)",
                (tag, artifact_id, tag),
            )
