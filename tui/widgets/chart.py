"""A braille line chart of a run's losses, growing as metrics arrive."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from ..drawing import braille_plot
from ..format import number

__all__ = ["RUN_COLORS", "LineChart"]

COLORS = ("cyan", "magenta", "yellow")
# One colour per run when runs are overlaid (compare view); they repeat past ten.
RUN_COLORS = ("cyan", "magenta", "yellow", "green", "red", "blue", "bright_white",
              "bright_cyan", "bright_magenta", "bright_yellow")
LABEL_WIDTH = 8


class LineChart(Widget):
    DEFAULT_CSS = """
    LineChart {
        height: 8;
    }
    """

    def __init__(self, *, empty: str = "no loss reported yet", id: str | None = None,
                 palette: tuple[str, ...] = COLORS) -> None:
        super().__init__(id=id)
        self.empty = empty
        self.palette = palette
        self._series: dict[str, list[tuple[int, float]]] = {}

    def show(self, series: dict[str, dict[int, float]], keys: list[str]) -> None:
        self._series = {key: sorted(series[key].items()) for key in keys if series.get(key)}
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        plot_width, plot_height = width - LABEL_WIDTH, height - 2
        if not self._series or plot_width < 4 or plot_height < 1:
            return Text(self.empty, style="dim")
        points = [p for series in self._series.values() for p in series]
        x_lo, x_hi = min(p[0] for p in points), max(p[0] for p in points)
        y_lo, y_hi = min(p[1] for p in points), max(p[1] for p in points)
        rows = braille_plot(list(self._series.values()), plot_width, plot_height,
                            (x_lo, x_hi), (y_lo, y_hi))
        out = self._legend()
        for index, row in enumerate(rows):
            out.append("\n")
            label = ""
            if index == 0:
                label = number(y_hi)
            elif index == len(rows) - 1:
                label = number(y_lo)
            out.append(f"{label:>{LABEL_WIDTH - 1}}┤", style="dim")
            for char, owner in row:
                out.append(char, style=self.palette[owner % len(self.palette)]
                           if owner >= 0 else "")
        left, right = f"step {x_lo}", f"{x_hi}"
        gap = max(plot_width - len(left) - len(right), 1)
        out.append("\n" + " " * LABEL_WIDTH + left + " " * gap + right, style="dim")
        return out

    def _legend(self) -> Text:
        legend = Text(" " * LABEL_WIDTH)
        for index, (key, series) in enumerate(self._series.items()):
            if index:
                legend.append("   ")
            legend.append("━ ", style=self.palette[index % len(self.palette)])
            legend.append(f"{key} ")
            legend.append(number(series[-1][1]), style="bold")
        return legend
