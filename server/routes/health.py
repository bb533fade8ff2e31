"""``GET /healthz``: liveness for load balancers and scripts; needs no token."""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from common.version import API_VERSION


class Health(msgspec.Struct):
    status: str
    version: str
    api: int = API_VERSION  # clients check it to say "server too old" instead of failing


class HealthController(Controller):
    path = "/healthz"
    tags = ["health"]

    @get(operation_id="health", summary="Liveness check (no token needed)",
         opt={"public": True})
    async def health(self) -> Health:
        """The server is up and serving."""
        return Health(status="ok", version="0.1.0")
