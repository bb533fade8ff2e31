"""The Prometheus text for a given state: GPUs labelled with the run holding them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from common.models import GpuDevice, GpuProcess, GpuSnapshot, Queue, QueuedRun
from server.services.prometheus import Scrape, exposition
from server.storage.run_listing import LiveGauge


def test_a_gpu_carries_the_run_that_holds_it_and_a_free_one_none() -> None:
    held = GpuDevice(index=0, uuid="GPU-0", name="H100", utilization=91.0, memory_used=2048,
                     memory_total=4096, temperature=60.0, power_watts=500.5,
                     processes=[GpuProcess(pid=1, used_memory=None),
                                GpuProcess(pid=2, used_memory=1, run_id="run_a",
                                           project_id="proj_a")])
    free = GpuDevice(index=1, uuid="GPU-1", name="H100", utilization=None)
    text = exposition(Scrape(
        runs_by_status={"running": 1}, lines_recorded=7, stream_clients=0, waiters=1,
        gpus=GpuSnapshot(available=True, gpus=[held, free]),
        live=[LiveGauge("run_a", "proj_a", "sft", 0.5, {"steps_per_second": 2.5,
                                                        "current_step": 10},
                        {"loss": 0.75})],
        queue=Queue(runs=[QueuedRun(run_id="run_b", project_id="proj_a", position=1,
                                    priority=0, gpus=8,
                                    waiting_since=datetime.now(UTC) - timedelta(minutes=5))],
                    gpus=[]))).decode()
    found = {(s.name, s.labels.get("gpu")): s for f in text_string_to_metric_families(text)
             for s in f.samples}
    assert found[("trainyard_gpu_utilization_percent", "0")].labels["run_id"] == "run_a"
    assert found[("trainyard_gpu_power_watts", "0")].value == 500.5
    assert ("trainyard_gpu_utilization_percent", "1") not in found  # unknown: left out
    assert found[("trainyard_gpu_available", None)].value == 1
    assert found[("trainyard_run_steps_per_second", None)].value == 2.5
    assert found[("trainyard_run_step", None)].value == 10
    assert found[("trainyard_log_lines_ingested_total", None)].value == 7
    assert found[("trainyard_run_waiters", None)].value == 1
    assert found[("trainyard_queue_runs", None)].value == 1
    assert 299 < found[("trainyard_queue_oldest_wait_seconds", None)].value < 400


def test_the_grafana_dashboard_asks_only_for_series_the_server_exports() -> None:
    dashboard = json.loads((Path(__file__).parents[3] / "docs" / "grafana-dashboard.json")
                           .read_text())
    asked = {name for panel in dashboard["panels"] for target in panel["targets"]
             for name in re.findall(r"trainyard_[a-z_]+", target["expr"])}
    text = exposition(Scrape(
        runs_by_status={}, lines_recorded=0, stream_clients=0, waiters=0,
        gpus=GpuSnapshot(available=True, gpus=[GpuDevice(
            index=0, uuid="u", name="n", utilization=1.0, memory_used=1, memory_total=2,
            temperature=1.0, power_watts=1.0)]),
        live=[LiveGauge("r", "p", "n", 0.1, {"current_step": 1, "steps_per_second": 1.0},
                        {"loss": 1.0})], queue=Queue(runs=[], gpus=[]))).decode()
    exported = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    assert asked and asked <= exported, asked - exported
