"""Users: one row of ``api_tokens`` each (name, role, sha256 of the token)."""

from __future__ import annotations

from common.team import Role, User

from .db import Database, now_iso

__all__ = ["TokenRow", "UserRepository"]

TokenRow = tuple[str, str, Role]  # token hash, user name, role


class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def tokens(self) -> list[TokenRow]:
        rows = await self.db.fetch_all("SELECT token_hash, name, role FROM api_tokens")
        return [(row[0], row[1], row[2]) for row in rows]

    async def list(self) -> list[User]:
        rows = await self.db.fetch_all(
            "SELECT name, role, created_at FROM api_tokens ORDER BY name")
        return [User(name=row[0], role=row[1], created_at=row[2]) for row in rows]

    async def add(self, name: str, role: Role, token_hash: str) -> User | None:
        """A new user; None when the name is taken."""
        now = now_iso()
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "INSERT OR IGNORE INTO api_tokens (name, token_hash, role, created_at) "
                "VALUES (?, ?, ?, ?)", (name, token_hash, role, now))
            if cur.rowcount != 1:
                return None
        return User(name=name, role=role, created_at=now)

    async def set_token(self, name: str, token_hash: str, *, create_role: Role | None = None
                        ) -> User | None:
        """Replace a user's token (the old one stops working); with ``create_role``, make
        the user when missing. None when there is no such user."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE api_tokens SET token_hash = ? WHERE name = ?",
                             (token_hash, name))
            if create_role is not None:
                await tx.execute(
                    "INSERT OR IGNORE INTO api_tokens (name, token_hash, role, created_at) "
                    "VALUES (?, ?, ?, ?)", (name, token_hash, create_role, now_iso()))
            cur = await tx.execute("SELECT name, role, created_at FROM api_tokens WHERE name = ?",
                                   (name,))
            row = await cur.fetchone()
        return User(name=row[0], role=row[1], created_at=row[2]) if row else None

    async def remove(self, name: str) -> bool:
        async with self.db.transaction() as tx:
            cur = await tx.execute("DELETE FROM api_tokens WHERE name = ?", (name,))
            return cur.rowcount == 1

    async def admins(self) -> int:
        row = await self.db.fetch_one("SELECT count(*) FROM api_tokens WHERE role = 'admin'")
        return int(row[0]) if row else 0
