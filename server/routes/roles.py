"""The role each route needs, declared where the route is: ``@get(..., **role("viewer"))``.

It lands in the handler's ``opt`` (the auth middleware enforces it; a route that declares
none needs admin) and in the OpenAPI document as the route's security requirement, whose
list names the role (OpenAPI 3.1 allows role names there for non-OAuth schemes).
"""

from __future__ import annotations

from typing import Any

from common.team import Role

__all__ = ["role"]


def role(needed: Role, **opt: Any) -> dict[str, Any]:
    return {"opt": {"role": needed, **opt}, "security": [{"BearerToken": [needed]}]}
