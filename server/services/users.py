"""Users and their tokens: add, list, revoke, rotate. A token is shown once; only its
sha256 is kept. Changes made here reach the running server's token cache at once."""

from __future__ import annotations

from common.team import Role, User, UserCreate, UserToken

from ..auth import TokenAuth, generate_token, hash_token
from ..errors import Conflict, NotFound

__all__ = ["add_user", "list_users", "revoke_user", "rotate_user"]


async def list_users(*, auth: TokenAuth) -> list[User]:
    return await auth.users.list()


async def add_user(*, auth: TokenAuth, data: UserCreate) -> UserToken:
    token = generate_token()
    user = await auth.users.add(data.name, data.role, hash_token(token))
    if user is None:
        raise Conflict(f"user {data.name!r} exists; rotate its token with "
                       f"POST /users/{data.name}/token", code="user_exists",
                       details={"name": data.name})
    auth.forget()
    return UserToken(name=user.name, role=user.role, created_at=user.created_at, token=token)


async def rotate_user(*, auth: TokenAuth, name: str) -> UserToken:
    token = generate_token()
    user = await auth.users.set_token(name, hash_token(token))
    if user is None:
        raise NotFound(f"no user {name!r}", code="user_not_found", details={"name": name})
    auth.forget()
    return UserToken(name=user.name, role=user.role, created_at=user.created_at, token=token)


async def revoke_user(*, auth: TokenAuth, name: str, caller: str) -> None:
    users = {user.name: user.role for user in await auth.users.list()}
    role: Role | None = users.get(name)
    if role is None:
        raise NotFound(f"no user {name!r}", code="user_not_found", details={"name": name})
    if role == "admin" and sum(r == "admin" for r in users.values()) == 1 and not auth.pinned:
        raise Conflict(f"{name!r} is the last admin; add another admin first",
                       code="last_admin", details={"name": name, "caller": caller})
    await auth.users.remove(name)
    auth.forget()
