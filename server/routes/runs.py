"""``/projects/{project_reference}/runs``: launch, read, logs, cancel, pause, resume."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, MediaType, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import Body, FromQuery, JSONBody, PathParameter, QueryParameter

from common.models import (
    LogPage,
    MetricSeries,
    ResumeRequest,
    RunCreate,
    RunDetail,
    RunStatus,
    RunSummary,
    RunUpdate,
)

from ..services import tidying
from ..services.streaming.streams import MAX_EVENT_ID
from ..state import Services
from .long_poll import unless_client_leaves
from .openapi import responses
from .roles import role

Svc = NamedDependency[Services]
Req = Request[Any, Any, Any]  # request.user: the caller (server.auth.Principal)

Ref = Annotated[str, PathParameter(description="Project id (proj_...) or exact name, URL-encoded",
                               max_length=200)]
RunId = Annotated[str, PathParameter(max_length=100)]
Grace = Annotated[float, QueryParameter(ge=0, le=3600,
                                   description="Seconds between SIGTERM and SIGKILL")]
WaitTimeout = Annotated[float, QueryParameter(
    name="timeout", ge=0, le=3600,
    description="Answer after this many seconds even if the run is live")]
WAIT_HEADER = "X-Wait-Timed-Out"
LogAfter = Annotated[int, QueryParameter(ge=0, le=MAX_EVENT_ID,
                                         description="Return lines after this seq")]
AfterStep = Annotated[int, QueryParameter(ge=-1, le=MAX_EVENT_ID)]
LogLimit = Annotated[int, QueryParameter(ge=1, le=10_000)]
MetricKeys = Annotated[str | None, QueryParameter(
    max_length=2000, description="Comma-separated metric names; all when absent")]


def waited(detail: RunDetail, ended: bool) -> Response[RunDetail]:
    """The detail, with a header that says whether the wait ran out before the run ended."""
    return Response(detail, headers={WAIT_HEADER: "false" if ended else "true"})


def log_page(page: LogPage, format: str) -> LogPage | Response[str]:
    if format == "text":
        text = "".join(f"{e.message}\n" for e in page.entries)
        return Response(text, media_type=MediaType.TEXT,
                        headers={"X-Next-After": str(page.next_after),
                                 "X-Has-More": str(page.has_more).lower()})
    return page


def key_list(keys: str | None) -> list[str] | None:
    return [k.strip() for k in keys.split(",") if k.strip()] if keys else None


class RunController(Controller):
    path = "/projects/{project_reference:str}/runs"
    tags = ["runs"]

    @post(operation_id="startRun", **role("operator"), responses=responses(400, 401, 404, 409, 500))
    async def start(self, services: Svc, project_reference: Ref,
                    data: JSONBody[RunCreate], request: Req) -> RunDetail:
        """Check the dataset and YAML, then start the command detached in the container."""
        return await services.run_service.launch(project_reference, data,
                                                 actor=request.user.name)

    @get(operation_id="listRuns", **role("viewer"), responses=responses(400, 401, 404))
    async def list(self, services: Svc, project_reference: Ref,
                   status: FromQuery[RunStatus | None] = None) -> list[RunSummary]:
        """The project's runs, newest first."""
        return await services.run_service.list(project_reference, status)

    @get("/{run_id:str}", operation_id="getRun", **role("viewer"), responses=responses(401, 404))
    async def read(self, services: Svc, project_reference: Ref,
                   run_id: RunId) -> RunDetail:
        """Status, progress, metrics, artifacts and the last log lines."""
        return await services.run_service.get(project_reference, run_id)

    @get("/{run_id:str}/logs", operation_id="getRunLogs", **role("viewer"),
         responses=responses(400, 401, 404),
         media_type=MediaType.JSON)
    async def logs(
        self, services: Svc, project_reference: Ref, run_id: RunId,
        after: LogAfter = 0, limit: LogLimit = 1000,
        format: FromQuery[Literal["json", "text"]] = "json",
    ) -> LogPage | Response[str]:
        """Log lines in order, paged by sequence number; ``format=text`` for ``less``."""
        page = await services.run_service.logs(project_reference, run_id, after, limit)
        return log_page(page, format)

    @get("/{run_id:str}/metrics", operation_id="getRunMetrics", **role("viewer"),
         responses=responses(400, 401, 404))
    async def metrics(
        self, services: Svc, project_reference: Ref, run_id: RunId,
        keys: MetricKeys = None,
        after_step: AfterStep = -1,
        limit: Annotated[int, QueryParameter(ge=1, le=100_000)] = 10_000,
    ) -> MetricSeries:
        """Metric series for charts: per key, [step, value] pairs after ``after_step``."""
        return await services.run_service.metrics(project_reference, run_id, key_list(keys),
                                                  after_step, limit)

    @get("/{run_id:str}/wait", operation_id="waitRun", **role("viewer"),
         responses=responses(400, 401, 404))
    async def wait(self, services: Svc, request: Request[Any, Any, Any],
                   project_reference: Ref, run_id: RunId,
                   wait_seconds: WaitTimeout = 60.0) -> Response[RunDetail]:
        """The run's detail as soon as it has ended, or at ``timeout`` with the current
        detail and ``X-Wait-Timed-Out: true``."""
        return waited(*await unless_client_leaves(request, services.run_service.wait(
            project_reference, run_id, wait_seconds)))

    @post("/{run_id:str}/cancel", operation_id="cancelRun", **role("operator"), status_code=200,
          responses=responses(400, 401, 404, 409, 503))
    async def cancel(self, services: Svc, project_reference: Ref, run_id: RunId,
                     request: Req, grace_seconds: Grace = 30.0) -> RunDetail:
        """Stop the run's whole process group, keeping its newest complete checkpoint."""
        return await services.run_service.stop(project_reference, run_id, kind="canceled",
                                               grace=grace_seconds, actor=request.user.name)

    @post("/{run_id:str}/pause", operation_id="pauseRun", **role("operator"), status_code=200,
          responses=responses(400, 401, 404, 409, 503))
    async def pause(self, services: Svc, project_reference: Ref, run_id: RunId,
                    request: Req, grace_seconds: Grace = 30.0) -> RunDetail:
        """As cancel, but the run ends ``paused``: resume it later from its checkpoint."""
        return await services.run_service.stop(project_reference, run_id, kind="paused",
                                               grace=grace_seconds, actor=request.user.name)

    @post("/{run_id:str}/resume", operation_id="resumeRun", **role("operator"),
          responses=responses(400, 401, 404, 409, 500))
    async def resume(
        self, services: Svc, project_reference: Ref, run_id: RunId, request: Req,
        source_artifact_id: Annotated[str | None, QueryParameter(max_length=100)] = None,
        data: Annotated[ResumeRequest | None, Body()] = None,
    ) -> RunDetail:
        """A new run from a checkpoint (default: the run's newest complete one)."""
        return await services.run_service.resume(
            project_reference, run_id, artifact_id=source_artifact_id,
            start_command=data.start_command if data else None,
            env=data.env if data else None, output_dir=data.output_dir if data else None,
            gpus=data.gpus if data else None, priority=data.priority if data else None,
            actor=request.user.name)

    @patch("/{run_id:str}", operation_id="updateRun", **role("operator"),
           responses=responses(400, 401, 404, 409))
    async def update(self, services: Svc, project_reference: Ref, run_id: RunId,
                     data: JSONBody[RunUpdate]) -> RunDetail:
        """Change the run's free-text ``notes`` or its ``tags``, or the ``priority`` of a
        run still waiting for GPUs (409 once it has started)."""
        return await tidying.update_run(runs=services.run_service, tidying=services.tidying,
                                        project_ref=project_reference, run_id=run_id,
                                        data=data)

    @delete("/{run_id:str}", operation_id="deleteRun", **role("operator"),
            responses=responses(401, 404, 409))
    async def remove(self, services: Svc, project_reference: Ref, run_id: RunId) -> None:
        """Delete an ended run's log, events, metrics and artifact records (never files)."""
        await tidying.delete_run(runs=services.run_service, tidying=services.tidying,
                                 changes=services.changes, project_ref=project_reference,
                                 run_id=run_id)
