"""``GET /gpus``: the latest GPU sample."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from common.models import GpuSnapshot

from ..state import Services
from .openapi import responses
from .roles import role

Svc = NamedDependency[Services]


class GpuController(Controller):
    path = "/gpus"
    tags = ["gpus"]

    @get(operation_id="getGpus", **role("viewer"), responses=responses(401))
    async def snapshot(self, services: Svc) -> GpuSnapshot:
        """Per GPU: utilisation, memory, temperature, power, processes and their runs.
        ``available: false`` with the reason when this host has no usable NVML."""
        return services.sampler.snapshot
