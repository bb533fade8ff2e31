"""Project use cases: create, list, read, change."""

from __future__ import annotations

from typing import Any

import msgspec

from common.models import Project, ProjectCreate, ProjectSummary, ProjectUpdate

from ..errors import Conflict, InvalidRequest, NotFound
from ..storage.projects import NameTaken, ProjectFilter, ProjectRepository
from ..storage.runs import RunRepository
from .events import RingChannel
from .names import check_plain_name, new_id

__all__ = ["create_project", "get_project", "list_projects", "require_project", "update_project"]

_ID_SHAPED = ("proj_", "run_", "art_", "ckpt_")


def _check_names(values: dict[str, Any]) -> None:
    name = values.get("name")
    if isinstance(name, str):
        if "/" in name or "\\" in name:
            raise InvalidRequest("`name` must not hold '/' or '\\': it is used in URLs",
                                 code="validation_failed", details={"field": "name"})
        if name.startswith(_ID_SHAPED):
            raise InvalidRequest(f"`name` must not start with an id prefix {_ID_SHAPED}",
                                 code="validation_failed", details={"field": "name"})
    for field in ("dataset_name", "training_yaml_name"):
        value = values.get(field)
        if isinstance(value, str):
            check_plain_name(field, value)


def _name_taken(name: str) -> Conflict:
    return Conflict(f"a project named {name!r} already exists", code="project_exists",
                    details={"name": name})


async def create_project(*, projects: ProjectRepository, changes: RingChannel,
                         data: ProjectCreate) -> Project:
    _check_names({"name": data.name, "dataset_name": data.dataset_name,
                  "training_yaml_name": data.training_yaml_name})
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


async def list_projects(*, projects: ProjectRepository, filters: ProjectFilter) -> bytes:
    """The listing, already encoded (it is the hottest read of list views and scripts)."""
    return await projects.list_encoded(filters)


async def update_project(*, projects: ProjectRepository, runs: RunRepository,
                         changes: RingChannel, ref: str, data: ProjectUpdate) -> Project:
    summary = await require_project(projects, ref)
    fields = data.changes()
    _check_names(fields)
    await projects.update(summary.id, fields)
    project = await get_project(projects=projects, runs=runs, ref=summary.id)
    changes.publish("project.updated", msgspec.json.encode(project))
    return project


def _fields(summary: ProjectSummary) -> dict[str, Any]:
    return {f: getattr(summary, f) for f in summary.__struct_fields__}
