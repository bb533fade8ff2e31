"""The GPU view against a real server: recorded H100 readings, and a host with no GPU."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from common.client import TrainyardClient
from tests.conftest import REPO, Server
from tests.tui.helpers import SIZE, live_app, screen_text, wait_for, wait_for_text
from tui.screens.gpus import GpusScreen

REPLAY = REPO / "tests" / "fixtures" / "nvml-h100" / "nvml_samples.jsonl"


@pytest.fixture
def h100_server(tmp_path: Path, workspace: Path) -> Iterator[Server]:
    srv = Server(data_dir=tmp_path / "data", workspace=workspace, env_extra={
        "TRAINYARD_GPU_SOURCE": f"replay:{REPLAY}", "TRAINYARD_GPU_INTERVAL": "0.1"}).start()
    yield srv
    srv.stop()


async def test_gpus_live_with_history(h100_server: Server) -> None:
    app = live_app(h100_server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        assert isinstance(app.screen, GpusScreen)
        await wait_for_text(pilot, "NVIDIA H100 80GB HBM3")
        await wait_for(pilot, lambda: len(app.gpu_history.utilization(0)) >= 10,
                       what="ten samples of history")
        text = screen_text(pilot)
        assert "GPU 0" in text and "/ 700 W" in text and "°C" in text
        assert "79.6 GiB" in text  # memory total, in the memory line
        assert "▁" in text or "█" in text  # the history sparklines
        await pilot.press("escape")
        assert not isinstance(app.screen, GpusScreen)


async def test_no_gpu_shown_plainly_with_the_servers_reason(
        shared_server: Server, shared_client: TrainyardClient) -> None:
    snapshot = await shared_client.gpus()
    if snapshot.available:
        pytest.skip("this host has a working NVIDIA driver")
    assert snapshot.reason
    app = live_app(shared_server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        await wait_for_text(pilot, "No GPU")
        assert snapshot.reason[:40] in " ".join(screen_text(pilot).split())
