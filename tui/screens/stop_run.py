"""Confirm a cancel or pause, and choose its grace period."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import Number
from textual.widgets import Button, Input, Label, Static

from .dialog import Dialog

__all__ = ["DEFAULT_GRACE", "StopRunDialog"]

DEFAULT_GRACE = 30


class StopRunDialog(Dialog[float]):
    """Dismissed with the grace period in seconds, or None to keep the run going."""

    def __init__(self, run_id: str, *, pause: bool) -> None:
        super().__init__()
        self.run_id, self.pause = run_id, pause

    def compose_dialog(self) -> ComposeResult:
        verb = "Pause" if self.pause else "Cancel"
        after = ("paused: resume it later from the kept checkpoint" if self.pause
                 else "canceled")
        with Vertical(classes="dialog"):
            yield Static(f"{verb} run {self.run_id}?", classes="dialog-title")
            yield Static(
                "Its process group gets the project's save signal (if it has one), then "
                "SIGTERM, and SIGKILL once the grace period is over. The newest complete "
                f"checkpoint is kept and the run ends {after}.", classes="dialog-text")
            yield Label("Grace period, seconds (0-3600)")
            yield Input(str(DEFAULT_GRACE), id="grace", type="integer",
                        validators=[Number(minimum=0, maximum=3600)])
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{verb} run", id="confirm", variant="error")
                yield Button("Keep running", id="keep")

    def on_mount(self) -> None:
        # The field first: digits typed replace the default (it starts selected), and
        # Enter confirms with what was typed.
        self.query_one("#grace", Input).focus()

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted, "#grace")
    def _confirm(self) -> None:
        field = self.query_one("#grace", Input)
        result = field.validate(field.value)
        if result is not None and not result.is_valid:
            self.notify("The grace period must be a whole number of seconds, 0-3600.",
                        severity="error")
            field.focus()
            return
        self.dismiss(float(field.value))

    @on(Button.Pressed, "#keep")
    def _keep(self) -> None:
        self.dismiss(None)
