"""Server-sent event streams: a run's events, list-view changes, GPU samples.

Auth as everywhere (``Authorization: Bearer``). Browsers' EventSource cannot send
headers, so these routes alone also accept ``?access_token=``; the token then shows in
URLs (browser history, proxies' logs), which is why no other route takes it.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, PathParameter, QueryParameter

from ..services.streaming import streams
from ..services.streaming.response import EventStream
from ..state import Services
from .openapi import responses
from .roles import role

Svc = NamedDependency[Services]
Ref = Annotated[str, PathParameter(description="Project id (proj_...) or exact name, URL-encoded",
                                   max_length=200)]
RunId = Annotated[str, PathParameter(max_length=100)]
LastEventId = Annotated[str | None, HeaderParameter(name="Last-Event-ID", max_length=100,
                                                    required=False)]
QueryLastId = Annotated[str | None, QueryParameter(max_length=100,
                                                   description="Same as Last-Event-ID")]
Token = Annotated[str | None, QueryParameter(max_length=200, description=(
    "The API token, for EventSource clients that cannot send headers"))]

SSE_DESCRIPTION = "A stream of server-sent events (text/event-stream)"


class StreamController(Controller):
    tags = ["streams"]

    @get("/projects/{project_reference:str}/runs/{run_id:str}/events",
         operation_id="streamRunEvents", **role("viewer", query_token=True),
         responses=responses(400, 401, 404),
         media_type="text/event-stream", response_description=SSE_DESCRIPTION)
    async def run_events(self, services: Svc, project_reference: Ref, run_id: RunId,
                         last_event_id: LastEventId = None, last_id: QueryLastId = None,
                         access_token: Token = None) -> EventStream:
        """``status``, ``log``, ``metrics``, ``progress``, ``artifact``, ``gpu`` events;
        ``end`` once a finished run is fully sent. Resume with ``Last-Event-ID``."""
        body = await services.run_service.stream(project_reference, run_id,
                                                 last_event_id or last_id)
        return EventStream(body, services.stopping.event)

    @get("/events", operation_id="streamChanges", **role("viewer", query_token=True),
         responses=responses(400, 401),
         media_type="text/event-stream", response_description=SSE_DESCRIPTION)
    async def changes(self, services: Svc, last_event_id: LastEventId = None,
                      last_id: QueryLastId = None, access_token: Token = None) -> EventStream:
        """Project and run changes, for list views. ``reset`` means: fetch lists again."""
        return EventStream(streams.ring_stream(services.changes, last_event_id or last_id),
                           services.stopping.event)

    @get("/gpus/events", operation_id="streamGpus", **role("viewer", query_token=True),
         responses=responses(400, 401),
         media_type="text/event-stream", response_description=SSE_DESCRIPTION)
    async def gpus(self, services: Svc, last_event_id: LastEventId = None,
                   last_id: QueryLastId = None, access_token: Token = None) -> EventStream:
        """A ``gpus`` event per NVML sample (the same body as ``GET /gpus``)."""
        return EventStream(streams.ring_stream(services.gpu_channel, last_event_id or last_id,
                                               services.sampler.snapshot_frame()),
                           services.stopping.event)
