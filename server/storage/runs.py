"""Run rows, their log lines and artifacts, in and out as msgspec Structs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from itertools import count, repeat
from typing import Any, Literal, NamedTuple

import msgspec

from common.models import Artifact, LogEntry, RunStatus, RunSummary

from .db import Database, now_iso

__all__ = ["SUMMARY_COLUMNS", "Busy", "Committed", "Guard", "LogRow", "RunRepository", "RunRow",
           "StopKind", "StoredEvent", "StoredLine", "summary_row"]

_json = msgspec.json.encode
_dict_decode = msgspec.json.Decoder(dict[str, Any]).decode
_list_decode = msgspec.json.Decoder(list[str]).decode

# A log row as inserted: (stream, level, message), or with the time it was written when
# that is known and is not now (lines read after a restart); seq is added on insert.
LogRow = tuple[str, str, str] | tuple[str, str, str, str]
StopKind = Literal["canceled", "paused"]
StopStage = Literal["asked", "save", "term", "kill"]
# Which runs a write may change: a transition happens only from a live status, so
# whatever races (stop vs exit, two stops, a restart mid-stop), one wins and one only.
Guard = Literal["pending", "live", "live_unstopped"]
_GUARDS: dict[str, str] = {
    "pending": "status = 'pending'",
    "live": "status IN ('pending', 'running')",
    "live_unstopped": "status IN ('pending', 'running') AND stop_request IS NULL",
}


class Busy(msgspec.Struct, frozen=True):
    """Why a run may not be inserted now: another live run holds what it needs."""

    reason: Literal["output_dir", "resumed"]
    run_id: str


_JSON_COLUMNS = ("env", "metrics", "progress_info", "gpu")


def _encode_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Column values as stored: JSON columns encoded; ``updated_at`` refreshed."""
    encoded = {k: (_json(v).decode() if k in _JSON_COLUMNS else v) for k, v in fields.items()}
    encoded["updated_at"] = now_iso()
    return encoded


class StoredEvent(NamedTuple):
    """A stored non-log event of a run (status, progress, metrics, ...)."""

    seq: int
    type: str
    data: str


# A stored log row: (run_id, seq, ts, stream, level, message), as log frames take it.
StoredLine = tuple[str, int, str, str, str, str]


class Committed(msgspec.Struct):
    """What one append stored: numbered log rows and events, ready to publish."""

    ts: str
    lines: list[tuple[str, int, str, str, str, str]]  # run_id, seq, ts, stream, level, msg
    events: list[tuple[int, str, bytes]]  # seq, type, JSON data


class RunRow(msgspec.Struct, kw_only=True):
    """Everything the server keeps about a run (more than the wire shows)."""

    id: str
    project_id: str
    status: RunStatus
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
    stop_request: StopKind | None
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
    stop_deadline: float | None = None
    stop_stage: StopStage | None = None
    identity: str | None = None
    clock_offset: int = 0
    gpus: int | None = None
    priority: int = 0
    gpu_ids: list[int] | None = None
    pending_reason: str | None = None
    queue_position: int | None = None
    nodes: int = 1
    slurm_job_id: str | None = None
    node_list: str | None = None
    created_by: str | None = None  # the user who launched it (or resumed into it)
    stop_requested_by: str | None = None  # the user who asked for its cancel or pause
    stalled_since: str | None = None  # set while no line nor progress came for too long

    def summary(self) -> RunSummary:
        return msgspec.convert(
            {f: getattr(self, f) for f in RunSummary.__struct_fields__}, RunSummary
        )


_ids_decode = msgspec.json.Decoder(list[int] | None).decode


def _run(row: sqlite3.Row) -> RunRow:
    data = dict(row)
    for column in _JSON_COLUMNS:
        data[column] = _dict_decode(data[column])
    data["gpu_ids"] = _ids_decode(data["gpu_ids"] or "null")
    return RunRow(**data)


def summary_row(row: sqlite3.Row) -> RunSummary:
    data = dict(row)
    data["gpu_ids"] = _ids_decode(data["gpu_ids"] or "null")
    return msgspec.convert(data, RunSummary)


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


SUMMARY_COLUMNS = (
    "id, project_id, status, created_at, updated_at, started_at, completed_at, progress, "
    "start_command, resume_source_artifact_id, parent_run_id, exit_code, status_message, "
    "gpus, priority, gpu_ids, queue_position, pending_reason, created_by"
)


# One statement for a whole batch, not an executemany: sqlite3 lets go of the GIL around
# every step, so on a worker thread each row had to win it back from the event loop.
_INSERT_LINES = (
    "INSERT INTO log_lines (run_id, seq, ts, stream, level, message) "
    "SELECT ?1, ?2 + key, coalesce(json_extract(value, '$[3]'), ?3), "
    "json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') "
    "FROM json_each(?4)")


class RunRepository:
    def __init__(self, db: Database, on_project_change: Callable[[], None] = lambda: None
                 ) -> None:
        self.db = db
        self.on_project_change = on_project_change  # a new run changes its project's row

    # -- runs -------------------------------------------------------------------------
    async def insert(self, run: RunRow) -> Busy | int:
        """Insert a new run and count it in its project's ``runs_started`` (returned), unless a live
        run writes the same output directory or already resumes the same parent (checked
        in the same transaction, so two launches at once cannot both pass)."""
        data = msgspec.structs.asdict(run)
        for column in _JSON_COLUMNS:
            data[column] = _json(data[column]).decode()
        data["gpu_ids"] = _json(run.gpu_ids).decode() if run.gpu_ids is not None else None
        columns = ", ".join(data)
        marks = ", ".join("?" for _ in data)
        async with self.db.transaction() as tx:
            for reason, column, value in (("output_dir", "output_dir", run.output_dir),
                                          ("resumed", "parent_run_id", run.parent_run_id)):
                if value is None:
                    continue
                cur = await tx.execute(
                    f"SELECT id FROM runs WHERE {column} = ? AND "
                    "status IN ('pending', 'running') LIMIT 1", (value,))
                if (row := await cur.fetchone()) is not None:
                    return Busy(reason, row[0])  # type: ignore[arg-type]
            await tx.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", tuple(data.values()))
            await tx.execute(
                "UPDATE projects SET runs_started = runs_started + 1, updated_at = ? WHERE id = ?",
                (run.created_at, run.project_id),
            )
            cur = await tx.execute("SELECT runs_started FROM projects WHERE id = ?",
                                   (run.project_id,))
            counted = await cur.fetchone()
        self.on_project_change()
        return int(counted[0]) if counted else 0

    async def get(self, run_id: str) -> RunRow | None:
        row = await self.db.fetch_one("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _run(row) if row else None

    async def live(self) -> list[RunRow]:
        rows = await self.db.fetch_all(
            "SELECT * FROM runs WHERE status IN ('pending', 'running') ORDER BY created_at"
        )
        return [_run(row) for row in rows]

    # -- the GPU queue ----------------------------------------------------------------
    async def queued(self) -> list[RunRow]:
        """Runs waiting for GPUs, in the order they may start: priority, then arrival."""
        rows = await self.db.fetch_all(
            "SELECT * FROM runs WHERE status = 'pending' AND gpus IS NOT NULL "
            "AND gpu_ids IS NULL AND executor != 'slurm' "  # Slurm queues its own
            "ORDER BY priority DESC, created_at, rowid")
        return [_run(row) for row in rows]

    async def held_gpus(self) -> dict[int, str]:
        """GPU index -> the live run it was given to."""
        rows = await self.db.fetch_all(
            "SELECT id, gpu_ids FROM runs WHERE status IN ('pending', 'running') "
            "AND gpu_ids IS NOT NULL")
        return {index: row[0] for row in rows for index in _ids_decode(row[1]) or []}

    async def place(self, run_id: str, gpu_ids: list[int], env: dict[str, str]) -> bool:
        """Give a waiting run its GPUs: only if it still waits and no stop was asked."""
        def write(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE runs SET gpu_ids = ?, env = ?, pending_reason = NULL, "
                "queue_position = NULL, updated_at = ? WHERE id = ? AND status = 'pending' "
                "AND gpu_ids IS NULL AND stop_request IS NULL",
                (_json(gpu_ids).decode(), _json(env).decode(), now_iso(), run_id))
            return cur.rowcount == 1
        return await self.db.write(write, rows=1)

    async def set_waiting(self, waiting: Sequence[tuple[str, int, str]]) -> None:
        """Store each waiting run's (id, position, reason)."""
        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE runs SET queue_position = ?, pending_reason = ? WHERE id = ? "
                "AND status = 'pending' AND gpu_ids IS NULL",
                [(position, reason, run_id) for run_id, position, reason in waiting])
        await self.db.write(write, rows=len(waiting))

    async def set_priority(self, run_id: str, priority: int) -> bool:
        """Change the priority of a run that still waits for GPUs."""
        def write(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE runs SET priority = ?, updated_at = ? WHERE id = ? "
                "AND status = 'pending' AND gpu_ids IS NULL", (priority, now_iso(), run_id))
            return cur.rowcount == 1
        return await self.db.write(write, rows=1)

    async def request_stop(self, run_id: str, kind: StopKind, deadline: float,
                           by: str | None = None) -> bool:
        """Store a stop (and who asked): only for a live run that no stop has claimed yet."""
        def write(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE runs SET stop_request = ?, stop_deadline = ?, stop_stage = 'asked', "
                f"stop_requested_by = ?, updated_at = ? WHERE id = ? AND "
                f"{_GUARDS['live_unstopped']}", (kind, deadline, by, now_iso(), run_id))
            return cur.rowcount == 1
        return await self.db.write(write, rows=1)

    async def list_for_project(self, project_id: str, status: str | None = None
                               ) -> list[RunSummary]:
        sql = f"SELECT {SUMMARY_COLUMNS} FROM runs WHERE project_id = ?"
        params: list[Any] = [project_id]
        if status:
            sql += " AND status = ?"
            params.append(status)
        rows = await self.db.fetch_all(sql + " ORDER BY created_at DESC, rowid DESC", params)
        return [summary_row(row) for row in rows]

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
                     points: Sequence[tuple[str, int, float]] = (),
                     guard: Guard | None = None,
                     outbox: Sequence[Callable[[sqlite3.Connection], object]] = ()
                     ) -> Committed | None:
        """Append log lines, events and metric points in one transaction, numbered from
        the run's sequence, with the file offsets they were read up to and any run fields
        that changed. ``outbox``: writers of notification rows, run last in the same
        transaction (after the fields changed), so a change and its notice commit together.

        Lines and offsets commit together, so a crash never loses or repeats a line. With
        a ``guard``, nothing is written (None) unless the run's row passes it.
        """
        ts = now_iso()
        sets = {f"{stream}_offset": offset for stream, offset in (offsets or {}).items()}
        sets.update(_encode_fields(fields or {}))
        batch = _json(rows) if rows else None

        where = f" AND {_GUARDS[guard]}" if guard else ""

        def write(conn: sqlite3.Connection) -> int | None:
            found = conn.execute(f"SELECT last_seq FROM runs WHERE id = ?{where}",
                                 (run_id,)).fetchone()
            if guard and found is None:
                return None
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
            for write_rows in outbox:
                write_rows(conn)
            return first

        first = await self.db.write(write, rows=len(rows) + len(events) + len(points))
        if first is None:
            return None
        if any(len(row) == 4 for row in rows):
            lines = [(run_id, seq, row[3] if len(row) == 4 else ts, *row[:3])
                     for seq, row in enumerate(rows, first)]
        else:
            # zip, not a comprehension: this runs once per log line on the ingest path.
            lines = list(zip(repeat(run_id), count(first), repeat(ts), *zip(*rows, strict=True),
                             strict=False)) if rows else []
        numbered = [(seq, kind, data) for seq, (kind, data)
                    in enumerate(events, first + len(rows))]
        return Committed(ts=ts, lines=lines, events=numbered)

    async def stored_after(self, run_id: str, after: int, limit: int,
                           max_bytes: int | None = None) -> list[StoredLine | StoredEvent]:
        r"""Log rows (:data:`StoredLine`) and :class:`StoredEvent`\ s after ``after``, in
        sequence order. One statement, so one snapshot: two
        queries could each see a different commit and skip what lies between. With
        ``max_bytes``, rows stop once their text passes it (one row at least); they are
        fetched a few at a time, so no more than that is read into memory."""
        found: list[StoredLine | StoredEvent] = []
        size = 0
        async with self.db.reader() as conn, conn.execute(
                "SELECT seq, NULL, ts, stream, level, message FROM log_lines "
                "WHERE run_id = ?1 AND seq > ?2 "
                "UNION ALL SELECT seq, type, data, NULL, NULL, NULL FROM run_events "
                "WHERE run_id = ?1 AND seq > ?2 ORDER BY 1 LIMIT ?3",
                (run_id, after, limit)) as cursor:
            while rows := await cursor.fetchmany(512):
                for row in rows:
                    found.append((run_id, row[0], row[2], row[3], row[4], row[5])
                                 if row[1] is None else StoredEvent(row[0], row[1], row[2]))
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
