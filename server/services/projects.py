"""Project use cases: create, list, read, change."""

from __future__ import annotations

from typing import Any

import msgspec

from common.models import Project, ProjectCreate, ProjectSummary, ProjectUpdate

from ..errors import Conflict, NotFound
from ..storage.projects import EncodedListing, NameTaken, ProjectFilter, ProjectRepository
from ..storage.runs import RunRepository
from .names import new_id
from .streaming.events import RingChannel

__all__ = ["EncodedListing", "ProjectFilter", "create_project", "get_project", "list_projects",
           "require_project", "update_project"]


def _name_taken(name: str) -> Conflict:
    return Conflict(f"a project named {name!r} already exists", code="project_exists",
                    details={"name": name})


async def create_project(*, projects: ProjectRepository, changes: RingChannel,
                         data: ProjectCreate) -> Project:
    if await projects.name_taken(data.name):
        raise _name_taken(data.name)
    try:
        summary = await projects.insert(new_id("proj"), data)
    except NameTaken:  # another create of this name won the race since the check above
        raise _name_taken(data.name) from None
    changes.publish("project.created", msgspec.json.encode(summary))
    return Project(**_fields(summary), runs=[])


async def require_project(projects: ProjectRepository, ref: str) -> ProjectSummary:
    project = await projects.get(ref)
    if project is None:
        raise NotFound(f"no project with id or name {ref!r}", code="project_not_found",
                       details={"project": ref})
    return project


async def get_project(*, projects: ProjectRepository, runs: RunRepository, ref: str) -> Project:
    summary = await require_project(projects, ref)
    return Project(**_fields(summary), runs=await runs.list_for_project(summary.id))


async def list_projects(*, projects: ProjectRepository, filters: ProjectFilter
                        ) -> EncodedListing:
    """The listing, already encoded (it is the hottest read of list views and scripts)."""
    return await projects.list_encoded(filters)


async def update_project(*, projects: ProjectRepository, runs: RunRepository,
                         changes: RingChannel, ref: str, data: ProjectUpdate) -> Project:
    summary = await require_project(projects, ref)
    fields = data.changes()
    name = fields.get("name")
    if name is not None and name != summary.name and await projects.name_taken(name):
        raise _name_taken(name)
    try:
        await projects.update(summary.id, fields)
    except NameTaken:  # a create or rename of that name won the race since the check
        raise _name_taken(str(name)) from None
    project = await get_project(projects=projects, runs=runs, ref=summary.id)
    changes.publish("project.updated", msgspec.json.encode(project))
    return project


def _fields(summary: ProjectSummary) -> dict[str, Any]:
    return {f: getattr(summary, f) for f in summary.__struct_fields__}
