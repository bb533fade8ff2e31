"""How many GPUs a run asks for and its priority in the queue: two fields of a dialog.

What is typed is what is sent: an empty GPU field sends no ``gpus`` (the server then uses
the default the label names), an empty priority sends the default, 0.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label

__all__ = ["PlacementFields"]


class PlacementFields(Horizontal):
    DEFAULT_CSS = """
    PlacementFields {
        height: auto;
        margin-top: 1;
    }
    PlacementFields .placement-hint {
        color: $text-muted;
    }
    PlacementFields Label {
        padding: 0 1 0 0;
    }
    PlacementFields Input {
        width: 8;
        margin-right: 2;
    }
    """

    def __init__(self, *, gpus: int | None, priority: int = 0, empty_gpus: str) -> None:
        super().__init__()
        self.gpus, self.priority, self.empty_gpus = gpus, priority, empty_gpus

    def compose(self) -> ComposeResult:
        yield Label("GPUs")
        yield Input("" if self.gpus is None else str(self.gpus), type="integer", id="gpus",
                    placeholder="—", compact=True, select_on_focus=False)
        yield Label("Priority")
        yield Input(str(self.priority), type="integer", id="priority", compact=True,
                    select_on_focus=False)
        yield Label(f"(empty GPUs: {self.empty_gpus})", classes="placement-hint")

    def values(self) -> tuple[int | None, int | None]:
        """The GPUs and the priority typed (None where a field is empty)."""
        def read(field: str, name: str) -> int | None:
            text = self.query_one(f"#{field}", Input).value.strip()
            try:
                return int(text) if text else None  # type="integer": digits and a sign
            except ValueError:
                raise ValueError(f"{name}: type a whole number ({text!r} is not)") from None
        return read("gpus", "GPUs"), read("priority", "Priority")
