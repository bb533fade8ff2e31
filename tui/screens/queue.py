"""The GPU queue, live: the runs waiting for GPUs in the order they will start, and why."""

from __future__ import annotations

import msgspec
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from common.client import ServerEvent
from common.models import Queue

from ..remote import changes, fetch
from ..widgets import Line, QueueTable
from .base import ViewScreen
from .run import RunScreen

__all__ = ["QueueScreen", "queue_summary"]

FIXED_COLUMNS = 64  # the cells of every column but the reason, with their padding


def queue_summary(queue: Queue) -> str:
    """``3 runs waiting · 8 GPUs: 6 held by runs, 1 used outside Trainyard``."""
    waiting = len(queue.runs)
    head = (f"{waiting} run{'s' if waiting != 1 else ''} waiting for GPUs" if waiting
            else "No run is waiting for GPUs")
    if not queue.gpus:
        return f" {head} · the server hands out no GPU (none seen)"
    held = sum(g.run_id is not None for g in queue.gpus)
    foreign = sum(bool(g.foreign) and g.run_id is None for g in queue.gpus)
    unreadable = sum(not g.readable for g in queue.gpus)
    facts = [f"{held} held by runs"]
    if foreign:
        facts.append(f"{foreign} used outside Trainyard")
    if unreadable:
        facts.append(f"{unreadable} unreadable")
    return f" {head} · {len(queue.gpus)} GPUs: " + ", ".join(facts)


class QueueScreen(ViewScreen):
    GUIDE = ("Runs waiting for GPUs, in the order they will start (priority, then arrival), "
             "updated live: GPUs asked, how long each has waited, and why it waits. The "
             "selected run's whole reason is shown below the table; enter opens the run.")
    BINDINGS = [Binding("enter", "open", "Open run", priority=True)]

    class Loaded(Message):
        def __init__(self, queue: Queue) -> None:
            super().__init__()
            self.queue = queue

    def __init__(self) -> None:
        super().__init__()
        self.queue: Queue | None = None  # None until the first answer: not "empty"

    def crumbs(self) -> tuple[str, ...]:
        return ("Queue",)

    def compose_body(self) -> ComposeResult:
        yield Line(f" Loading the queue from {self.tapp.url}…", id="queue-summary")
        yield QueueTable(id="queue")
        yield Line(id="queue-reason-title", classes="section-title")
        yield Line(id="queue-reason")

    def on_mount(self) -> None:
        self.query_one(QueueTable).focus()
        self.set_interval(1, self._redraw)  # the waiting times
        self._follow()

    # -- data -----------------------------------------------------------------------
    @work(exclusive=True, group="queue", exit_on_error=False)
    async def _follow(self) -> None:
        async for event in changes(self.tapp.link, self.tapp.api):
            self._on_change(event)

    def _on_change(self, event: ServerEvent) -> None:
        if event.event == "queue":
            self.post_message(self.Loaded(msgspec.convert(event.data, Queue)))
        elif event.event == "reset":  # live now (or back after a restart): fetch it whole
            self._load()

    @work(exclusive=True, group="load", exit_on_error=False)
    async def _load(self) -> None:
        self.post_message(self.Loaded(await fetch(self.tapp.link, self.tapp.api.queue)))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.queue = message.queue
        self._redraw()

    # -- drawing ----------------------------------------------------------------------
    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        queue = self.queue
        if queue is None:
            return
        self.query_one("#queue-summary", Line).set(queue_summary(queue))
        table = self.query_one(QueueTable)
        table.show(queue.runs, self.tapp.now(), self.tapp.project_names,
                   max(self.size.width - FIXED_COLUMNS, 12))
        self._show_reason()

    @on(DataTable.RowHighlighted, "#queue")
    def _show_reason(self) -> None:
        queue, run_id = self.queue, self.query_one(QueueTable).selected_key
        run = next((r for r in queue.runs if r.run_id == run_id), None) if queue else None
        title = self.query_one("#queue-reason-title", Line)
        reason = self.query_one("#queue-reason", Line)
        if run is None:
            title.set("")
            reason.set("")
            return
        title.set(f" Why {run.run_id} waits")
        reason.set(Text(run.reason or "no reason given yet"))

    # -- actions ----------------------------------------------------------------------
    @on(DataTable.RowSelected, "#queue")
    def _clicked(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        run_id = self.query_one(QueueTable).selected_key
        run = next((r for r in self.queue.runs if r.run_id == run_id), None) \
            if self.queue else None
        if run is None:
            return
        name = self.tapp.project_names.get(run.project_id)
        self.app.push_screen(RunScreen(run.project_id, run.run_id, name))
