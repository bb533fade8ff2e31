"""``GET /metrics``: the server's state in the Prometheus text format.

Everything is read at scrape time from what the server already holds (run counts and
live runs from storage, the GPU sampler's latest snapshot, counters kept in memory), so
a scrape adds no background work. The official ``prometheus_client`` writes the text.
Queue length and oldest wait are not here: there is no run queue yet (issue 12).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from common.models import RUN_STATUSES, GpuSnapshot, Queue

from ..storage.run_listing import LiveGauge, RunListing
from .gpu_queue import GpuQueue
from .gpu_sampler import GpuSampler
from .recorder import RunRecorder
from .streaming import events
from .waiting import waiting

__all__ = ["CONTENT_TYPE", "Scrape", "exposition", "scrape"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
GPU_LABELS = ("gpu", "uuid", "name", "run_id", "project_id")
RUN_LABELS = ("run_id", "project_id", "project")


@dataclass(frozen=True, slots=True)
class Scrape:
    """The figures one scrape reports."""

    runs_by_status: dict[str, int]
    lines_recorded: int
    stream_clients: int
    waiters: int
    gpus: GpuSnapshot
    live: list[LiveGauge]
    queue: Queue


def _gpu_families(snapshot: GpuSnapshot) -> list[Metric]:
    available = GaugeMetricFamily("trainyard_gpu_available",
                                  "1 when GPU telemetry works (NVML), else 0",
                                  value=1 if snapshot.available else 0)
    gauges = {
        "utilization": GaugeMetricFamily("trainyard_gpu_utilization_percent",
                                         "GPU utilisation, %", labels=GPU_LABELS),
        "memory_used": GaugeMetricFamily("trainyard_gpu_memory_used_bytes",
                                         "GPU memory in use", labels=GPU_LABELS),
        "memory_total": GaugeMetricFamily("trainyard_gpu_memory_total_bytes",
                                          "GPU memory in all", labels=GPU_LABELS),
        "temperature": GaugeMetricFamily("trainyard_gpu_temperature_celsius",
                                         "GPU temperature", labels=GPU_LABELS),
        "power_watts": GaugeMetricFamily("trainyard_gpu_power_watts", "GPU power draw",
                                         labels=GPU_LABELS),
    }
    for device in snapshot.gpus:
        # The run holding the GPU (the first one, when several share it): a dashboard
        # groups GPUs by run with it. "" when no Trainyard run uses the GPU.
        holder = next((p for p in device.processes if p.run_id), None)
        labels = [str(device.index), device.uuid, device.name,
                  holder.run_id or "" if holder else "", holder.project_id or ""
                  if holder else ""]
        for field, family in gauges.items():
            value = getattr(device, field)
            if value is not None:
                family.add_metric(labels, float(value))
    return [available, *gauges.values()]


def _run_families(live: list[LiveGauge]) -> list[Metric]:
    progress = GaugeMetricFamily("trainyard_run_progress_ratio",
                                 "A live run's progress, 0 to 1", labels=RUN_LABELS)
    step = GaugeMetricFamily("trainyard_run_step", "A live run's current step",
                             labels=RUN_LABELS)
    rate = GaugeMetricFamily("trainyard_run_steps_per_second", "A live run's training speed",
                             labels=RUN_LABELS)
    loss = GaugeMetricFamily("trainyard_run_loss", "A live run's latest reported loss",
                             labels=RUN_LABELS)
    for run in live:
        labels = [run.run_id, run.project_id, run.project]
        progress.add_metric(labels, run.progress)
        for family, value in ((step, run.progress_info.get("current_step")),
                              (rate, run.progress_info.get("steps_per_second")),
                              (loss, run.metrics.get("loss"))):
            if isinstance(value, int | float) and not isinstance(value, bool):
                family.add_metric(labels, float(value))
    return [progress, step, rate, loss]


def families(figures: Scrape) -> list[Metric]:
    runs = GaugeMetricFamily("trainyard_runs", "Runs by status", labels=["status"])
    for status in RUN_STATUSES:
        runs.add_metric([status], figures.runs_by_status.get(status, 0))
    lines = CounterMetricFamily("trainyard_log_lines_ingested",
                                "Log lines stored since the server started",
                                value=figures.lines_recorded)
    clients = GaugeMetricFamily("trainyard_sse_clients", "Open server-sent event streams",
                                value=figures.stream_clients)
    waiters = GaugeMetricFamily("trainyard_run_waiters",
                                "Requests waiting for a run to end (GET .../wait)",
                                value=figures.waiters)
    queued = GaugeMetricFamily("trainyard_queue_runs", "Runs waiting for GPUs",
                               value=len(figures.queue.runs))
    oldest = min((r.waiting_since for r in figures.queue.runs), default=None)
    wait = GaugeMetricFamily(
        "trainyard_queue_oldest_wait_seconds", "How long the run waiting longest for GPUs "
        "has waited (0: none waits)",
        value=(datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0)
    return [runs, lines, clients, waiters, queued, wait, *_run_families(figures.live),
            *_gpu_families(figures.gpus)]


class _Collected:
    """What ``generate_latest`` reads: an object with ``collect()``."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def exposition(figures: Scrape) -> bytes:
    return generate_latest(_Collected(families(figures)))


async def scrape(*, listing: RunListing, recorder: RunRecorder, sampler: GpuSampler,
                 queue: GpuQueue) -> bytes:
    waiters = waiting()
    figures = Scrape(
        runs_by_status=await listing.count_by_status(), lines_recorded=recorder.lines_recorded,
        # Every open subscription is a stream client but those of waiting requests.
        # (events keeps them in a private WeakSet for its keepalive ticker; read-only here.)
        stream_clients=max(len(events._LIVE) - waiters, 0), waiters=waiters,
        gpus=sampler.snapshot, live=await listing.live_gauges(),
        queue=msgspec.json.decode(await queue.encoded(), type=Queue))
    return exposition(figures)
