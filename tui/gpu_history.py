"""Recent GPU samples, per GPU, for the history sparklines of the GPU view."""

from __future__ import annotations

from collections import deque

from common.models import GpuSnapshot

__all__ = ["HISTORY", "GpuHistory"]

HISTORY = 120  # samples kept per GPU (two minutes at the server's default 1 Hz)


class GpuHistory:
    def __init__(self, keep: int = HISTORY) -> None:
        self.keep = keep
        self.latest: GpuSnapshot | None = None
        self._util: dict[int, deque[float | None]] = {}
        self._memory: dict[int, deque[float | None]] = {}

    def add(self, snapshot: GpuSnapshot) -> None:
        if self.latest is not None and snapshot.sampled_at == self.latest.sampled_at:
            self.latest = snapshot  # the same sample again (a reconnect): no new point
            return
        self.latest = snapshot
        for gpu in snapshot.gpus:
            memory = (gpu.memory_used / gpu.memory_total
                      if gpu.memory_used is not None and gpu.memory_total else None)
            self._util.setdefault(gpu.index, deque(maxlen=self.keep)).append(gpu.utilization)
            self._memory.setdefault(gpu.index, deque(maxlen=self.keep)).append(
                None if memory is None else memory * 100)

    def utilization(self, index: int) -> list[float | None]:
        return list(self._util.get(index, ()))

    def memory(self, index: int) -> list[float | None]:
        """Memory used, in percent of the GPU's total."""
        return list(self._memory.get(index, ()))
