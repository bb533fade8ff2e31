"""The wire contract of team use: users and roles, the audit trail, webhooks."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

__all__ = [
    "EVENTS",
    "ROLES",
    "AuditEntry",
    "AuditPage",
    "Delivery",
    "DeliveryAttempt",
    "Role",
    "User",
    "UserCreate",
    "UserToken",
    "Webhook",
    "WebhookCreate",
    "WebhookEvent",
    "WebhookFormat",
]

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")  # each can do what the previous can
WebhookEvent = Literal["run.started", "run.completed", "run.failed", "run.canceled",
                       "run.paused", "run.stalled", "run.queued"]
EVENTS: tuple[str, ...] = WebhookEvent.__args__  # type: ignore[attr-defined]
WebhookFormat = Literal["json", "slack", "feishu", "dingtalk", "wecom"]
UserName = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                               description="Letters, digits, '.', '_', '-'")]
Url = Annotated[str, Meta(min_length=8, max_length=2000, pattern=r"^https?://[^\s]+$")]


class UserCreate(Struct, forbid_unknown_fields=True):
    name: UserName
    role: Role = "viewer"


class User(Struct, kw_only=True):
    name: str
    role: Role
    created_at: str


class UserToken(User, kw_only=True):
    """A new or rotated token: shown once, only its hash is kept."""

    token: str


class AuditEntry(Struct, kw_only=True):
    id: int
    ts: str
    actor: str | None
    action: str
    target: str
    outcome: str  # "ok", or the error code of a refusal
    status: int
    client: str
    count: int = 1  # refusals are summarised per source and hour
    last_ts: str | None = None


class AuditPage(Struct, kw_only=True):
    entries: list[AuditEntry]
    next_after: int  # pass as ?after= for the next page
    has_more: bool


class WebhookCreate(Struct, forbid_unknown_fields=True):
    url: Url
    events: Annotated[list[WebhookEvent], Meta(min_length=1, max_length=7)]
    format: WebhookFormat = "json"
    project: Annotated[str, Meta(min_length=1, max_length=200)] | None = None  # id or name
    secret: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


class Webhook(Struct, kw_only=True):
    id: str
    url: str
    events: list[str]
    format: WebhookFormat
    project_id: str | None
    has_secret: bool
    created_by: str | None
    created_at: str


class DeliveryAttempt(Struct, kw_only=True):
    at: str
    status_code: int | None
    error: str | None
    duration_ms: float


class Delivery(Struct, kw_only=True):
    id: str
    webhook_id: str
    event: str
    state: Literal["pending", "delivered", "failed"]
    created_at: str
    attempts: list[DeliveryAttempt] = msgspec.field(default_factory=list)
