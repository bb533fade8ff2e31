"""One line of text that changes often (counts, states) without relayouting the screen.

``Static.update`` asks for a new layout every time; a fixed one-line widget only needs
to be redrawn, which matters when a log stream updates it many times a second.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

__all__ = ["Line"]


class Line(Widget):
    DEFAULT_CSS = """
    Line {
        height: 1;
    }
    """

    def __init__(self, text: str | Text = "", *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = text

    def set(self, text: str | Text) -> None:
        if text != self.text:
            self.text = text
            self.refresh()

    def render(self) -> str | Text:
        return self.text
