"""Create a project, or edit the fields ``PATCH /projects/{ref}`` accepts."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from common.client import ApiError
from common.models import SAVE_SIGNALS, Project, ProjectCreate, ProjectUpdate
from common.validation import body_errors

from ..format import api_error_text
from .dialog import Dialog

__all__ = ["FIELDS", "ProjectForm", "changes"]

# (field, label, required); "name" only when creating, it cannot change later.
FIELDS = (
    ("name", "Name", True), ("objective", "Objective", True), ("task_type", "Task type", True),
    ("owner", "Owner", True), ("dataset_name", "Dataset", True),
    ("training_yaml_name", "Training YAML", True), ("description", "Description", False),
    ("tags", "Tags (comma-separated)", False), ("container", "Container override", False),
    ("workdir", "Workdir override", False), ("output_dir", "Output dir override", False),
)
OPTIONAL = ("container", "workdir", "output_dir", "save_signal")


def _value(project: Project | None, field: str) -> str:
    if project is None:
        return ""
    value = getattr(project, field)
    if field == "tags":
        return ", ".join(value)
    return value or ""


def _parse(field: str, text: str) -> Any:
    """The value as typed: never trimmed (a name with stray spaces is refused, saying so,
    rather than saved as something else); tags are split at commas."""
    if field == "tags":
        return [tag.strip() for tag in text.split(",") if tag.strip()]
    if field in OPTIONAL:
        return text if text.strip() else None
    return text


def changes(project: Project, values: dict[str, str]) -> dict[str, Any]:
    """The fields whose value differs from the project's: a PATCH body."""
    return {field: _parse(field, text) for field, text in values.items()
            if field != "name" and _parse(field, text) != getattr(project, field)}


class ProjectForm(Dialog[Project]):
    """Dismissed with the created or saved project."""

    BINDINGS = [Binding("ctrl+s", "save", "Save")]

    def __init__(self, project: Project | None = None) -> None:
        super().__init__()
        self.project = project

    def compose_dialog(self) -> ComposeResult:
        title = f"Edit {self.project.name}" if self.project else "New project"
        with Vertical(classes="dialog dialog-wide"):
            yield Static(title, classes="dialog-title")
            with Grid(id="form"):
                for field, label, required in FIELDS:
                    if field == "name" and self.project is not None:
                        continue
                    yield Label(label + (" *" if required else ""))
                    yield Input(_value(self.project, field), id=f"field-{field}",
                                compact=True)
                yield Label("Save signal")
                current = self.project.save_signal if self.project else None
                yield Select([(s, s) for s in SAVE_SIGNALS], value=current or Select.NULL,
                             prompt="none", compact=True, id="field-save_signal")
            yield Static("", id="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save" if self.project else "Create", id="confirm",
                             variant="primary")
                yield Button("Close", id="back")

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {field.id.removeprefix("field-"): field.value
                               for field in self.query(Input) if field.id}
        signal = self.query_one("#field-save_signal", Select).value
        out["save_signal"] = "" if signal is Select.NULL else str(signal)
        return out

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted)
    def action_save(self) -> None:
        self._save(self.values())

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, exit_on_error=False)
    async def _save(self, values: dict[str, str]) -> None:
        api = self.tapp.api
        error = self.query_one("#form-error", Static)
        if self.project is None:
            body = {field: _parse(field, text) for field, text in values.items()}
        else:
            body = changes(self.project, values)
            if not body:
                self.dismiss(None)
                return
        # The server's own rules, checked here first: every bad field at once, in place.
        problems = body_errors(ProjectCreate if self.project is None else ProjectUpdate, body)
        if problems:
            error.update("\n".join(f"{p.field}: {p.message}" if p.field else p.message
                                   for p in problems))
            if problems[0].field:
                self.query(f"#field-{problems[0].field}").focus()
            return
        try:
            if self.project is None:
                saved = await api.create_project(ProjectCreate(**body))
            else:
                saved = await api.update_project(self.project.id, ProjectUpdate(**body))
        except (ApiError, ValueError, TypeError) as failure:
            message = api_error_text(failure) if isinstance(failure, ApiError) else str(failure)
            error.update(message)
            if isinstance(failure, ApiError):
                raise  # reported by the app, with the server's code
            return
        self.dismiss(saved)
