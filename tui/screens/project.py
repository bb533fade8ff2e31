"""One project: its fields and its runs (live), and what you do with it: run, edit, archive."""

from __future__ import annotations

import asyncio
import time

import msgspec
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable

from common.client import ServerEvent
from common.models import ProgressInfo, Project, ProjectUpdate, RunDetail

from ..remote import changes, fetch
from ..widgets import Line, ProjectFields, RunsTable
from .base import ViewScreen
from .compare import CompareScreen
from .new_run import NOT_PLACED, NewRunDialog
from .project_form import ProjectForm
from .run import RunScreen

__all__ = ["ProjectScreen", "recent_commands"]

DETAILS_FOR = 25  # newest runs whose loss is shown (one request each)
LOSS_EVERY = 5.0  # seconds between loss refreshes of a live run
REFETCH_DELAY = 0.3
MAX_COMPARED = 20  # what GET /compare takes


def recent_commands(project: Project) -> list[str]:
    """The project's start commands, newest first, each once."""
    return list(dict.fromkeys(run.start_command for run in project.runs))


class ProjectScreen(ViewScreen):
    GUIDE = ("The project's fields and its runs, newest first, updated live; the loss "
             "column shows each run's latest loss. A new run offers the project's recent "
             "commands. An archived project keeps its runs but starts no new ones. m marks runs "
             "(◆), c compares the marked ones.")
    BINDINGS = [
        Binding("enter", "open", "Open run", priority=True),
        Binding("n", "new_run", "New run"),
        Binding("e", "edit", "Edit"),
        Binding("a", "archive", "Archive"),
        Binding("a", "unarchive", "Unarchive"),
        Binding("m", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
    ]

    class Loaded(Message):
        def __init__(self, project: Project) -> None:
            super().__init__()
            self.project = project

    class DetailsLoaded(Message):
        def __init__(self, details: list[RunDetail]) -> None:
            super().__init__()
            self.details = details

    class Progressed(Message):
        def __init__(self, run_id: str, info: ProgressInfo) -> None:
            super().__init__()
            self.run_id, self.info = run_id, info

    def __init__(self, project_ref: str, name: str | None = None) -> None:
        super().__init__()
        self.project_ref = project_ref
        self.name_hint = name or project_ref
        self.project: Project | None = None
        self.details: dict[str, RunDetail] = {}
        self._loss_fetched: dict[str, float] = {}
        self._refetch: Timer | None = None
        self.marked: list[str] = []  # runs to compare, in the order marked

    def crumbs(self) -> tuple[str, ...]:
        return (self.project.name if self.project else self.name_hint,)

    def compose_body(self) -> ComposeResult:
        yield ProjectFields(id="fields")
        yield Line(" Runs", id="runs-title", classes="section-title")
        yield RunsTable(id="runs")

    def on_mount(self) -> None:
        self.query_one(RunsTable).focus()
        self._follow_changes()  # its first event, "reset", loads the project
        self.set_interval(1.0, self._tick)  # durations of live runs

    # -- data -------------------------------------------------------------------------
    @work(exclusive=True, group="load", exit_on_error=False)
    async def _load(self) -> None:
        api, link = self.tapp.api, self.tapp.link
        project = await fetch(link, lambda: api.get_project(self.project_ref))
        self.post_message(self.Loaded(project))
        limit = asyncio.Semaphore(4)

        async def detail(run_id: str) -> RunDetail:
            async with limit:
                return await fetch(link, lambda: api.get_run(project.id, run_id))

        # Details (for the loss) of the runs that are new, live, or changed status.
        runs = [run for run in project.runs[:DETAILS_FOR]
                if run.id not in self.details or run.status in ("pending", "running")
                or self.details[run.id].status != run.status]
        details = await asyncio.gather(*(detail(run.id) for run in runs))
        self.post_message(self.DetailsLoaded(list(details)))

    @work(group="loss", exit_on_error=False)
    async def _fetch_detail(self, run_id: str) -> None:
        if self.project is None:
            return
        project_id = self.project.id
        detail = await fetch(self.tapp.link, lambda: self.tapp.api.get_run(project_id, run_id))
        self.post_message(self.DetailsLoaded([detail]))

    @work(exclusive=True, group="changes", exit_on_error=False)
    async def _follow_changes(self) -> None:
        async for event in changes(self.tapp.link, self.tapp.api):
            self._on_change(event)

    def _on_change(self, event: ServerEvent) -> None:
        project = self.project
        if event.event == "reset":  # connected, or back after a restart: fetch it all
            self._load()
        elif project is None:
            return
        elif event.event == "project.updated" and event.data.get("id") == project.id:
            self.post_message(self.Loaded(msgspec.convert(event.data, Project)))
        elif event.event == "run.progress" and event.data["run_id"] in self.details:
            info = msgspec.convert(event.data["data"], ProgressInfo)
            self.post_message(self.Progressed(event.data["run_id"], info))
        elif event.event == "run.status":
            if self._refetch is not None:
                self._refetch.stop()
            self._refetch = self.set_timer(REFETCH_DELAY, self._load)

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.project = message.project
        self.tapp.project_names[message.project.id] = message.project.name
        self.set_crumbs()
        self.refresh_bindings()
        self._redraw()

    @on(DetailsLoaded)
    def _details_loaded(self, message: DetailsLoaded) -> None:
        self.details.update({d.id: d for d in message.details})
        self._redraw()

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        if self.project is None:
            return
        runs = self.project.runs
        for index, run in enumerate(runs):
            if run.id == message.run_id:
                runs[index] = msgspec.structs.replace(run, progress=message.info.progress)
        now = time.monotonic()
        if now - self._loss_fetched.get(message.run_id, 0) >= LOSS_EVERY:
            self._loss_fetched[message.run_id] = now
            self._fetch_detail(message.run_id)
        self._redraw()

    def _tick(self) -> None:
        if self.project and any(r.status in ("pending", "running") for r in self.project.runs):
            self._redraw()

    def _redraw(self) -> None:
        if self.project is None:
            return
        now = self.tapp.now()
        self.query_one(ProjectFields).show(self.project, now)
        self.query_one(RunsTable).show(self.project.runs, self.details, now,
                                       frozenset(self.marked))
        live = sum(run.status in ("pending", "running") for run in self.project.runs)
        title = f" Runs ({len(self.project.runs)}" + (f", {live} live)" if live else ")")
        if not self.project.runs:
            title += " · n starts one"
        self.query_one("#runs-title", Line).set(title)

    # -- actions ----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        archived = self.project is not None and self.project.status == "archived"
        if action == "archive":
            return not archived
        if action == "unarchive":
            return archived
        if action == "new_run":
            return None if archived else True  # shown, greyed out
        return super().check_action(action, parameters)

    @on(DataTable.RowSelected, "#runs")  # a click on the highlighted row
    def _clicked(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        run_id = self.query_one(RunsTable).selected_key
        if run_id is None or self.project is None:
            return
        self.app.push_screen(RunScreen(self.project.id, run_id, self.project.name))

    def action_mark(self) -> None:
        run_id = self.query_one(RunsTable).selected_key
        if run_id is None:
            return
        if run_id in self.marked:
            self.marked.remove(run_id)
        elif len(self.marked) >= MAX_COMPARED:
            self.notify(f"At most {MAX_COMPARED} runs compare at once", severity="warning")
            return
        else:
            self.marked.append(run_id)
        self._redraw()

    def action_compare(self) -> None:
        if self.project is None:
            return
        if len(self.marked) < 2:
            self.notify("Mark two or more runs with m, then c compares them")
            return
        self.app.push_screen(CompareScreen(list(self.marked), self.project.name))

    def action_new_run(self) -> None:
        if self.project is None:
            return
        project = self.project

        def started(run: RunDetail | None) -> None:
            if run is not None:
                self.app.push_screen(RunScreen(project.id, run.id, project.name))

        self.app.push_screen(NewRunDialog(
            project.id, project.name, recent_commands(project), gpus=project.gpus,
            empty_gpus=NOT_PLACED if project.gpus is None else f"the project's {project.gpus}"),
            started)

    def action_edit(self) -> None:
        if self.project is None:
            return
        def saved(project: Project | None) -> None:
            if project is not None:
                self.post_message(self.Loaded(project))
                self.notify(f"Saved {project.name}")

        self.app.push_screen(ProjectForm(self.project), saved)

    def action_archive(self) -> None:
        self._set_status("archived")

    def action_unarchive(self) -> None:
        self._set_status("active")

    @work(group="action", exit_on_error=False)
    async def _set_status(self, status: str) -> None:
        if self.project is None:
            return
        update = ProjectUpdate(status=status)  # type: ignore[arg-type]
        project = await self.tapp.api.update_project(self.project.id, update)
        self.post_message(self.Loaded(project))
        done = "Archived" if status == "archived" else "Unarchived"
        self.notify(f"{done} {project.name}" + (" (a unarchives)" if status == "archived"
                                                 else ""))
