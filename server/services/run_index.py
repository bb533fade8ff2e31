"""Listing runs across projects (``GET /runs``)."""

from __future__ import annotations

from common.models import RunPage

from ..errors import InvalidRequest
from ..storage.projects import ProjectRepository
from ..storage.run_listing import CursorUnknown, RunListing
from .projects import require_project

__all__ = ["list_runs"]


async def list_runs(*, listing: RunListing, projects: ProjectRepository, status: str | None,
                    project: str | None, limit: int, after: str | None,
                    created_by: str | None = None) -> RunPage:
    project_id = (await require_project(projects, project)).id if project else None
    try:
        runs, next_after = await listing.page(status=status, project_id=project_id,
                                              created_by=created_by, limit=limit, after=after)
    except CursorUnknown:
        raise InvalidRequest(f"`after` is not the id of a run: {after!r} (pass the "
                             "`next_after` of the previous page)", code="invalid_cursor",
                             details={"after": after}) from None
    return RunPage(runs=runs, next_after=next_after)
