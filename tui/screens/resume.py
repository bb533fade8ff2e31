"""Resume a run from a chosen checkpoint, as a new run: its command, GPUs and priority."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from common.models import Artifact, ResumeRequest, RunDetail

from ..widgets import PlacementFields
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
            yield PlacementFields(gpus=self.run.gpus, priority=self.run.priority,
                                  empty_gpus="as the run" if self.run.gpus is not None
                                  else "not placed")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Resume", id="confirm", variant="primary")
                yield Button("Back", id="back")

    def on_mount(self) -> None:
        # The field first, its start in view: Enter resumes with what the field holds.
        field = self.query_one("#command", Input)
        field.focus()
        field.cursor_position = 0

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted, "#command, #gpus, #priority")
    def _confirm(self) -> None:
        command = self.query_one("#command", Input).value.strip()
        try:
            gpus, priority = self.query_one(PlacementFields).values()
            request = ResumeRequest(
                start_command=command if command and command != self.run.start_command
                else None, gpus=gpus, priority=priority)
        except ValueError as error:  # nothing is sent
            self.notify(str(error), severity="warning")
            return
        self.query_one("#confirm", Button).disabled = True
        self._resume(request)

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, exit_on_error=False)
    async def _resume(self, request: ResumeRequest) -> None:
        try:
            run = await self.tapp.api.resume_with(self.project_id, self.run.id, request,
                                                  source_artifact_id=self.checkpoint.id)
        finally:
            self.query_one("#confirm", Button).disabled = False
        self.notify(f"Resumed as {run.id} from {self.checkpoint.name}")
        self.dismiss(run)
