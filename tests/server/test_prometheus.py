"""``GET /metrics``, read by the Prometheus client's own parser."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from common.client import TrainyardClient
from common.models import RunCreate

from ..conftest import REPO, TOKEN, Server, make_workspace, project_body
from ..helpers import wait_for_status, wait_until

AUTH = {"Authorization": f"Bearer {TOKEN}"}
H100 = REPO / "tests" / "fixtures" / "nvml-h100" / "nvml_samples.jsonl"


def samples(text: str) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def eight_gpus(path: Path) -> Path:
    """The recorded H100 readings as if the host had eight of them."""
    lines = []
    for line in H100.read_text().splitlines():
        record = json.loads(line)
        if record["kind"] != "sample":
            lines.append(line)
            continue
        for index in range(8):
            copy = json.loads(line)
            copy["index"] = index
            copy["reading"]["uuid"] = f"{record['reading']['uuid'][:-1]}{index}"
            lines.append(json.dumps(copy))
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_metrics_show_runs_lines_streams_and_live_runs(server: Server,
                                                             client: TrainyardClient) -> None:
    refused = httpx.get(f"{server.url}/metrics")
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    await client.create_project(project_body("prom"))
    done = await client.start_run("prom", RunCreate("echo one; echo two; exit 2"))
    await wait_for_status(client, "prom", done.id, {"failed"})
    live = await client.start_run(
        "prom", RunCreate("echo \"{'loss': 1.25, 'epoch': 0.5}\"; sleep 60"))
    await wait_until(lambda: _has_loss(client, live.id), what="the live run's loss")

    async with (httpx.AsyncClient(base_url=server.url, headers=AUTH) as http,
                http.stream("GET", f"/runs/{live.id}/events")):  # one stream client
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    by_status = {s.labels["status"]: s.value for s in found["trainyard_runs"]}
    assert by_status["failed"] == 1 and by_status["running"] == 1 and by_status["paused"] == 0
    assert found["trainyard_log_lines_ingested_total"][0].value >= 4
    assert found["trainyard_sse_clients"][0].value == 1
    [loss] = found["trainyard_run_loss"]
    assert loss.labels == {"run_id": live.id, "project_id": live.project_id,
                           "project": "prom"} and loss.value == 1.25
    assert [s.labels["run_id"] for s in found["trainyard_run_progress_ratio"]] == [live.id]
    assert found["trainyard_gpu_available"][0].value == 0  # no NVML on a test host
    await client.stop_run(live.id, grace_seconds=1)


async def _has_loss(client: TrainyardClient, run_id: str) -> bool:
    return "loss" in (await client.run(run_id)).metrics


async def test_public_metrics_need_no_token_and_show_each_gpu(tmp_path: Path) -> None:
    srv = Server(data_dir=tmp_path / "data", workspace=make_workspace(tmp_path / "ws"),
                 env_extra={"TRAINYARD_METRICS_PUBLIC": "1",
                            "TRAINYARD_GPU_SOURCE": f"replay:{eight_gpus(tmp_path / 'g.jsonl')}",
                            "TRAINYARD_GPU_INTERVAL": "0.1"}).start()
    try:
        response = httpx.get(f"{srv.url}/metrics")
        assert response.status_code == 200
        found = samples(response.text)
        assert found["trainyard_gpu_available"][0].value == 1
        used = found["trainyard_gpu_memory_used_bytes"]
        assert sorted(int(s.labels["gpu"]) for s in used) == list(range(8))
        assert all(s.labels["name"] == "NVIDIA H100 80GB HBM3" for s in used)
        for name in ("trainyard_gpu_utilization_percent", "trainyard_gpu_temperature_celsius",
                     "trainyard_gpu_power_watts", "trainyard_gpu_memory_total_bytes"):
            assert len(found[name]) == 8, name
        # Other routes still need the token.
        assert httpx.get(f"{srv.url}/projects").status_code == 401
    finally:
        srv.stop()
