"""``GET /audit`` (admin): who changed what, and who was refused, oldest first."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from common.team import AuditPage

from ..state import Services
from .openapi import responses
from .roles import role

Svc = NamedDependency[Services]
Text = Annotated[str | None, QueryParameter(max_length=200)]


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]

    @get(operation_id="listAudit", **role("admin"), responses=responses(400, 401))
    async def page(
        self, services: Svc, actor: Text = None, action: Text = None,
        target: Annotated[str | None, QueryParameter(
            max_length=200, description="Part of the path acted on")] = None,
        after: Annotated[int, QueryParameter(ge=0, le=2**63 - 1,
                                             description="Entries after this id")] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> AuditPage:
        """Mutations (``outcome`` ok or the error code) and refusals (401/403, one entry
        per source and hour with a ``count``), paged by id."""
        entries = await services.audit.repo.page(actor=actor, action=action, target=target,
                                                 after=after, limit=limit + 1)
        more = len(entries) > limit
        entries = entries[:limit]
        return AuditPage(entries=entries, next_after=entries[-1].id if entries else after,
                         has_more=more)
