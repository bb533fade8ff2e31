"""Per-GPU history for the GPU view's sparklines."""

from __future__ import annotations

from common.models import GpuDevice, GpuSnapshot
from tui.gpu_history import GpuHistory


def sample(at: str, util: float) -> GpuSnapshot:
    return GpuSnapshot(available=True, sampled_at=at, gpus=[GpuDevice(
        index=0, uuid="GPU-0", name="H100", utilization=util, memory_used=40, memory_total=80)])


def test_history_keeps_the_latest_samples_once_each() -> None:
    history = GpuHistory(keep=3)
    for i in range(5):
        history.add(sample(f"t{i}", i * 10.0))
    history.add(sample("t4", 40.0))  # the same sample again, after a reconnect
    assert history.utilization(0) == [20.0, 30.0, 40.0]
    assert history.memory(0) == [50.0, 50.0, 50.0]
    assert history.utilization(7) == []
    assert history.latest is not None and history.latest.sampled_at == "t4"
