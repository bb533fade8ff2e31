"""The audit trail's rows: one per mutation; refusals summarised per source and hour."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from common.team import AuditEntry

from .db import Database

__all__ = ["AuditRepository", "Refusal"]

# (first ts, last ts, actor, action, target, outcome, status, client, count, summary key)
Refusal = tuple[str, str, str | None, str, str, str, int, str, int, str]


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, ts: str, actor: str | None, action: str, target: str, outcome: str,
                  status: int, client: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO audit (ts, last_ts, actor, action, target, outcome, status, client)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (ts, ts, actor, action, target, outcome, status, client))

    async def add_refusals(self, rows: Sequence[Refusal]) -> None:
        """Count refusals into their summary rows (one per source, outcome and hour)."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO audit (ts, last_ts, actor, action, target, outcome, status, "
                "client, count, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (summary) DO UPDATE SET count = count + excluded.count, "
                "last_ts = excluded.last_ts, action = excluded.action, "
                "target = excluded.target, actor = coalesce(excluded.actor, actor)", rows)

    async def page(self, *, actor: str | None, action: str | None, target: str | None,
                   after: int, limit: int) -> list[AuditEntry]:
        where, params = ["id > ?"], [after]
        for column, value in (("actor", actor), ("action", action)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)  # type: ignore[arg-type]
        if target:
            where.append("instr(target, ?) > 0")
            params.append(target)  # type: ignore[arg-type]
        rows = await self.db.fetch_all(
            "SELECT id, ts, actor, action, target, outcome, status, client, count, last_ts "
            f"FROM audit WHERE {' AND '.join(where)} ORDER BY id LIMIT ?", (*params, limit))
        return [AuditEntry(**_entry(row)) for row in rows]

    async def purge(self, before: str) -> int:
        async with self.db.transaction() as tx:
            cur = await tx.execute("DELETE FROM audit WHERE last_ts < ?", (before,))
            return int(cur.rowcount)


def _entry(row: Any) -> dict[str, Any]:
    return dict(zip(("id", "ts", "actor", "action", "target", "outcome", "status", "client",
                     "count", "last_ts"), tuple(row), strict=True))
