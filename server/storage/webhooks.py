"""Webhooks, and their deliveries as an outbox: a delivery row is written by the same
transaction as the change it tells of (:func:`outbox_rows`), then sent by
:mod:`server.services.webhooks`, which records each attempt here."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from common.team import Delivery, DeliveryAttempt, Webhook

from .db import Database, now_iso

__all__ = ["DueDelivery", "OutboxWrite", "WebhookRepository", "outbox_rows"]

OutboxWrite = Callable[[sqlite3.Connection], int]  # runs inside the change's transaction
_list = msgspec.json.Decoder(list[str]).decode


class DueDelivery(msgspec.Struct, frozen=True):
    id: str
    webhook_id: str
    event: str
    payload: str
    created_s: float
    attempts: int


def _hook(row: Any) -> Webhook:
    return Webhook(id=row["id"], url=row["url"], events=_list(row["events"]),
                   format=row["format"], project_id=row["project_id"],
                   has_secret=row["secret"] is not None, created_by=row["created_by"],
                   created_at=row["created_at"])


def _run_payload(conn: sqlite3.Connection, event: str, run_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT r.id, r.project_id, p.name, r.status, r.exit_code, r.status_message, "
        "r.metrics, r.started_at, r.completed_at, r.created_by, r.stop_requested_by, "
        "r.kept_artifact_id, r.gpus, r.stalled_since, "
        "(SELECT name FROM artifacts WHERE id = r.kept_artifact_id) "
        "FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = ?", (run_id,)
    ).fetchone()
    if row is None or (event == "run.queued" and row[12] is None):
        return None  # run.queued: only runs that wait for GPUs
    metrics = json.loads(row[6] or "{}")
    loss = metrics.get("loss")
    return {"event": event, "project": {"id": row[1], "name": row[2]},
            "run": {"id": row[0], "status": row[3], "exit_code": row[4],
                    "message": row[5], "loss": loss if isinstance(loss, int | float) else None,
                    "started_at": row[7], "completed_at": row[8], "created_by": row[9],
                    "stop_requested_by": row[10], "kept_checkpoint": row[14],
                    "stalled_since": row[13]},
            "timestamp": now_iso()}


def _insert(conn: sqlite3.Connection, webhook_id: str, event: str, payload: dict[str, Any]
            ) -> None:
    now = time.time()
    conn.execute(
        "INSERT INTO webhook_deliveries (id, webhook_id, event, payload, created_at, "
        "created_s, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (f"dlv_{uuid.uuid4().hex}", webhook_id, event, json.dumps(payload), now_iso(), now,
         now))


def outbox_rows(event: str, run_id: str) -> OutboxWrite:
    """Write one delivery per webhook that wants ``event`` for the run's project (the count)."""
    def write(conn: sqlite3.Connection) -> int:
        hooks = [(hid, project) for hid, events, project in conn.execute(
            "SELECT id, events, project_id FROM webhooks") if event in _list(events)]
        if not hooks:
            return 0
        payload = _run_payload(conn, event, run_id)
        if payload is None:
            return 0
        wanted = [hid for hid, project in hooks
                  if project is None or project == payload["project"]["id"]]
        for hid in wanted:
            _insert(conn, hid, event, payload)
        return len(wanted)
    return write


class WebhookRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, *, url: str, events: list[str], project_id: str | None, fmt: str,
                  secret: str | None, created_by: str | None) -> Webhook:
        hook_id = f"wh_{uuid.uuid4().hex[:12]}"
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO webhooks (id, url, events, project_id, format, secret, created_by, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (hook_id, url, json.dumps(events), project_id, fmt, secret, created_by,
                 now_iso()))
        found = await self.get(hook_id)
        assert found is not None
        return found

    async def get(self, hook_id: str) -> Webhook | None:
        row = await self.db.fetch_one("SELECT * FROM webhooks WHERE id = ?", (hook_id,))
        return _hook(row) if row else None

    async def target(self, hook_id: str) -> tuple[str, str, str | None] | None:
        """(url, format, secret) of a webhook, for sending."""
        row = await self.db.fetch_one("SELECT url, format, secret FROM webhooks WHERE id = ?",
                                      (hook_id,))
        return (row[0], row[1], row[2]) if row else None

    async def all(self) -> list[Webhook]:
        return [_hook(row) for row in await self.db.fetch_all(
            "SELECT * FROM webhooks ORDER BY created_at")]

    async def remove(self, hook_id: str) -> bool:
        async with self.db.transaction() as tx:
            cur = await tx.execute("DELETE FROM webhooks WHERE id = ?", (hook_id,))
            await tx.execute("UPDATE webhook_deliveries SET state = 'failed' "
                             "WHERE webhook_id = ? AND state = 'pending'", (hook_id,))
            return cur.rowcount == 1

    async def enqueue(self, hook_id: str, event: str, payload: dict[str, Any]) -> str:
        def write(conn: sqlite3.Connection) -> str:
            _insert(conn, hook_id, event, payload)
            row = conn.execute("SELECT id FROM webhook_deliveries WHERE webhook_id = ? "
                               "ORDER BY rowid DESC LIMIT 1", (hook_id,)).fetchone()
            return str(row[0])
        return await self.db.write(write, rows=1)

    async def due(self, now: float, limit: int, webhook_id: str | None = None
                  ) -> list[DueDelivery]:
        sql = ("SELECT id, webhook_id, event, payload, created_s, attempts FROM "
               "webhook_deliveries WHERE state = 'pending' AND next_at <= ?")
        params: list[Any] = [now]
        if webhook_id is not None:
            sql += " AND webhook_id = ?"
            params.append(webhook_id)
        rows = await self.db.fetch_all(sql + " ORDER BY next_at, rowid LIMIT ?", (*params, limit))
        return [DueDelivery(*tuple(row)) for row in rows]

    async def next_due(self) -> float | None:
        row = await self.db.fetch_one(
            "SELECT min(next_at) FROM webhook_deliveries WHERE state = 'pending'")
        return float(row[0]) if row and row[0] is not None else None

    async def attempted(self, delivery_id: str, *, status_code: int | None, error: str | None,
                        duration_ms: float, state: str, next_at: float) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms)"
                " VALUES (?, ?, ?, ?, ?)", (delivery_id, now_iso(), status_code, error,
                                            duration_ms))
            await tx.execute(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?, next_at = ? "
                "WHERE id = ?", (state, next_at, delivery_id))

    async def deliveries(self, hook_id: str, limit: int) -> list[Delivery]:
        rows = await self.db.fetch_all(
            "SELECT id, webhook_id, event, state, created_at FROM webhook_deliveries "
            "WHERE webhook_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (hook_id, limit))
        found = [Delivery(id=r[0], webhook_id=r[1], event=r[2], state=r[3], created_at=r[4])
                 for r in rows]
        if found:
            marks = ", ".join("?" for _ in found)
            attempts = await self.db.fetch_all(
                "SELECT delivery_id, at, status_code, error, duration_ms FROM webhook_attempts "
                f"WHERE delivery_id IN ({marks}) ORDER BY rowid", [d.id for d in found])
            by_id = {d.id: d for d in found}
            for a in attempts:
                by_id[a[0]].attempts.append(DeliveryAttempt(
                    at=a[1], status_code=a[2], error=a[3], duration_ms=a[4]))
        return found

    async def delivery(self, delivery_id: str) -> Delivery | None:
        row = await self.db.fetch_one(
            "SELECT webhook_id FROM webhook_deliveries WHERE id = ?", (delivery_id,))
        if row is None:
            return None
        return next((d for d in await self.deliveries(row[0], 1000) if d.id == delivery_id),
                    None)
