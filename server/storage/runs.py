"""Run rows, their log lines and artifacts, in and out as msgspec Structs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from itertools import count, repeat
from typing import Any

import msgspec

from common.models import Artifact, LogEntry, RunSummary

from .db import Database, now_iso

__all__ = ["Committed", "LogRow", "RunRepository", "RunRow"]

_json = msgspec.json.encode
_dict_decode = msgspec.json.Decoder(dict[str, Any]).decode
_list_decode = msgspec.json.Decoder(list[str]).decode

# A log row as inserted: (stream, level, message); seq and timestamp are added on insert.
LogRow = tuple[str, str, str]


_JSON_COLUMNS = ("env", "metrics", "progress_info", "gpu")


def _encode_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Column values as stored: JSON columns encoded; ``updated_at`` refreshed."""
    encoded = {k: (_json(v).decode() if k in _JSON_COLUMNS else v) for k, v in fields.items()}
    encoded["updated_at"] = now_iso()
    return encoded


class Committed(msgspec.Struct):
    """What one append stored: numbered log rows and events, ready to publish."""

    ts: str
    lines: list[tuple[str, int, str, str, str, str]]  # run_id, seq, ts, stream, level, msg
    events: list[tuple[int, str, bytes]]  # seq, type, JSON data


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
    progress_info: dict[str, Any]
    gpu: dict[str, Any]
    host_pid: int | None
    jsonl_offset: int
    command_template: str | None
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
    for column in _JSON_COLUMNS:
        data[column] = _dict_decode(data[column])
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


# One statement for a whole batch, not an executemany: sqlite3 lets go of the GIL around
# every step, so on a worker thread each row had to win it back from the event loop.
_INSERT_LINES = (
    "INSERT INTO log_lines (run_id, seq, ts, stream, level, message) "
    "SELECT ?1, ?2 + key, ?3, json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]') FROM json_each(?4)")


class RunRepository:
    def __init__(self, db: Database, on_project_change: Callable[[], None] = lambda: None
                 ) -> None:
        self.db = db
        self.on_project_change = on_project_change  # a new run changes its project's row

    # -- runs -------------------------------------------------------------------------
    async def insert(self, run: RunRow) -> None:
        """Insert a new run and count it in its project's ``runs_started``."""
        data = msgspec.structs.asdict(run)
        for column in _JSON_COLUMNS:
            data[column] = _json(data[column]).decode()
        columns = ", ".join(data)
        marks = ", ".join("?" for _ in data)
        async with self.db.transaction() as tx:
            await tx.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", tuple(data.values()))
            await tx.execute(
                "UPDATE projects SET runs_started = runs_started + 1, updated_at = ? WHERE id = ?",
                (run.created_at, run.project_id),
            )
        self.on_project_change()

    async def get(self, run_id: str) -> RunRow | None:
        row = await self.db.fetch_one("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _run(row) if row else None

    async def live(self) -> list[RunRow]:
        rows = await self.db.fetch_all(
            "SELECT * FROM runs WHERE status IN ('pending', 'running') ORDER BY created_at"
        )
        return [_run(row) for row in rows]

    async def live_sharing_output(self, output_dir: str, except_id: str) -> list[str]:
        rows = await self.db.fetch_all(
            "SELECT id FROM runs WHERE status IN ('pending', 'running') AND output_dir = ? "
            "AND id != ?", (output_dir, except_id))
        return [row[0] for row in rows]

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
        fields = _encode_fields(fields)
        sets = ", ".join(f"{column} = ?" for column in fields)
        async with self.db.transaction() as tx:
            await tx.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*fields.values(), run_id))

    # -- logs -------------------------------------------------------------------------
    async def append(self, run_id: str, rows: Sequence[LogRow] = (), *,
                     events: Sequence[tuple[str, bytes]] = (),
                     offsets: dict[str, int] | None = None,
                     fields: dict[str, Any] | None = None,
                     points: Sequence[tuple[str, int, float]] = ()) -> Committed:
        """Append log lines, events and metric points in one transaction, numbered from
        the run's sequence, with the file offsets they were read up to and any run fields
        that changed.

        Lines and offsets commit together, so a crash never loses or repeats a line.
        """
        ts = now_iso()
        sets = {f"{stream}_offset": offset for stream, offset in (offsets or {}).items()}
        sets.update(_encode_fields(fields or {}))
        batch = _json(rows) if rows else None

        def write(conn: sqlite3.Connection) -> int:
            found = conn.execute("SELECT last_seq FROM runs WHERE id = ?", (run_id,)).fetchone()
            first: int = (found[0] if found else 0) + 1
            if batch is not None:
                conn.execute(_INSERT_LINES, (run_id, first, ts, batch))
            after = first + len(rows)
            if events:
                conn.executemany(
                    "INSERT INTO run_events (run_id, seq, type, data) VALUES (?, ?, ?, ?)",
                    [(run_id, seq, kind, data.decode())
                     for seq, (kind, data) in enumerate(events, after)])
            if points:
                conn.executemany(
                    "INSERT OR REPLACE INTO metric_points (run_id, key, step, value, ts) "
                    "VALUES (?, ?, ?, ?, ?)", [(run_id, k, step, v, ts) for k, step, v in points])
            columns = {"last_seq": after + len(events) - 1, **sets}
            conn.execute(f"UPDATE runs SET {', '.join(f'{c} = ?' for c in columns)} "
                         "WHERE id = ?", (*columns.values(), run_id))
            return first

        first = await self.db.write(write, rows=len(rows) + len(events) + len(points))
        # zip, not a comprehension: this runs once per log line on the ingest path.
        lines = list(zip(repeat(run_id), count(first), repeat(ts), *zip(*rows, strict=True),
                         strict=False)) if rows else []
        numbered = [(seq, kind, data) for seq, (kind, data)
                    in enumerate(events, first + len(rows))]
        return Committed(ts=ts, lines=lines, events=numbered)

    async def stored_after(self, run_id: str, after: int, limit: int,
                           max_bytes: int | None = None) -> list[tuple[Any, ...]]:
        """Log rows ``(run_id, seq, ts, stream, level, message)`` and events ``(seq, type,
        data)`` after ``after``, in sequence order. One statement, so one snapshot: two
        queries could each see a different commit and skip what lies between. With
        ``max_bytes``, rows stop once their text passes it (one row at least); they are
        fetched a few at a time, so no more than that is read into memory."""
        found: list[tuple[Any, ...]] = []
        size = 0
        async with self.db.reader() as conn, conn.execute(
                "SELECT seq, NULL, ts, stream, level, message FROM log_lines "
                "WHERE run_id = ?1 AND seq > ?2 "
                "UNION ALL SELECT seq, type, data, NULL, NULL, NULL FROM run_events "
                "WHERE run_id = ?1 AND seq > ?2 ORDER BY 1 LIMIT ?3",
                (run_id, after, limit)) as cursor:
            while rows := await cursor.fetchmany(512):
                for row in rows:
                    found.append((run_id, *row[:1], *row[2:]) if row[1] is None
                                 else (row[0], row[1], row[2]))
                    if max_bytes is not None:
                        size += len(row[5] if row[1] is None else row[2])
                        if size >= max_bytes:
                            return found
        return found

    async def replace_metric_points(self, run_id: str, upto_step: int, keys: Sequence[str],
                                    points: Sequence[tuple[str, int, float]]) -> None:
        """Authoritative points (a checkpoint's log history) replace what was estimated
        for those keys up to ``upto_step``."""
        ts = now_iso()
        async with self.db.transaction() as tx:
            await tx.executemany(
                "DELETE FROM metric_points WHERE run_id = ? AND key = ? AND step <= ?",
                [(run_id, key, upto_step) for key in keys])
            await tx.executemany(
                "INSERT OR REPLACE INTO metric_points (run_id, key, step, value, ts) "
                "VALUES (?, ?, ?, ?, ?)", [(run_id, k, step, v, ts) for k, step, v in points])

    async def metric_series(self, run_id: str, keys: Sequence[str] | None, after_step: int,
                            limit: int) -> dict[str, list[tuple[int, float]]]:
        sql = ("SELECT key, step, value FROM metric_points WHERE run_id = ? AND step > ?")
        params: list[Any] = [run_id, after_step]
        if keys:
            sql += f" AND key IN ({', '.join('?' for _ in keys)})"
            params.extend(keys)
        rows = await self.db.fetch_all(sql + " ORDER BY key, step LIMIT ?", (*params, limit))
        series: dict[str, list[tuple[int, float]]] = {}
        for key, step, value in rows:
            series.setdefault(key, []).append((step, value))
        return series

    async def add_gpu_history(self, rows: Sequence[tuple[str, str, int, float | None, int]]
                              ) -> None:
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT OR REPLACE INTO gpu_history (run_id, ts, gpu_index, utilization, "
                "memory_used) VALUES (?, ?, ?, ?, ?)", rows)

    async def gpu_history(self, run_id: str,
                          limit: int = 1000) -> list[tuple[str, int, float | None, int]]:
        rows = await self.db.fetch_all(
            "SELECT ts, gpu_index, utilization, memory_used FROM gpu_history WHERE run_id = ? "
            "ORDER BY ts DESC LIMIT ?", (run_id, limit))
        return [(row[0], row[1], row[2], row[3]) for row in reversed(rows)]

    async def logs_page(self, run_id: str, after: int, limit: int,
                        max_chars: int) -> tuple[list[LogEntry], bool]:
        """Up to ``limit`` lines after ``after`` holding at most ``max_chars`` characters of
        message (one line at least), and whether more follow. Rows are fetched a few at a
        time, so a page of long lines never sits in memory whole."""
        entries: list[LogEntry] = []
        size = 0
        async with self.db.reader() as conn, conn.execute(
                "SELECT seq, ts, stream, level, message FROM log_lines "
                "WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (run_id, after, limit + 1)) as cursor:
            while rows := await cursor.fetchmany(256):
                for row in rows:
                    size += len(row[4])
                    if len(entries) == limit or (entries and size > max_chars):
                        return entries, True
                    entries.append(_log(row))
        return entries, False

    async def logs_tail(self, run_id: str, count: int) -> list[LogEntry]:
        rows = await self.db.fetch_all(
            "SELECT seq, ts, stream, level, message FROM log_lines "
            "WHERE run_id = ? ORDER BY seq DESC LIMIT ?",
            (run_id, count),
        )
        return [_log(row) for row in reversed(rows)]

    # -- artifacts --------------------------------------------------------------------
    async def add_artifacts(self, run: RunRow, found: Iterable[Artifact]) -> list[Artifact]:
        """Record artifacts not seen before (by path); return the new ones.

        A file another run already recorded, unchanged since (same time), is that run's:
        runs sharing an output directory do not claim each other's checkpoints.
        """
        new: list[Artifact] = []
        found = list(found)
        if not found:
            return new
        async with self.db.transaction() as tx:
            for art in found:
                when = art.created_at.isoformat()
                cur = await tx.execute(
                    "INSERT OR IGNORE INTO artifacts "
                    "(id, run_id, project_id, name, type, path, step, tags, created_at) "
                    "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM artifacts "
                    "WHERE path = ? AND run_id != ? AND created_at = ?)",
                    (art.id, run.id, run.project_id, art.name, art.type, art.path, art.step,
                     _json(art.tags).decode(), when, art.path, run.id, when),
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
