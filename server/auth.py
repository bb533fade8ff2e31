"""Bearer-token auth: who is asking, and whether their role allows the route.

Every user has a token; only its sha256 is stored (``api_tokens``). ``TRAINYARD_TOKEN``,
when set, is also accepted, as user ``admin`` with role admin (it pins the admin's token:
``trainyard token`` then refuses to rotate). Otherwise the first start generates the
``admin`` token and prints it once.

Accepted hashes are cached and re-read at most every :data:`REFRESH_SECONDS`, so a token
revoked or rotated by the CLI in another process stops working on a running server within
5 s; a change made over HTTP drops the cache at once. Open streams re-check their token
every :data:`STREAM_CHECK_SECONDS` and end when it is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import parse_qs

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from common.team import ROLES, Role

from .errors import Forbidden, TrainyardError, Unauthorized
from .scope_headers import header
from .services.audit import AuditLog
from .services.streaming.response import REVOKED_KEY
from .storage.db import Database
from .storage.users import UserRepository

__all__ = [
    "REVOKED_KEY",
    "Principal",
    "TokenAuth",
    "TokenMiddleware",
    "generate_token",
    "hash_token",
    "rotate_token",
]

REFRESH_SECONDS = 4.0
STREAM_CHECK_SECONDS = 0.5
ADMIN = "admin"
DOCS_PATH = "/schema"  # the OpenAPI document and its pages, open to all


class Principal(msgspec.Struct, frozen=True):
    """The user a request acts for."""

    name: str
    role: Role

    def allows(self, needed: Role) -> bool:
        return _RANK[self.role] >= _RANK[needed]


_RANK = {role: rank for rank, role in enumerate(ROLES)}
_PINNED = Principal(ADMIN, "admin")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate_token() -> str:
    return "ty_" + secrets.token_urlsafe(32)


async def rotate_token(db: Database, name: str = ADMIN, *, create_role: Role | None = "admin"
                       ) -> str | None:
    """A fresh token for user ``name`` (made, with ``create_role``, when missing); the old
    one stops working. Returned once; None when there is no such user."""
    token = generate_token()
    user = await UserRepository(db).set_token(name, hash_token(token), create_role=create_role)
    return token if user else None


class TokenAuth:
    """Checks ``Authorization: Bearer <token>`` and says who it belongs to."""

    def __init__(self, db: Database, env_token: str | None) -> None:
        self.users = UserRepository(db)
        self._env_hash = hash_token(env_token) if env_token else None
        self._known: dict[str, Principal] = {}
        self._loaded_at = float("-inf")

    @property
    def pinned(self) -> bool:
        return self._env_hash is not None

    def is_pinned(self, digest: str) -> bool:
        """The token is ``TRAINYARD_TOKEN``'s, which no one can revoke."""
        return self._env_hash is not None and hmac.compare_digest(digest, self._env_hash)

    async def ensure_token(self) -> str | None:
        """On a first start with no token configured, create the admin's and return it."""
        if self._env_hash is not None or await self.users.tokens():
            return None
        return await rotate_token(self.users.db)

    def forget(self) -> None:
        """Re-read tokens on the next check (a user or token changed here)."""
        self._loaded_at = float("-inf")

    async def _refresh(self) -> None:
        self._known = {digest: Principal(name, role)
                       for digest, name, role in await self.users.tokens()}
        self._loaded_at = time.monotonic()

    async def lookup(self, digest: str) -> Principal | None:
        if self.is_pinned(digest):
            return _PINNED
        age = time.monotonic() - self._loaded_at
        if age > REFRESH_SECONDS or (digest not in self._known and age > 1.0):
            await self._refresh()
        return self._known.get(digest)

    async def check(self, header: str | None) -> tuple[Principal, str]:
        """The caller and their token's hash; :class:`Unauthorized` when unknown."""
        if not header:
            raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <token>'")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Authorization must be 'Bearer <token>'")
        digest = hash_token(token)
        principal = await self.lookup(digest)
        if principal is None:
            raise Unauthorized("invalid token")
        return principal, digest


def authorization(scope: Scope) -> str | None:
    """The request's ``Authorization`` header."""
    return header(scope, b"authorization")


class Rule(msgspec.Struct, frozen=True):
    """What the middleware needs to know of a route, worked out once per route."""

    public: bool  # no token asked: ``opt={"public": True}`` and the API docs
    role: Role  # the role it needs; a route that names none is admin's
    action: str  # its name in the audit trail
    query_token: bool  # an event stream: ``?access_token=`` also counts

    @classmethod
    def of(cls, handler: Any) -> Rule:
        role = handler.opt.get("role")
        return cls(public=bool(handler.opt.get("public")) or any(
                       getattr(layer, "path", None) == DOCS_PATH
                       for layer in handler.ownership_layers),
                   role=role if role in ROLES else "admin",
                   action=str(getattr(handler, "operation_id", None) or handler.handler_name),
                   query_token=bool(handler.opt.get("query_token")))


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


_MUTATIONS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class TokenMiddleware:
    """Requires a token with the route's role on every HTTP route but those marked
    ``opt={"public": True}`` and the API docs, and records mutations and refusals in the
    audit trail.

    A plain ASGI middleware factory (Litestar calls it once per route with the route's
    app), not a guard and not an ``ASGIMiddleware``: Litestar copies the handler for every
    guard call, and ``ASGIMiddleware`` matches exclusion patterns on every request, both
    of which showed in the ``GET /projects`` benchmark. What it reads of a route is
    worked out once per route (:class:`Rule`)."""

    def __init__(self, auth: TokenAuth, audit: AuditLog) -> None:
        self.auth = auth
        self.audit = audit
        self._rules: dict[int, Rule] = {}  # by id() of the route handler, which lives as long

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            await self.handle(scope, receive, send, app)

        return middleware

    def rule(self, handler: Any) -> Rule:
        rule = self._rules.get(id(handler))
        if rule is None:
            rule = self._rules[id(handler)] = Rule.of(handler)
        return rule

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        rule = self.rule(scope["route_handler"])
        if rule.public:
            await next_app(scope, receive, send)
            return
        header = authorization(scope)
        if header is None and rule.query_token:
            # EventSource cannot send headers: stream routes also take ?access_token=.
            token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(
                "access_token")
            header = f"Bearer {token[0]}" if token else None
        principal: Principal | None = None
        try:
            principal, digest = await self.auth.check(header)
            if not principal.allows(rule.role):
                raise Forbidden(f"this needs role {rule.role}; user {principal.name!r} is "
                                f"{principal.role}", details={"role_needed": rule.role,
                                                              "role": principal.role})
        except TrainyardError as exc:
            self.audit.refused(actor=principal.name if principal else None, action=rule.action,
                               target=scope["path"], outcome=exc.code,
                               status=exc.status_code, client=_client(scope))
            raise
        scope["user"] = principal
        if rule.query_token and not self.auth.is_pinned(digest):
            await self._watched(scope, receive, send, next_app, digest)
        elif scope.get("method") in _MUTATIONS:
            await self._audited(scope, receive, send, next_app, principal, rule.action)
        else:
            await next_app(scope, receive, send)

    async def _audited(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp,
                       principal: Principal, action: str) -> None:
        seen: dict[str, Any] = {"status": 500, "code": None}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif message["type"] == "http.response.body" and seen["status"] >= 400 \
                    and seen["code"] is None:
                with contextlib.suppress(msgspec.DecodeError, AttributeError):
                    seen["code"] = msgspec.json.decode(message.get("body", b"")).get("code")
            await send(message)

        try:
            await next_app(scope, receive, sending)
        finally:
            status = int(seen["status"])
            outcome = "ok" if status < 400 else str(seen["code"] or f"http_{status}")
            await self.audit.record(actor=principal.name, action=action, target=scope["path"],
                                    outcome=outcome, status=status, client=_client(scope))

    async def _watched(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp,
                       digest: str) -> None:
        """A stream ends when its token is revoked or rotated."""
        revoked = asyncio.Event()
        scope[REVOKED_KEY] = revoked  # type: ignore[literal-required]

        async def watch() -> None:
            while await self.auth.lookup(digest) is not None:  # noqa: ASYNC110 (polls the store)
                await asyncio.sleep(STREAM_CHECK_SECONDS)
            revoked.set()

        watcher = asyncio.create_task(watch(), name="token-watch")
        try:
            await next_app(scope, receive, send)
        finally:
            watcher.cancel()
