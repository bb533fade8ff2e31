"""``GET /compare``: runs side by side."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from common.models import Comparison

from ..services.compare import compare_runs, parse_ids
from ..state import Services
from .openapi import responses
from .roles import role
from .runs import MetricKeys, key_list

Svc = NamedDependency[Services]


class CompareController(Controller):
    path = "/compare"
    tags = ["runs"]

    @get(operation_id="compareRuns", **role("viewer"), responses=responses(400, 401, 404))
    async def compare(
        self, services: Svc,
        runs: Annotated[str, QueryParameter(
            max_length=2200, description="Comma-separated run ids, 1 to 20, in the order "
                                         "to show them")],
        keys: MetricKeys = None,
    ) -> Comparison:
        """Metric series on common steps, final and best values per run, and what differs:
        start command, env and the training YAML snapshots, key by key."""
        return await compare_runs(runs=services.runs, run_ids=parse_ids(runs),
                                  keys=key_list(keys))
