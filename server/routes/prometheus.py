"""``GET /metrics``: Prometheus text format. Token-guarded like every route, unless the
server runs with ``TRAINYARD_METRICS_PUBLIC=1`` (a scraper without the token)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from ..auth import authorization
from ..services.prometheus import CONTENT_TYPE, scrape
from ..state import Services
from .openapi import responses
from .roles import role

Svc = NamedDependency[Services]


class PrometheusController(Controller):
    path = "/metrics"
    tags = ["metrics"]

    # "public" skips the token middleware; the handler checks the token itself unless
    # the operator made the metrics public.
    @get(operation_id="prometheusMetrics", responses=responses(401),
         **role("viewer", public=True), media_type=CONTENT_TYPE)
    async def metrics(self, services: Svc, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Runs by status, the GPU queue's length and oldest wait, log lines ingested, SSE
        clients, live runs' progress, speed and
        loss, and per-GPU utilisation, memory, temperature and power with the run holding
        it."""
        if not services.settings.metrics_public:
            await services.auth.check(authorization(request.scope))
        body = await scrape(listing=services.run_listing, recorder=services.recorder,
                            sampler=services.sampler, queue=services.queue)
        return Response(body, media_type=CONTENT_TYPE)
