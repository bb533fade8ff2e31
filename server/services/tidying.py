"""Tidying what users made: delete a project or an ended run, note and tag runs."""

from __future__ import annotations

import msgspec

from common.models import RunDetail, RunUpdate

from ..errors import Conflict
from ..storage.projects import ProjectRepository
from ..storage.tidying import Blocked, Tidying
from .projects import require_project
from .runs import RunService
from .streaming.events import RingChannel

__all__ = ["delete_project", "delete_run", "update_run"]


async def delete_project(*, projects: ProjectRepository, tidying: Tidying,
                         changes: RingChannel, ref: str) -> None:
    """The project and its runs' rows go; files on disk stay. Refused while a run is live."""
    project = await require_project(projects, ref)
    try:
        await tidying.delete_project(project.id)
    except Blocked as blocked:
        raise Conflict(f"project {project.name!r} has live runs ({', '.join(blocked.ids)}): "
                       "cancel or pause them first", code="project_has_live_runs",
                       details={"runs": blocked.ids}) from None
    projects.changed()
    changes.publish("project.deleted", msgspec.json.encode({"id": project.id,
                                                            "name": project.name}))


async def delete_run(*, runs: RunService, tidying: Tidying, changes: RingChannel,
                     project_ref: str, run_id: str) -> None:
    """An ended run's rows go (log, events, metrics, artifacts); files on disk stay."""
    run = await runs.require_run(project_ref, run_id)
    try:
        await tidying.delete_run(run.id)
    except Blocked as blocked:
        if blocked.reason == "live":
            raise Conflict(f"run {run.id} is still {run.status}: cancel it first",
                           code="run_live", details={"status": run.status}) from None
        raise Conflict(f"run {run.id} was resumed by {', '.join(blocked.ids)}: delete "
                       "those first (they name it as their parent)", code="run_has_resumes",
                       details={"runs": blocked.ids}) from None
    changes.publish("run.deleted", msgspec.json.encode({"run_id": run.id,
                                                        "project_id": run.project_id}))


async def update_run(*, runs: RunService, tidying: Tidying, project_ref: str, run_id: str,
                     data: RunUpdate) -> RunDetail:
    """Change the run's notes or tags, or its priority in the GPU queue; answer its
    detail."""
    run = await runs.require_run(project_ref, run_id)
    if data.priority is not msgspec.UNSET:
        await runs.set_priority(run, data.priority)
    await tidying.set_notes(run.id, data.changes())
    return await runs.get(run.project_id, run.id)
