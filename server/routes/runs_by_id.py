"""``/runs``: every run across projects, and each run by its id alone.

The same service calls as the project-scoped routes (:mod:`.runs`): a dependency finds
the run's project, so ``/runs/{id}/...`` and ``/projects/{p}/runs/{id}/...`` answer alike.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import Body, FromQuery, JSONBody, PathParameter, QueryParameter

from common.models import (
    LogPage,
    MetricSeries,
    ResumeRequest,
    RunDetail,
    RunPage,
    RunStatus,
    RunUpdate,
)

from ..services import tidying
from ..services.run_index import list_runs
from ..services.streaming.response import EventStream
from ..state import Services
from .long_poll import unless_client_leaves
from .openapi import responses
from .roles import role
from .runs import (
    AfterStep,
    Grace,
    LogAfter,
    LogLimit,
    MetricKeys,
    RunId,
    WaitTimeout,
    key_list,
    log_page,
    waited,
)
from .streams import SSE_DESCRIPTION, LastEventId, QueryLastId, Token

Svc = NamedDependency[Services]
RunProject = NamedDependency[str]


async def _project_of(services: Svc, run_id: Annotated[str, PathParameter(max_length=100)]
                      ) -> str:
    return await services.run_service.project_of(run_id)


class RunByIdController(Controller):
    path = "/runs"
    tags = ["runs"]
    dependencies = {"run_project": Provide(_project_of)}

    @get(operation_id="listAllRuns", **role("viewer"), responses=responses(400, 401, 404))
    async def list(
        self, services: Svc, request: Request[Any, Any, Any],
        status: FromQuery[RunStatus | None] = None,
        project: Annotated[str | None, QueryParameter(
            max_length=200, description="Only this project's runs (id or name)")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        after: Annotated[str | None, QueryParameter(
            max_length=100, description="The `next_after` of the previous page")] = None,
        created_by: Annotated[str | None, QueryParameter(
            max_length=64, description="Only runs this user launched (`me`: the caller)")] = None,
    ) -> RunPage:
        """Runs of every project, newest first, a page at a time."""
        if created_by == "me":
            created_by = request.user.name
        return await list_runs(listing=services.run_listing, projects=services.projects,
                               status=status, project=project, limit=limit, after=after,
                               created_by=created_by)

    @get("/{run_id:str}", operation_id="getRunById", **role("viewer"),
         responses=responses(401, 404))
    async def read(self, services: Svc, run_project: RunProject, run_id: RunId) -> RunDetail:
        """Status, progress, metrics, artifacts and the last log lines."""
        return await services.run_service.get(run_project, run_id)

    @get("/{run_id:str}/logs", operation_id="getRunLogsById", **role("viewer"),
         responses=responses(400, 401, 404))
    async def logs(self, services: Svc, run_project: RunProject, run_id: RunId,
                   after: LogAfter = 0, limit: LogLimit = 1000,
                   format: FromQuery[Literal["json", "text"]] = "json",
                   ) -> LogPage | Response[str]:
        """Log lines in order, paged by sequence number; ``format=text`` for ``less``."""
        return log_page(await services.run_service.logs(run_project, run_id, after, limit),
                        format)

    @get("/{run_id:str}/metrics", operation_id="getRunMetricsById", **role("viewer"),
         responses=responses(400, 401, 404))
    async def metrics(
        self, services: Svc, run_project: RunProject, run_id: RunId, keys: MetricKeys = None,
        after_step: AfterStep = -1,
        limit: Annotated[int, QueryParameter(ge=1, le=100_000)] = 10_000,
    ) -> MetricSeries:
        """Metric series for charts: per key, [step, value] pairs after ``after_step``."""
        return await services.run_service.metrics(run_project, run_id, key_list(keys),
                                                  after_step, limit)

    @get("/{run_id:str}/events", operation_id="streamRunEventsById",
         responses=responses(400, 401, 404), media_type="text/event-stream",
         **role("viewer", query_token=True),
         response_description=SSE_DESCRIPTION)
    async def events(self, services: Svc, run_project: RunProject, run_id: RunId,
                     last_event_id: LastEventId = None, last_id: QueryLastId = None,
                     access_token: Token = None) -> EventStream:
        """As ``/projects/{p}/runs/{id}/events``: replay, live tail, ``end``."""
        return EventStream(await services.run_service.stream(run_project, run_id,
                                                             last_event_id or last_id))

    @get("/{run_id:str}/wait", operation_id="waitRunById", **role("viewer"),
         responses=responses(400, 401, 404))
    async def wait(self, services: Svc, request: Request[Any, Any, Any],
                   run_project: RunProject, run_id: RunId,
                   wait_seconds: WaitTimeout = 60.0) -> Response[RunDetail]:
        """The run's detail as soon as it has ended, or at ``timeout`` with the current
        detail and ``X-Wait-Timed-Out: true``."""
        return waited(*await unless_client_leaves(request, services.run_service.wait(
            run_project, run_id, wait_seconds)))

    @post("/{run_id:str}/cancel", operation_id="cancelRunById", **role("operator"),
          status_code=200, responses=responses(400, 401, 404, 409, 503))
    async def cancel(self, services: Svc, run_project: RunProject, run_id: RunId,
                     request: Request[Any, Any, Any], grace_seconds: Grace = 30.0) -> RunDetail:
        """Stop every process of the run, keeping its newest complete checkpoint."""
        return await services.run_service.stop(run_project, run_id, kind="canceled",
                                               grace=grace_seconds, actor=request.user.name)

    @post("/{run_id:str}/pause", operation_id="pauseRunById", **role("operator"),
          status_code=200, responses=responses(400, 401, 404, 409, 503))
    async def pause(self, services: Svc, run_project: RunProject, run_id: RunId,
                    request: Request[Any, Any, Any], grace_seconds: Grace = 30.0) -> RunDetail:
        """As cancel, but the run ends ``paused``: resume it later from its checkpoint."""
        return await services.run_service.stop(run_project, run_id, kind="paused",
                                               grace=grace_seconds, actor=request.user.name)

    @post("/{run_id:str}/resume", operation_id="resumeRunById", **role("operator"),
          responses=responses(400, 401, 404, 409, 500))
    async def resume(
        self, services: Svc, run_project: RunProject, run_id: RunId,
        request: Request[Any, Any, Any],
        source_artifact_id: Annotated[str | None, QueryParameter(max_length=100)] = None,
        data: Annotated[ResumeRequest | None, Body()] = None,
    ) -> RunDetail:
        """A new run from a checkpoint (default: the run's newest complete one)."""
        return await services.run_service.resume(
            run_project, run_id, artifact_id=source_artifact_id,
            start_command=data.start_command if data else None,
            env=data.env if data else None, output_dir=data.output_dir if data else None,
            gpus=data.gpus if data else None, priority=data.priority if data else None,
            actor=request.user.name)

    @patch("/{run_id:str}", operation_id="updateRunById", **role("operator"),
           responses=responses(400, 401, 404, 409))
    async def update(self, services: Svc, run_project: RunProject, run_id: RunId,
                     data: JSONBody[RunUpdate]) -> RunDetail:
        """Change the run's free-text ``notes`` or its ``tags``, or the ``priority`` of a
        run still waiting for GPUs (409 once it has started)."""
        return await tidying.update_run(runs=services.run_service, tidying=services.tidying,
                                        project_ref=run_project, run_id=run_id, data=data)

    @delete("/{run_id:str}", operation_id="deleteRunById", **role("operator"),
            responses=responses(401, 404, 409))
    async def remove(self, services: Svc, run_project: RunProject, run_id: RunId) -> None:
        """Delete an ended run's log, events, metrics and artifact records (never files)."""
        await tidying.delete_run(runs=services.run_service, tidying=services.tidying,
                                 changes=services.changes, project_ref=run_project,
                                 run_id=run_id)
