"""The projects list: filter as you type, archived ones on request, live from ``/events``."""

from __future__ import annotations

from datetime import datetime

import msgspec
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input

from common.client import ServerEvent
from common.models import Project, ProjectSummary

from ..remote import changes, fetch
from ..widgets import Line, ProjectsTable
from .base import ViewScreen
from .project import ProjectScreen
from .project_form import ProjectForm

__all__ = ["ProjectsScreen", "matches"]



class _RunCounts(msgspec.Struct):
    """What a run's creation changes in its project's row (``run.status`` events)."""

    runs_started: int
    updated_at: datetime


def matches(project: ProjectSummary, needle: str) -> bool:
    needle = needle.casefold()
    fields = (project.name, project.description, project.objective, project.owner,
              project.task_type, *project.tags)
    return any(needle in field.casefold() for field in fields)


class ProjectsScreen(ViewScreen):
    GUIDE = ("Projects, newest first, updated live. / filters on name, description, "
             "objective, owner, task type and tags; esc clears the filter. m shows only "
             "yours (the server's ?owner=me: owner is your user name), m again all.")
    BINDINGS = [
        Binding("enter", "open", "Open", priority=True),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("a", "show_archived(True)", "Show archived"),
        Binding("a", "show_archived(False)", "Hide archived"),
        Binding("m", "mine(True)", "Mine"),
        Binding("m", "mine(False)", "All"),
        Binding("n", "new_project", "New"),
    ]

    class Loaded(Message):
        def __init__(self, projects: list[ProjectSummary]) -> None:
            super().__init__()
            self.projects = projects

    class Changed(Message):
        def __init__(self, project: ProjectSummary) -> None:
            super().__init__()
            self.project = project

    def __init__(self) -> None:
        super().__init__()
        self.projects: dict[str, ProjectSummary] = {}
        self.show_archived = False
        self.mine = False  # only the caller's projects (GET /projects?owner=me)
        self.loaded = False  # until then, an empty table would read as "no projects"


    def compose_body(self) -> ComposeResult:
        yield Input(placeholder="/ filter by name, owner, task, tag…", compact=True,
                    id="filter")
        yield Line(f" Loading projects from {self.tapp.url}…", id="projects-summary")
        yield ProjectsTable(id="projects")

    def on_mount(self) -> None:
        self.set_interval(15, self._redraw)  # the "updated … ago" column
        self.start()

    def start(self) -> None:
        """Follow the changes (again, after a refused token was replaced)."""
        self.query_one(ProjectsTable).focus()
        self._follow_changes()  # its first event, "reset", loads the list

    # -- data -----------------------------------------------------------------------
    @work(exclusive=True, group="load", exit_on_error=False)
    async def _load(self) -> None:
        api = self.tapp.api
        projects = await fetch(self.tapp.link, lambda: api.list_projects(
            owner="me" if self.mine else None))
        self.post_message(self.Loaded(projects))

    @work(exclusive=True, group="changes", exit_on_error=False)
    async def _follow_changes(self) -> None:
        async for event in changes(self.tapp.link, self.tapp.api):
            self._on_change(event)

    def _on_change(self, event: ServerEvent) -> None:
        if event.event in ("project.created", "project.updated") and self.mine:
            self._load()  # only the server knows whose it is now (owner=me)
        elif event.event in ("project.created", "project.updated"):
            self.post_message(self.Changed(msgspec.convert(event.data, ProjectSummary)))
        elif event.event == "reset":  # connected, or back after a restart: fetch it all
            self._load()
        elif event.event == "run.status" and "project" in event.data:
            # A run was created: its project's run count and update time moved.
            project = self.projects.get(event.data["project_id"])
            if project is not None:
                changed = msgspec.convert(event.data["project"], _RunCounts)
                self.post_message(self.Changed(msgspec.structs.replace(
                    project, runs_started=changed.runs_started,
                    updated_at=changed.updated_at)))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.loaded = True
        self.projects = {p.id: p for p in message.projects}
        self.tapp.project_names.update({p.id: p.name for p in message.projects})
        self._redraw()

    @on(Changed)
    def _changed(self, message: Changed) -> None:
        self.projects[message.project.id] = message.project
        self.tapp.project_names[message.project.id] = message.project.name
        self._redraw()

    # -- drawing ----------------------------------------------------------------------
    def shown_projects(self) -> list[ProjectSummary]:
        needle = self.query_one("#filter", Input).value.strip()
        shown = [p for p in self.projects.values()
                 if (self.show_archived or p.status != "archived")
                 and (not needle or matches(p, needle))]
        return sorted(shown, key=lambda p: p.created_at, reverse=True)

    def _redraw(self) -> None:
        if not self.loaded:
            return
        shown = self.shown_projects()
        self.query_one(ProjectsTable).show(shown, self.tapp.now())
        archived = sum(p.status == "archived" for p in self.projects.values())
        summary = f" {len(shown)} of {len(self.projects)} projects"
        if self.mine:
            summary = f" {len(shown)} of your {len(self.projects)} projects (m shows all)"
        if not self.projects:
            summary = (" No project of yours (m shows all)." if self.mine
                       else " No projects yet: n creates one.")
        if archived:
            summary += (" · archived shown" if self.show_archived
                        else f" · {archived} archived hidden (a shows)")
        self.query_one("#projects-summary", Line).set(summary)

    # -- actions ----------------------------------------------------------------------
    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._redraw()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(ProjectsTable).focus()

    def key_down(self) -> None:
        if self.focused is self.query_one("#filter"):
            self.query_one(ProjectsTable).focus()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_back(self) -> None:
        """Esc: leave and clear the filter."""
        field = self.query_one("#filter", Input)
        field.value = ""
        self.query_one(ProjectsTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            field = self.query_one("#filter", Input)
            return bool(field.value) or field.has_focus
        if action == "show_archived":  # one of the two "a" keys: the one that changes it
            return parameters != (self.show_archived,)
        if action == "mine":
            return parameters != (self.mine,)
        return super().check_action(action, parameters)

    def action_mine(self, mine: bool) -> None:
        self.mine = mine
        self.loaded = False  # the other list until the server answers: say so
        self.query_one("#projects-summary", Line).set(
            " Loading your projects…" if mine else " Loading all projects…")
        self._load()
        self.refresh_bindings()

    def action_show_archived(self, show: bool) -> None:
        self.show_archived = show
        self._redraw()
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#projects")  # a click on the highlighted row
    def _clicked(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        """Enter opens the highlighted project, from the filter field too (one press)."""
        if self.focused is self.query_one("#filter"):
            self.query_one(ProjectsTable).focus()
        project_id = self.query_one(ProjectsTable).selected_key
        if project_id is None:
            return
        self.app.push_screen(ProjectScreen(project_id, self.projects[project_id].name))

    def action_new_project(self) -> None:
        def created(project: Project | None) -> None:
            if project is not None:
                self.post_message(self.Changed(project))
                self.notify(f"Created project {project.name}")

        self.app.push_screen(ProjectForm(), created)
