"""Resume a run from a chosen checkpoint, as a new run."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from common.models import Artifact, RunDetail

from .dialog import Dialog

__all__ = ["ResumeDialog"]


class ResumeDialog(Dialog[RunDetail]):
    """Dismissed with the new run once the server started it."""

    def __init__(self, project_id: str, run: RunDetail, checkpoint: Artifact) -> None:
        super().__init__()
        self.project_id, self.run, self.checkpoint = project_id, run, checkpoint

    def compose_dialog(self) -> ComposeResult:
        ckpt = self.checkpoint
        kept = " (kept)" if "kept" in ckpt.tags or ckpt.id == self.run.kept_artifact_id else ""
        with Vertical(classes="dialog"):
            yield Static(f"Resume {self.run.id} from {ckpt.name}{kept}",
                         classes="dialog-title")
            yield Static(f"step {ckpt.step if ckpt.step is not None else '—'} · {ckpt.path}\n"
                         "A new run starts with TRAINYARD_RESUME_FROM set to this path; "
                         "{resume_from} in the command is replaced by it.",
                         classes="dialog-text")
            yield Label("Start command (empty: the run's own)")
            yield Input(self.run.start_command, id="command", select_on_focus=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Resume", id="confirm", variant="primary")
                yield Button("Back", id="back")

    def on_mount(self) -> None:
        # The field first, its start in view: Enter resumes with what the field holds.
        field = self.query_one("#command", Input)
        field.focus()
        field.cursor_position = 0

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted, "#command")
    def _confirm(self) -> None:
        self.query_one("#confirm", Button).disabled = True
        self._resume(self.query_one("#command", Input).value.strip())

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, exit_on_error=False)
    async def _resume(self, command: str) -> None:
        try:
            run = await self.tapp.api.resume(
                self.project_id, self.run.id, source_artifact_id=self.checkpoint.id,
                start_command=command if command and command != self.run.start_command
                else None)
        finally:
            self.query_one("#confirm", Button).disabled = False
        self.notify(f"Resumed as {run.id} from {self.checkpoint.name}")
        self.dismiss(run)
