"""SQLite through aiosqlite: one writer at a time, a few readers, numbered migrations.

Writes go through :meth:`Database.transaction`: ``BEGIN IMMEDIATE`` under an asyncio
lock, so one request's commit or rollback never covers another's writes on the shared
writer connection. Readers (listings, log paging) use their own connections and, thanks
to WAL, never wait for the writer.

The hot write, a run's new log lines, goes through :meth:`Database.write` instead: one
plain function on a second writer connection, under the same lock. A small batch runs
right on the event loop's thread. On a worker thread, each statement (and each row of
an ``executemany``: sqlite3 lets go of the GIL around every step) has to win the GIL
back from the loop: idle, an append of 300 lines took 3 ms; with the loop writing to a
thousand stream clients, 45-80 ms (traced), and the clients waited for it. Inline it
takes about 0.5 ms of the loop. Big batches (a follower catching up) still go to a
thread, so the loop never stops for long; they insert their lines in one statement.
That connection does not checkpoint the WAL itself (file copying and fsync on the loop):
:meth:`write` starts a checkpoint at most once a second, off the loop. It copies the bulk
on a reader while writes go on, then the rest under the write lock: the WAL starts over
from its beginning only when a write finds it fully copied, and with writes landing during
every checkpoint it grew without end (100+ MiB in 8 s of steady appends). Held every
second, the lock kept the follower's commits waiting 4-52 ms; so the locked part runs only
once the WAL file passes :data:`WAL_RESTART_BYTES`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

__all__ = ["Database", "now_iso"]

log = logging.getLogger("trainyard.db")
T = TypeVar("T")
INLINE_ROWS = 2000  # a batch up to this many rows is written on the loop's own thread
CHECKPOINT_EVERY = 1.0  # seconds between passive checkpoints after direct writes
WAL_RESTART_BYTES = 16 << 20  # past this, finish a checkpoint under the write lock

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA journal_size_limit=4194304",  # a WAL that starts over is cut back to 4 MiB
)


def now_iso() -> str:
    """UTC now as ISO 8601 with milliseconds and a ``Z``, the format every row uses."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def migrations() -> list[tuple[int, str]]:
    """The numbered ``NNNN_name.sql`` files shipped with the package, in order."""
    folder = resources.files("server.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text("utf-8")))
    return sorted(found)


def _connect_direct(path: Path) -> sqlite3.Connection:
    # Used from the loop's thread or, for big batches, a worker thread: never both at
    # once (the write lock), hence check_same_thread off.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in (*_PRAGMAS, "PRAGMA wal_autocheckpoint=0"):
        conn.execute(pragma)
    return conn


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    for pragma in _PRAGMAS:
        await conn.execute(pragma)
    return conn


class Database:
    def __init__(self, path: Path, readers: int = 3) -> None:
        self.path = path
        self._reader_count = readers
        self._writer: aiosqlite.Connection | None = None
        self._direct: sqlite3.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._checkpointed = 0.0
        self._checkpoint: asyncio.Task[None] | None = None
        self._closing = False

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await _connect(self.path)
        await self._migrate(self._writer)
        self._direct = _connect_direct(self.path)
        for _ in range(self._reader_count):
            self._readers.put_nowait(await _connect(self.path))

    async def close(self) -> None:
        self._closing = True
        if self._checkpoint is not None:
            await self._checkpoint
        async with self._lock:
            if self._direct is not None:
                self._direct.close()
                self._direct = None
        while not self._readers.empty():
            await self._readers.get_nowait().close()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    @staticmethod
    async def _migrate(conn: aiosqlite.Connection) -> None:
        async with conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        current = row[0] if row else 0
        for number, sql in migrations():
            if number <= current:
                continue
            # executescript commits first; the version bump rides in the same script.
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;"
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        assert self._writer is not None, "database is not open"
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    async def write(self, fn: Callable[[sqlite3.Connection], T], rows: int) -> T:
        """``fn(conn)`` in one transaction on the direct writer connection: on the loop's
        thread when it writes at most :data:`INLINE_ROWS` rows, else on a worker thread."""
        assert self._direct is not None, "database is not open"
        async with self._lock:
            if rows <= INLINE_ROWS:
                result = self._run(fn)
            else:
                work = asyncio.ensure_future(asyncio.to_thread(self._run, fn))
                try:
                    result = await asyncio.shield(work)
                except asyncio.CancelledError:
                    # The transaction ends before the lock goes, however often we are
                    # cancelled meanwhile.
                    while not work.done():
                        with contextlib.suppress(asyncio.CancelledError):
                            await asyncio.wait([work])
                    raise
        now = time.monotonic()
        if now - self._checkpointed >= CHECKPOINT_EVERY and not self._closing and (
                self._checkpoint is None or self._checkpoint.done()):
            self._checkpointed = now
            self._checkpoint = asyncio.create_task(self._checkpoint_wal())
        return result

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._direct
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    async def _checkpoint_wal(self) -> None:
        """Copy the WAL into the database file: the bulk on a reader while writes go on,
        the rest under the write lock (see the module docstring)."""
        try:
            if self._reader_count:
                async with self.reader() as conn:
                    await conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            wal = self.path.with_name(self.path.name + "-wal")
            if wal.exists() and wal.stat().st_size > WAL_RESTART_BYTES:
                async with self._lock:
                    assert self._writer is not None
                    await self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as exc:  # the next one will do; the WAL only grows meanwhile
            log.warning("WAL checkpoint failed: %s", exc)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self.reader() as conn:
            return list(await conn.execute_fetchall(sql, tuple(params)))

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None
