"""Start a run: a start command, typed or picked from the project's last ones, and the GPUs
it asks for and its priority in the queue."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, OptionList, Static

from common.models import RunCreate, RunDetail

from ..widgets import PlacementFields
from .dialog import Dialog

__all__ = ["NOT_PLACED", "NewRunDialog"]

NOT_PLACED = "not placed"


class NewRunDialog(Dialog[RunDetail]):
    """Dismissed with the new run once the server started it."""

    def __init__(self, project_id: str, project_name: str, commands: list[str], *,
                 title: str = "New run", gpus: int | None = None, priority: int = 0,
                 empty_gpus: str = "the project's default") -> None:
        """``gpus`` and ``priority`` fill the fields; ``empty_gpus`` says what the server
        does when the GPU field is left empty."""
        super().__init__()
        self.project_id, self.project_name = project_id, project_name
        self.commands, self.title_text = commands, title
        self.gpus, self.priority, self.empty_gpus = gpus, priority, empty_gpus

    def compose_dialog(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"{self.title_text} · {self.project_name}", classes="dialog-title")
            yield Label("Start command (run with bash -c in the project's workdir)")
            yield Input(self.commands[0] if self.commands else "", id="command",
                        placeholder="e.g. llamafactory-cli train configs/sft.yaml",
                        select_on_focus=False)
            yield PlacementFields(gpus=self.gpus, priority=self.priority,
                                  empty_gpus=self.empty_gpus)
            if self.commands:
                yield Label("Recent commands (enter picks)")
                yield OptionList(*self.commands[:8], id="recent")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start run", id="confirm", variant="primary")
                yield Button("Close", id="back")

    def on_mount(self) -> None:
        self._show_start()

    def _show_start(self) -> None:
        """Focus the command with its start in view (the program, not the tail)."""
        field = self.query_one("#command", Input)
        field.focus()
        field.cursor_position = 0

    @on(OptionList.OptionSelected, "#recent")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#command", Input).value = self.commands[event.option_index]
        self._show_start()

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted, "#command, #gpus, #priority")
    def _confirm(self) -> None:
        command = self.query_one("#command", Input).value.strip()
        if not command:
            self.notify("Type a start command first.", severity="warning")
            return
        try:
            gpus, priority = self.query_one(PlacementFields).values()
            request = RunCreate(start_command=command, gpus=gpus, priority=priority or 0)
        except ValueError as error:  # checked as the server would: nothing is sent
            self.notify(str(error), severity="warning")
            return
        self.query_one("#confirm", Button).disabled = True
        self._start(request)

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, exit_on_error=False)
    async def _start(self, request: RunCreate) -> None:
        try:
            run = await self.tapp.api.start_run(self.project_id, request)
        finally:
            self.query_one("#confirm", Button).disabled = False
        self.notify(f"Started {run.id}")
        self.dismiss(run)
