"""Async API client (httpx) shared by the TUI, scripts and tests.

Every method returns the wire Structs from :mod:`common.models`; an error response
raises :class:`ApiError` carrying the server's code and message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec
from httpx_sse import aconnect_sse

from .models import (
    Comparison,
    ErrorBody,
    GpuSnapshot,
    LogPage,
    MetricSeries,
    Project,
    ProjectCreate,
    ProjectSummary,
    ProjectUpdate,
    Queue,
    ResumeRequest,
    RunCreate,
    RunDetail,
    RunPage,
    RunSummary,
)

__all__ = ["ApiError", "ServerEvent", "TrainyardClient"]

T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, body: ErrorBody) -> None:
        super().__init__(f"{body.status_code} {body.code}: {body.message}")
        self.body = body

    @property
    def status_code(self) -> int:
        return self.body.status_code

    @property
    def code(self) -> str:
        return self.body.code


class ServerEvent(msgspec.Struct):
    """One server-sent event: its name, id and decoded JSON data."""

    event: str
    id: str | None
    data: Any


def _ref(value: str) -> str:
    return quote(value, safe="")


class TrainyardClient:
    def __init__(self, base_url: str, token: str | None, *, timeout: float = 120.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)

    async def __aenter__(self) -> TrainyardClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _send(self, method: str, path: str, *, body: Any = None,
                    params: dict[str, Any] | None = None,
                    wait_seconds: float | None = None) -> httpx.Response:
        content = msgspec.json.encode(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        response = await self.http.request(
            method, path, content=content, params=clean, headers=headers,
            timeout=wait_seconds if wait_seconds is not None else self.http.timeout)
        if response.status_code >= 400:
            try:
                error = msgspec.json.decode(response.content, type=ErrorBody)
            except msgspec.DecodeError:
                error = ErrorBody(status_code=response.status_code, code="http_error",
                                  message=response.text[:500], detail=response.text[:500])
            raise ApiError(error)
        return response

    async def _call(self, method: str, path: str, kind: type[T], *, body: Any = None,
                    params: dict[str, Any] | None = None,
                    wait_seconds: float | None = None) -> T:
        response = await self._send(method, path, body=body, params=params,
                                    wait_seconds=wait_seconds)
        return msgspec.json.decode(response.content, type=kind)

    # -- projects ---------------------------------------------------------------------
    async def create_project(self, data: ProjectCreate) -> Project:
        return await self._call("POST", "/projects", Project, body=data)

    async def list_projects(self, **filters: str | None) -> list[ProjectSummary]:
        return await self._call("GET", "/projects", list[ProjectSummary], params=filters)

    async def get_project(self, ref: str) -> Project:
        return await self._call("GET", f"/projects/{_ref(ref)}", Project)

    async def update_project(self, ref: str, data: ProjectUpdate) -> Project:
        return await self._call("PATCH", f"/projects/{_ref(ref)}", Project, body=data)

    # -- runs -------------------------------------------------------------------------
    async def start_run(self, project: str, data: RunCreate) -> RunDetail:
        return await self._call("POST", f"/projects/{_ref(project)}/runs", RunDetail, body=data)

    async def list_runs(self, project: str, status: str | None = None) -> list[RunSummary]:
        return await self._call("GET", f"/projects/{_ref(project)}/runs", list[RunSummary],
                                params={"status": status})

    async def get_run(self, project: str, run_id: str) -> RunDetail:
        return await self._call("GET", f"/projects/{_ref(project)}/runs/{_ref(run_id)}",
                                RunDetail)

    async def logs(self, project: str, run_id: str, *, after: int = 0,
                   limit: int = 1000) -> LogPage:
        return await self._call("GET", f"/projects/{_ref(project)}/runs/{_ref(run_id)}/logs",
                                LogPage, params={"after": after, "limit": limit})

    async def cancel(self, project: str, run_id: str, *, grace_seconds: float | None = None,
                     pause: bool = False) -> RunDetail:
        action = "pause" if pause else "cancel"
        # The server answers once the run has stopped: grace period, SIGKILL wait and more.
        wait = (30.0 if grace_seconds is None else grace_seconds) + 45.0
        return await self._call(
            "POST", f"/projects/{_ref(project)}/runs/{_ref(run_id)}/{action}", RunDetail,
            params={"grace_seconds": grace_seconds}, wait_seconds=max(wait, 120.0))

    async def resume(self, project: str, run_id: str, *, source_artifact_id: str | None = None,
                     start_command: str | None = None) -> RunDetail:
        body = {"start_command": start_command} if start_command else None
        return await self._call(
            "POST", f"/projects/{_ref(project)}/runs/{_ref(run_id)}/resume", RunDetail,
            body=body, params={"source_artifact_id": source_artifact_id})

    async def resume_with(self, project: str, run_id: str, request: ResumeRequest, *,
                          source_artifact_id: str | None = None) -> RunDetail:
        """Resume with a whole request body: command, env, output dir, GPUs, priority."""
        return await self._call(
            "POST", f"/projects/{_ref(project)}/runs/{_ref(run_id)}/resume", RunDetail,
            body=request, params={"source_artifact_id": source_artifact_id})

    # -- runs by id alone -------------------------------------------------------------
    async def list_all_runs(self, *, status: str | None = None, project: str | None = None,
                            limit: int = 100, after: str | None = None) -> RunPage:
        """One page of runs across projects, newest first (``GET /runs``)."""
        return await self._call("GET", "/runs", RunPage, params={
            "status": status, "project": project, "limit": limit, "after": after})

    async def run(self, run_id: str) -> RunDetail:
        return await self._call("GET", f"/runs/{_ref(run_id)}", RunDetail)

    async def run_logs(self, run_id: str, *, after: int = 0, limit: int = 1000) -> LogPage:
        return await self._call("GET", f"/runs/{_ref(run_id)}/logs", LogPage,
                                params={"after": after, "limit": limit})

    async def run_metrics(self, run_id: str, *, keys: list[str] | None = None,
                          after_step: int = -1) -> MetricSeries:
        return await self._call("GET", f"/runs/{_ref(run_id)}/metrics", MetricSeries,
                                params={"keys": ",".join(keys) if keys else None,
                                        "after_step": after_step})

    async def wait_run(self, run_id: str, *, seconds: float) -> tuple[RunDetail, bool]:
        """The run once it has ended, or after ``seconds``; and whether it ended."""
        response = await self._send("GET", f"/runs/{_ref(run_id)}/wait",
                                    params={"timeout": seconds}, wait_seconds=seconds + 30.0)
        detail = msgspec.json.decode(response.content, type=RunDetail)
        return detail, response.headers.get("X-Wait-Timed-Out") != "true"

    async def stop_run(self, run_id: str, *, grace_seconds: float | None = None,
                       pause: bool = False) -> RunDetail:
        """Cancel (or pause) a run named by its id alone."""
        wait = (30.0 if grace_seconds is None else grace_seconds) + 45.0
        return await self._call(
            "POST", f"/runs/{_ref(run_id)}/{'pause' if pause else 'cancel'}", RunDetail,
            params={"grace_seconds": grace_seconds}, wait_seconds=max(wait, 120.0))

    async def resume_run(self, run_id: str, *, source_artifact_id: str | None = None,
                         start_command: str | None = None) -> RunDetail:
        body = {"start_command": start_command} if start_command else None
        return await self._call("POST", f"/runs/{_ref(run_id)}/resume", RunDetail, body=body,
                                params={"source_artifact_id": source_artifact_id})

    def events_of_run(self, run_id: str, *, last_event_id: str | None = None
                      ) -> AsyncIterator[ServerEvent]:
        return self.events(f"/runs/{_ref(run_id)}/events", last_event_id=last_event_id)

    async def compare(self, run_ids: list[str], *, keys: list[str] | None = None
                      ) -> Comparison:
        """Runs side by side: aligned metrics, summaries, what differs."""
        return await self._call("GET", "/compare", Comparison, params={
            "runs": ",".join(run_ids), "keys": ",".join(keys) if keys else None})

    # -- streams ----------------------------------------------------------------------
    async def events(self, path: str, *, last_event_id: str | None = None
                     ) -> AsyncIterator[ServerEvent]:
        """Server-sent events from ``path`` until the server ends the stream."""
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        timeout = httpx.Timeout(self.http.timeout.connect, read=None)
        async with aconnect_sse(self.http, "GET", path, headers=headers,
                                timeout=timeout) as source:
            if source.response.status_code >= 400:
                await source.response.aread()
                raise ApiError(msgspec.json.decode(source.response.content, type=ErrorBody))
            async for sse in source.aiter_sse():
                if not sse.data:
                    continue  # a retry hint or comment: no event, per the SSE spec
                yield ServerEvent(sse.event, sse.id or None,
                                  msgspec.json.decode(sse.data))

    def run_events(self, project: str, run_id: str, *, last_event_id: str | None = None
                   ) -> AsyncIterator[ServerEvent]:
        return self.events(f"/projects/{_ref(project)}/runs/{_ref(run_id)}/events",
                           last_event_id=last_event_id)

    async def metrics(self, project: str, run_id: str, *, keys: list[str] | None = None,
                      after_step: int = -1) -> MetricSeries:
        return await self._call(
            "GET", f"/projects/{_ref(project)}/runs/{_ref(run_id)}/metrics", MetricSeries,
            params={"keys": ",".join(keys) if keys else None, "after_step": after_step})

    async def gpus(self) -> GpuSnapshot:
        return await self._call("GET", "/gpus", GpuSnapshot)

    async def queue(self) -> Queue:
        """Runs waiting for GPUs in the order they will start, and who holds each GPU."""
        return await self._call("GET", "/queue", Queue)
