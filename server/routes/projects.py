"""``/projects``: create, list, read and change training projects."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.types import ASGIApp

from common.models import Project, ProjectCreate, ProjectStatus, ProjectSummary, ProjectUpdate

from ..services import projects as service
from ..services import tidying
from ..services.projects import ProjectFilter
from ..state import Services
from .encoded import EncodedJSON
from .openapi import responses
from .roles import role

Svc = NamedDependency[Services]

Ref = Annotated[str, PathParameter(description="Project id (proj_...) or exact name, URL-encoded",
                               max_length=200)]


class ProjectController(Controller):
    path = "/projects"
    tags = ["projects"]

    @post(operation_id="createProject", **role("operator"), responses=responses(400, 401, 409))
    async def create(self, services: Svc, data: JSONBody[ProjectCreate]) -> Project:
        """Create a training project; its name must be unique."""
        return await service.create_project(projects=services.projects,
                                            changes=services.changes, data=data)

    @get(operation_id="listProjects", **role("viewer"), responses={
        200: ResponseSpec(list[ProjectSummary], description="Project summaries; the `ETag` "
                          "header names this listing"),
        304: ResponseSpec(None, description="The request's `If-None-Match` header named this "
                          "listing's `ETag`: nothing changed since"),
        **responses(400, 401)})
    async def list(
        self, services: Svc, request: Request[Any, Any, Any],
        status: FromQuery[ProjectStatus | None] = None,
        owner: Annotated[str | None, QueryParameter(
            max_length=100, description="Exact owner; `me`: the caller's user name")] = None,
        tag: Annotated[str | None, QueryParameter(max_length=50)] = None,
        q: Annotated[str | None, QueryParameter(max_length=200,
                                           description="Free text over name, description, "
                                                       "objective, owner, task type, tags")] = None,
    ) -> ASGIApp:
        """Project summaries, newest first; ``?owner=me`` lists the caller's."""
        if owner == "me":
            owner = request.user.name
        filters = ProjectFilter(status=status, owner=owner, tag=tag, q=q)
        listing = await service.list_projects(projects=services.projects, filters=filters)
        return EncodedJSON(listing)

    @get("/{project_reference:str}", operation_id="getProject", **role("viewer"),
         responses=responses(401, 404))
    async def read(self, services: Svc, project_reference: Ref) -> Project:
        """One project by id or name, with its runs newest first."""
        return await service.get_project(projects=services.projects, runs=services.runs,
                                         ref=project_reference)

    @patch("/{project_reference:str}", operation_id="updateProject", **role("operator"),
           responses=responses(400, 401, 404, 409))
    async def update(self, services: Svc, project_reference: Ref,
                     data: JSONBody[ProjectUpdate]) -> Project:
        """Change fields; ``status`` archives or unarchives; ``name`` renames."""
        return await service.update_project(projects=services.projects, runs=services.runs,
                                            changes=services.changes, ref=project_reference,
                                            data=data)

    @delete("/{project_reference:str}", operation_id="deleteProject", **role("operator"),
            responses=responses(401, 404, 409))
    async def remove(self, services: Svc, project_reference: Ref) -> None:
        """Delete the project with its runs, their logs and metrics (never files on disk);
        409 while a run is live."""
        await tidying.delete_project(projects=services.projects, tidying=services.tidying,
                                     changes=services.changes, ref=project_reference)
