"""Every GPU of the server, live: utilisation and memory with history, heat, power, runs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from common.models import GpuSnapshot

from ..widgets import GpuCard
from .base import ViewScreen

__all__ = ["GpusScreen"]


class GpusScreen(ViewScreen):
    GUIDE = ("Every GPU of the server from its NVML samples, live: utilisation and memory "
             "with their recent history (kept since the TUI started), temperature, power, "
             "and the runs whose processes use each GPU.")
    def crumbs(self) -> tuple[str, ...]:
        return ("GPUs",)

    def compose_body(self) -> ComposeResult:
        yield Static(id="gpus-summary")
        yield VerticalScroll(id="gpu-cards")

    def on_mount(self) -> None:
        self.watch(self.tapp, "gpu_snapshot", self._show)

    async def _show(self, snapshot: GpuSnapshot | None) -> None:
        summary = self.query_one("#gpus-summary", Static)
        cards = self.query_one("#gpu-cards", VerticalScroll)
        if snapshot is None:
            summary.update(" waiting for the first GPU sample…")
            return
        if not snapshot.available:
            summary.update(" No GPU: the server has no GPU telemetry.\n\n "
                           f"{snapshot.reason or 'It gave no reason.'}")
            summary.add_class("-unavailable")
            await cards.remove_children()
            return
        summary.remove_class("-unavailable")
        used = sum(bool(g.processes) for g in snapshot.gpus)
        summary.update(f" {len(snapshot.gpus)} GPUs · {used} in use · driver "
                       f"{snapshot.driver or '—'} · history: last {self.tapp.gpu_history.keep} "
                       "samples")
        existing = {card.device.index: card for card in cards.query(GpuCard)}
        if set(existing) != {g.index for g in snapshot.gpus}:
            await cards.remove_children()
            existing = {}
            await cards.mount_all([GpuCard(g) for g in snapshot.gpus])
            existing = {card.device.index: card for card in cards.query(GpuCard)}
        history = self.tapp.gpu_history
        for gpu in snapshot.gpus:
            existing[gpu.index].show(gpu, history.utilization(gpu.index),
                                     history.memory(gpu.index), self.tapp.project_names)
