"""Bearer-token auth.

The token is ``TRAINYARD_TOKEN`` when set. Otherwise the first start generates one,
stores only its sha256 in ``api_tokens`` and prints it once; ``trainyard token`` rotates
it. Rows carry a name and a role so per-user tokens can come later without a migration.

Accepted hashes are cached and re-read at most every few seconds (a token rotated by the
CLI in another process takes effect on a running server within ``_REFRESH_SECONDS``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qs

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from .errors import Unauthorized
from .storage.db import Database, now_iso

__all__ = ["TokenAuth", "TokenMiddleware", "generate_token", "hash_token", "rotate_token"]

_REFRESH_SECONDS = 5.0
_DEFAULT_NAME = "default"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate_token() -> str:
    return "ty_" + secrets.token_urlsafe(32)


async def rotate_token(db: Database) -> str:
    """Replace the default stored token with a fresh one and return it (shown once)."""
    token = generate_token()
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM api_tokens WHERE name = ?", (_DEFAULT_NAME,))
        await tx.execute(
            "INSERT INTO api_tokens (name, token_hash, role, created_at) VALUES (?, ?, 'admin', ?)",
            (_DEFAULT_NAME, hash_token(token), now_iso()),
        )
    return token


class TokenAuth:
    """Checks ``Authorization: Bearer <token>``; use :meth:`guard` as a Litestar guard."""

    def __init__(self, db: Database, env_token: str | None) -> None:
        self.db = db
        self._env_hash = hash_token(env_token) if env_token else None
        self._hashes: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")

    async def ensure_token(self) -> str | None:
        """On a first start with no token configured, create one and return it."""
        if self._env_hash is not None:
            return None
        if await self.db.fetch_one("SELECT 1 FROM api_tokens LIMIT 1") is not None:
            return None
        return await rotate_token(self.db)

    async def _refresh(self) -> None:
        rows = await self.db.fetch_all("SELECT token_hash FROM api_tokens")
        self._hashes = frozenset(row[0] for row in rows)
        self._loaded_at = time.monotonic()

    async def check(self, header: str | None) -> None:
        if not header:
            raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <token>'")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Authorization must be 'Bearer <token>'")
        digest = hash_token(token)
        if self._env_hash is not None:
            if hmac.compare_digest(digest, self._env_hash):
                return
            raise Unauthorized("invalid token")
        stale = time.monotonic() - self._loaded_at > _REFRESH_SECONDS
        if stale or (digest not in self._hashes and time.monotonic() - self._loaded_at > 1.0):
            await self._refresh()
        if digest not in self._hashes:
            raise Unauthorized("invalid token")



def authorization(scope: Scope) -> str | None:
    """The request's ``Authorization`` header, straight from the ASGI scope."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return None


class TokenMiddleware(ASGIMiddleware):
    """Requires the token on every HTTP route but those marked ``opt={"public": True}``
    and the API docs. A middleware, not a guard: Litestar copies the handler for every
    guard call, which showed in the ``GET /projects`` benchmark."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "public"
    exclude_path_pattern = ("^/schema",)

    def __init__(self, auth: TokenAuth) -> None:
        self.auth = auth

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        header = authorization(scope)
        if header is None and scope["route_handler"].opt.get("query_token"):
            # EventSource cannot send headers: stream routes also take ?access_token=.
            token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(
                "access_token")
            header = f"Bearer {token[0]}" if token else None
        await self.auth.check(header)
        await next_app(scope, receive, send)
