"""``/users`` (admin): add, list, revoke users, and rotate a user's token."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from common.team import User, UserCreate, UserToken

from ..services import users as service
from ..state import Services
from .openapi import responses
from .roles import role

Svc = NamedDependency[Services]
Name = Annotated[str, PathParameter(max_length=64)]


class UserController(Controller):
    path = "/users"
    tags = ["users"]

    @get(operation_id="listUsers", **role("admin"), responses=responses(401))
    async def list(self, services: Svc) -> list[User]:
        """Every user and their role (never a token)."""
        return await service.list_users(auth=services.auth)

    @post(operation_id="createUser", **role("admin"), responses=responses(400, 401, 409))
    async def create(self, services: Svc, data: JSONBody[UserCreate]) -> UserToken:
        """A new user; the response holds their token, shown this once."""
        return await service.add_user(auth=services.auth, data=data)

    @delete("/{name:str}", operation_id="revokeUser", **role("admin"),
            responses=responses(401, 404, 409))
    async def revoke(self, services: Svc, name: Name, request: Request[Any, Any, Any]) -> None:
        """Remove a user: their token stops working, open streams included, within 5 s."""
        await service.revoke_user(auth=services.auth, name=name, caller=request.user.name)

    @post("/{name:str}/token", operation_id="rotateUserToken", **role("admin"),
          status_code=200, responses=responses(401, 404))
    async def rotate(self, services: Svc, name: Name) -> UserToken:
        """A new token for the user (shown once); the old one stops working."""
        return await service.rotate_user(auth=services.auth, name=name)
