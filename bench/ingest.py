"""Row 2: a run prints 1,000,000 lines of 120 characters; how fast do they reach the API?

Trainyard: from the ``POST .../runs`` until ``GET .../logs?after=<last-1>&limit=1``
(polled every 50 ms) returns the run's last stdout line (each line carries its number).
Afterwards the server's database is counted (read-only) to check that exactly 1,000,000
stdout lines were stored. The server's CPU share over the window is reported too.

Reference, same run, same machine, same file: the run's ``stdout.log`` read in 64 KiB
chunks, split into lines and inserted 1,000 at a time (one transaction each) into a fresh
SQLite file (WAL, synchronous=NORMAL) with the columns and key of ``log_lines``. That is
the least work any "tail a file into SQLite" design in Python has to do, with no event
loop, HTTP, or crash-safe offset bookkeeping; end to end at half its speed is the target.
"""

from __future__ import annotations

import asyncio
import shlex
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from common.client import TrainyardClient
from common.models import LogEntry, RunCreate

from . import interrupt
from .machine import CpuMeter
from .servers import Process, Workspace, own_output_dir
from .table import Row

__all__ = ["LINES", "measure"]

LINES = 1_000_000
WIDTH = 120
POLL = 0.05
TIMEOUT = 150.0
TARGET = 0.50
READ_CHUNK = 64 << 10
BATCH = 1_000

_PAD = "x" * (WIDTH - 8)
# One line: a 7-digit number, a space, padding to WIDTH characters.
_PRINTER = (
    "import sys\n"
    f"pad = {_PAD!r}\n"
    f"for start in range(0, {LINES}, 10000):\n"
    "    sys.stdout.write(''.join(f'{i:07d} {pad}\\n' for i in range(start, start + 10000)))\n"
)


def last_line() -> str:
    return f"{LINES - 1:07d} {_PAD}"


@dataclass(frozen=True)
class Ingest:
    run_id: str
    seconds: float
    cpu_percent: float
    printer_seconds: float | None  # when stdout.log reached its full size
    stdout_log: Path

    @property
    def lines_per_s(self) -> float:
        return LINES / self.seconds


@dataclass(frozen=True)
class Reference:
    seconds: float
    cpu_percent: float

    @property
    def lines_per_s(self) -> float:
        return LINES / self.seconds


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _index(entry: LogEntry) -> int | None:
    """The printer's line number carried by a stdout entry (None for other entries)."""
    head = entry.message[:7]
    return int(head) if entry.stream == "stdout" and head.isdigit() else None


class _Poller:
    """Finds the last line by seq. Seqs are shared with the run's events (status, ...),
    so the guess ``first seq + LINES - 1`` is corrected by the line number each stdout
    entry carries whenever events turn out to sit between lines."""

    def __init__(self, client: TrainyardClient, project: str, run_id: str,
                 log_file: Path, t0: float) -> None:
        self.client, self.project, self.run_id = client, project, run_id
        self.log_file, self.t0 = log_file, t0
        self.printer_done: float | None = None

    async def _entry_after(self, after: int, limit: int = 1) -> list[LogEntry]:
        interrupt.check()
        if self.printer_done is None and _size(self.log_file) >= LINES * (WIDTH + 1):
            self.printer_done = time.perf_counter() - self.t0
        if time.perf_counter() - self.t0 > TIMEOUT:
            raise TimeoutError(f"the last line was not served within {TIMEOUT:g} s")
        page = await self.client.logs(self.project, self.run_id, after=after, limit=limit)
        return page.entries

    async def first_seq(self) -> int:
        while True:
            for entry in await self._entry_after(0, 50):
                if _index(entry) is not None:
                    if _index(entry) != 0:
                        raise RuntimeError(f"the first stdout line is {entry.message[:20]!r}")
                    return entry.seq
            await asyncio.sleep(POLL)

    async def last_line(self, guess: int) -> None:
        while True:
            entries = await self._entry_after(guess - 1)
            if entries:
                entry = entries[0]
                index = _index(entry)
                if index == LINES - 1 and entry.message == last_line():
                    return
                if index is None or index >= LINES - 1:
                    raise RuntimeError(f"seq {entry.seq} holds {entry.stream} "
                                       f"{entry.message[:40]!r}, not the last line printed")
                guess = entry.seq + (LINES - 1 - index)  # events sat between lines
                continue
            await asyncio.sleep(POLL)


async def _wait_finished(client: TrainyardClient, project: str, run_id: str) -> None:
    for _ in range(200):
        interrupt.check()
        if (await client.get_run(project, run_id)).status != "running":
            return
        await asyncio.sleep(0.05)


def _check_stored(ws: Workspace, run_id: str) -> None:
    db = sqlite3.connect(f"file:{ws.data_dir / 'trainyard.db'}?mode=ro", uri=True)
    try:
        count, distinct = db.execute(
            "SELECT count(*), count(DISTINCT substr(message, 1, 7)) FROM log_lines "
            "WHERE run_id = ? AND stream = 'stdout'", (run_id,)).fetchone()
    finally:
        db.close()
    if count != LINES or distinct != LINES:
        raise RuntimeError(f"the server stored {count} stdout lines ({distinct} distinct), "
                           f"not {LINES}")


async def run_trainyard(ws: Workspace, server: Process, client: TrainyardClient,
                        project: str) -> Ingest:
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(_PRINTER)}"
    meter = CpuMeter(server.pid).start()
    t0 = time.perf_counter()
    run = await client.start_run(project, RunCreate(start_command=command,
                                                    output_dir=own_output_dir()))
    log_file = ws.data_dir / "runs" / run.id / "stdout.log"
    poller = _Poller(client, project, run.id, log_file, t0)
    await poller.last_line(await poller.first_seq() + LINES - 1)
    seconds = time.perf_counter() - t0
    cpu = meter.percent()
    await _wait_finished(client, project, run.id)
    _check_stored(ws, run.id)
    return Ingest(run.id, seconds, cpu, poller.printer_done, log_file)


_SCHEMA = """
CREATE TABLE log_lines (
    run_id  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    ts      TEXT NOT NULL,
    stream  TEXT NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"""


def _lines(path: Path) -> Iterator[str]:
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            data = tail + chunk
            end = data.rfind(b"\n")
            if end < 0:
                tail = data
                continue
            tail = data[end + 1:]
            yield from data[:end].decode("utf-8", "replace").split("\n")
    if tail:
        yield tail.decode("utf-8", "replace")


def _insert_all(db: sqlite3.Connection, run_id: str, path: Path) -> int:
    sql = "INSERT INTO log_lines (run_id, seq, ts, stream, level, message) VALUES (?,?,?,?,?,?)"
    batch: list[str] = []
    seq = 0

    def flush() -> None:
        nonlocal seq
        ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        db.execute("BEGIN IMMEDIATE")  # autocommit connection: one explicit txn per batch
        db.executemany(sql, [(run_id, n, ts, "stdout", "INFO", line)
                             for n, line in enumerate(batch, seq + 1)])
        db.execute("COMMIT")
        seq += len(batch)
        batch.clear()

    for line in _lines(path):
        batch.append(line)
        if len(batch) == BATCH:
            flush()
    if batch:
        flush()
    return seq


def run_reference(ws: Workspace, run_id: str, log_file: Path) -> Reference:
    db_path = ws.root / "reference.db"
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        cpu0, t0 = time.process_time(), time.perf_counter()
        count = _insert_all(db, run_id, log_file)
        seconds = time.perf_counter() - t0
        cpu = 100.0 * (time.process_time() - cpu0) / seconds
    finally:
        db.close()
    if count != LINES:
        raise RuntimeError(f"the reference read {count} lines from {log_file}, not {LINES}")
    return Reference(seconds, cpu)


def _rows(ours: Ingest, ref: Reference) -> list[Row]:
    ratio = ours.lines_per_s / ref.lines_per_s
    printer = (f"; the printer was done after {ours.printer_seconds:.1f} s"
               if ours.printer_seconds is not None else "")
    return [
        Row(f"log ingest end to end: {LINES:,} lines × {WIDTH} chars, POST → last line served "
            "(lines/s)",
            f"{ours.lines_per_s:,.0f} ({ours.seconds:.1f} s{printer})",
            f"{ref.lines_per_s:,.0f} ({ref.seconds:.1f} s: read 64 KiB, split, SQLite "
            f"insert {BATCH:,}/txn)", f"{ratio:.0%}", f"≥ {TARGET:.0%}", ratio >= TARGET),
        Row("log ingest: server CPU during that window (% of one core)",
            f"{ours.cpu_percent:.0f}%", f"{ref.cpu_percent:.0f}% (reference process)"),
    ]


async def measure(ws: Workspace, server: Process, client: TrainyardClient,
                  project: str) -> list[Row]:
    ours = await run_trainyard(ws, server, client, project)
    ref = run_reference(ws, ours.run_id, ours.stdout_log)
    return _rows(ours, ref)
