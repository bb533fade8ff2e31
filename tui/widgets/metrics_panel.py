"""The latest value of each metric a run reported."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from ..format import number

__all__ = ["MetricsPanel", "metric_order"]

FIRST = ("loss", "eval_loss", "learning_rate", "grad_norm", "epoch")


def metric_order(name: str) -> tuple[int, str]:
    return (FIRST.index(name) if name in FIRST else len(FIRST), name)


class MetricsPanel(Widget):
    DEFAULT_CSS = """
    MetricsPanel {
        width: 30;
        height: 100%;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.metrics: dict[str, float] = {}

    def show(self, metrics: dict[str, float]) -> None:
        self.metrics = dict(metrics)
        # Wide enough for the longest name (eval_samples_per_second) where the screen
        # has room; 30 columns at 80.
        longest = max((len(n) for n in metrics), default=0)
        width = min(max(longest + 15, 30), max(self.app.size.width // 4, 30))
        if self.styles.width is None or self.styles.width.value != width:
            self.styles.width = width
        self.refresh()

    def render(self) -> Text:
        if not self.metrics:
            return Text("no metrics yet", style="dim")
        names = sorted(self.metrics, key=metric_order)
        width = self.size.width - 2 or 28
        key_width = min(max(len(n) for n in names), max(width - 11, 6))
        out = Text()
        for index, name in enumerate(names[: max(self.size.height, 1)]):
            if index:
                out.append("\n")
            label = name if len(name) <= key_width else name[: key_width - 1] + "…"
            out.append(f"{label:<{key_width}} ", style="dim")
            out.append(f"{number(self.metrics[name]):>10}",
                       style="bold" if "loss" in name else "")
        return out
