"""Project rows in and out, as msgspec Structs."""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

import msgspec

from common.models import ProjectCreate, ProjectSummary

from .db import Database, now_iso

__all__ = ["EncodedListing", "NameTaken", "ProjectFilter", "ProjectRepository"]

_COLUMNS = (
    "id, name, description, status, objective, task_type, owner, dataset_name, "
    "training_yaml_name, tags, container, workdir, output_dir, save_signal, runs_started, "
    "created_at, updated_at, gpus, nodes, stall_seconds"
)
_UPDATABLE = frozenset({
    "name", "description", "objective", "task_type", "owner", "dataset_name", "training_yaml_name",
    "tags", "status", "container", "workdir", "output_dir", "save_signal", "gpus",
    "nodes", "stall_seconds",
})
_json_decode = msgspec.json.Decoder(list[str]).decode


def _row_to_summary(row: sqlite3.Row) -> ProjectSummary:
    data = dict(row)
    data["tags"] = _json_decode(data["tags"])
    return msgspec.convert(data, ProjectSummary)


class NameTaken(Exception):
    """Another project has this name (the unique index said so: two creates raced)."""


class ProjectFilter(msgspec.Struct, kw_only=True):
    status: str | None = None
    owner: str | None = None
    tag: str | None = None
    q: str | None = None


class EncodedListing(msgspec.Struct, frozen=True):
    """A listing as the JSON bytes a client gets, and the entity tag naming those bytes
    (a hash of them: it stays right across restarts, when no version counter would)."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> EncodedListing:
        return cls(body, f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"')


class ProjectRepository:
    """Project rows. Listings are also kept encoded, keyed by their filters: this server
    is the only writer, so every write here (or a run that counts in ``runs_started``)
    simply drops them, and ``GET /projects`` costs no query while nothing changes."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._encoded: dict[tuple[str | None, ...], EncodedListing] = {}
        self._version = 0

    def changed(self) -> None:
        self._version += 1
        self._encoded.clear()

    async def list_encoded(self, filters: ProjectFilter) -> EncodedListing:
        """``list(filters)`` encoded, from the cache when nothing changed since."""
        key = (filters.status, filters.owner, filters.tag, filters.q)
        cached = self._encoded.get(key)
        if cached is None:
            version = self._version
            cached = EncodedListing.of(msgspec.json.encode(await self.list(filters)))
            if version == self._version:  # no write landed while we read
                if len(self._encoded) >= 256:
                    self._encoded.clear()
                self._encoded[key] = cached
        return cached

    async def insert(self, project_id: str, data: ProjectCreate) -> ProjectSummary:
        now = now_iso()
        try:
            async with self.db.transaction() as tx:
                await tx.execute(
                    f"INSERT INTO projects ({_COLUMNS}) VALUES "
                    "(?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                    (project_id, data.name, data.description, data.objective, data.task_type,
                     data.owner, data.dataset_name, data.training_yaml_name,
                     msgspec.json.encode(data.tags).decode(), data.container, data.workdir,
                     data.output_dir, data.save_signal, now, now, data.gpus, data.nodes,
                     data.stall_seconds),
                )
        except sqlite3.IntegrityError as exc:
            if "projects.name" in str(exc):
                raise NameTaken(data.name) from exc
            raise
        self.changed()
        project = await self.get(project_id)
        assert project is not None
        return project

    async def get(self, ref: str) -> ProjectSummary | None:
        """A project by id, or else by exact name."""
        row = await self.db.fetch_one(
            f"SELECT {_COLUMNS} FROM projects WHERE id = ?1 "
            f"UNION ALL SELECT {_COLUMNS} FROM projects WHERE name = ?1 LIMIT 1",
            (ref,),
        )
        return _row_to_summary(row) if row else None

    async def name_taken(self, name: str) -> bool:
        return await self.db.fetch_one("SELECT 1 FROM projects WHERE name = ?", (name,)) is not None

    async def list(self, filters: ProjectFilter) -> list[ProjectSummary]:
        where, params = [], []
        if filters.status:
            where.append("status = ?")
            params.append(filters.status)
        if filters.owner:
            where.append("owner = ?")
            params.append(filters.owner)
        if filters.tag:
            where.append("EXISTS (SELECT 1 FROM json_each(projects.tags) WHERE value = ?)")
            params.append(filters.tag)
        if filters.q:
            escaped = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = f"%{escaped}%"
            columns = ("name", "description", "objective", "owner", "task_type", "tags")
            where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")")
            params.extend([like] * len(columns))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS} FROM projects {clause} ORDER BY created_at DESC, rowid DESC",
            params,
        )
        return [_row_to_summary(row) for row in rows]

    async def update(self, project_id: str, changes: dict[str, Any]) -> None:
        if not changes:
            return
        unknown = set(changes) - _UPDATABLE
        assert not unknown, f"not updatable: {unknown}"
        values = {k: (msgspec.json.encode(v).decode() if k == "tags" else v)
                  for k, v in changes.items()}
        sets = ", ".join(f"{column} = ?" for column in values)
        try:
            async with self.db.transaction() as tx:
                await tx.execute(
                    f"UPDATE projects SET {sets}, updated_at = ? WHERE id = ?",
                    (*values.values(), now_iso(), project_id),
                )
        except sqlite3.IntegrityError as exc:
            if "projects.name" in str(exc):
                raise NameTaken(str(changes.get("name"))) from exc
            raise
        self.changed()
