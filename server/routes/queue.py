"""``GET /queue``: the runs waiting for GPUs, in order, and who holds each GPU."""

from __future__ import annotations

from litestar import Controller, MediaType, Response, get
from litestar.di import NamedDependency

from common.models import Queue

from ..state import Services
from .openapi import responses
from .roles import role

Svc = NamedDependency[Services]


class QueueController(Controller):
    path = "/queue"
    tags = ["queue"]

    @get(operation_id="getQueue", **role("viewer"), responses=responses(401))
    async def read(self, services: Svc) -> Response[Queue]:
        """Waiting runs in the order they will start (priority, then arrival), each with
        its position and why it waits; per GPU, the run it was given to and any process
        outside Trainyard that keeps it busy."""
        body = await services.queue.encoded()
        return Response(body, media_type=MediaType.JSON)  # type: ignore[arg-type]
