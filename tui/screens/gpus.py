"""Every GPU of the server, live: utilisation and memory with history, heat, power, runs,
and from the GPU queue the run each GPU was given to and the processes outside Trainyard."""

from __future__ import annotations

import msgspec
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from common.models import GpuHolder, GpuSnapshot, Queue

from ..remote import changes, fetch
from ..widgets import GpuCard
from .base import ViewScreen

__all__ = ["GpusScreen"]


class GpusScreen(ViewScreen):
    GUIDE = ("Every GPU of the server from its NVML samples, live: utilisation and memory "
             "with their recent history (kept since the TUI started), temperature, power, "
             "the run the GPU queue gave each GPU to, the runs whose processes use it, and "
             "the processes outside Trainyard that keep runs off it.")

    class QueueChanged(Message):
        def __init__(self, queue: Queue) -> None:
            super().__init__()
            self.queue = queue

    def __init__(self) -> None:
        super().__init__()
        self.holders: dict[int, GpuHolder] | None = None  # None until GET /queue answers

    def crumbs(self) -> tuple[str, ...]:
        return ("GPUs",)

    def compose_body(self) -> ComposeResult:
        yield Static(id="gpus-summary")
        yield VerticalScroll(id="gpu-cards")

    def on_mount(self) -> None:
        self.watch(self.tapp, "gpu_snapshot", self._show)
        self._follow_queue()

    @work(exclusive=True, group="queue", exit_on_error=False)
    async def _follow_queue(self) -> None:
        api, link = self.tapp.api, self.tapp.link
        async for event in changes(link, api):
            if event.event == "queue":
                self.post_message(self.QueueChanged(msgspec.convert(event.data, Queue)))
            elif event.event == "reset":
                self.post_message(self.QueueChanged(await fetch(link, api.queue)))

    @on(QueueChanged)
    async def _queue_changed(self, message: QueueChanged) -> None:
        holders = {g.index: g for g in message.queue.gpus}
        if holders != self.holders:
            self.holders = holders
            await self._show(self.tapp.gpu_snapshot)

    def _holders_summary(self) -> str:
        if self.holders is None:
            return ""
        given = sum(g.run_id is not None for g in self.holders.values())
        foreign = sum(bool(g.foreign) for g in self.holders.values())
        text = f" · {given} given to runs"
        return text + (f" · {foreign} used outside Trainyard" if foreign else "")

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
        summary.update(f" {len(snapshot.gpus)} GPUs · {used} in use{self._holders_summary()}"
                       f" · driver "
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
                                     history.memory(gpu.index), self.tapp.project_names,
                                     (self.holders or {}).get(gpu.index))
