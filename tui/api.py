"""What the TUI needs from the server: the common API client, plus a liveness probe.

Screens talk to an :class:`Api`; the real one is :class:`HttpApi` (the shared
``TrainyardClient`` over HTTP and SSE). Tests of the views can hand the app anything
with the same methods, for example fixed data for snapshots.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import httpx
from httpx_sse import SSEError

from common.client import ServerEvent, TrainyardClient
from common.models import (
    Comparison,
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
)

__all__ = ["UNREACHABLE", "Api", "HttpApi"]

# What "the server is not there" looks like: refused or dropped connections, timeouts,
# a proxy answering in its place (status error, or a body that is not an event stream).
UNREACHABLE: tuple[type[Exception], ...] = (httpx.TransportError, httpx.HTTPStatusError,
                                            SSEError)


class Api(Protocol):
    async def list_projects(self, **filters: str | None) -> list[ProjectSummary]: ...

    async def get_project(self, ref: str) -> Project: ...

    async def create_project(self, data: ProjectCreate) -> Project: ...

    async def update_project(self, ref: str, data: ProjectUpdate) -> Project: ...

    async def start_run(self, project: str, data: RunCreate) -> RunDetail: ...

    async def get_run(self, project: str, run_id: str) -> RunDetail: ...

    async def logs(self, project: str, run_id: str, *, after: int = 0,
                   limit: int = 1000) -> LogPage: ...

    async def cancel(self, project: str, run_id: str, *, grace_seconds: float | None = None,
                     pause: bool = False) -> RunDetail: ...

    async def resume(self, project: str, run_id: str, *, source_artifact_id: str | None = None,
                     start_command: str | None = None) -> RunDetail: ...

    async def resume_with(self, project: str, run_id: str, request: ResumeRequest, *,
                          source_artifact_id: str | None = None) -> RunDetail: ...

    async def metrics(self, project: str, run_id: str, *, keys: list[str] | None = None,
                      after_step: int = -1) -> MetricSeries: ...

    async def gpus(self) -> GpuSnapshot: ...

    async def queue(self) -> Queue: ...

    async def compare(self, run_ids: list[str], *, keys: list[str] | None = None
                      ) -> Comparison: ...

    def events(self, path: str, *, last_event_id: str | None = None
               ) -> AsyncIterator[ServerEvent]: ...

    def run_events(self, project: str, run_id: str, *, last_event_id: str | None = None
                   ) -> AsyncIterator[ServerEvent]: ...

    async def ping(self) -> None:
        """Return once the server answers; raise one of :data:`UNREACHABLE` if not."""

    async def server_api(self) -> int | None:
        """The server's API version (``/healthz``'s ``api``); None from servers before it."""

    def use_token(self, token: str) -> None:
        """Send ``token`` from now on (the user typed a new one)."""

    async def aclose(self) -> None: ...


class HttpApi(TrainyardClient):
    """The shared client, with the health probe the reconnect loop needs."""

    async def ping(self) -> None:
        response = await self.http.get("/healthz", timeout=5.0)
        response.raise_for_status()

    async def server_api(self) -> int | None:
        response = await self.http.get("/healthz", timeout=5.0)
        response.raise_for_status()
        try:
            api = response.json().get("api")
        except (ValueError, AttributeError):
            return None
        return api if isinstance(api, int) else None

    def use_token(self, token: str) -> None:
        self.http.headers["Authorization"] = f"Bearer {token}"
