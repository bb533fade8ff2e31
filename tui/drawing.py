"""Text drawing: bars, block sparklines and braille line plots.

Pure functions over numbers, so the widgets stay small and the output is testable. Only
Unicode blocks and braille are used (no plotting library): they work in any UTF-8
terminal, over SSH, at any colour depth.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

__all__ = ["BLOCKS", "bar", "braille_plot", "sparkline"]

BLOCKS = "▁▂▃▄▅▆▇█"
BRAILLE_BASE = 0x2800
# Bit of each dot in a braille cell, by (column, row) within the 2x4 cell.
_DOT = {(0, 0): 0x01, (0, 1): 0x02, (0, 2): 0x04, (1, 0): 0x08,
        (1, 1): 0x10, (1, 2): 0x20, (0, 3): 0x40, (1, 3): 0x80}


def bar(fraction: float | None, width: int) -> tuple[str, str]:
    """A bar ``width`` cells wide, as (filled, empty) parts to style apart; half-cell steps."""
    width = max(width, 0)
    if fraction is None:
        return "", "░" * width
    halves = round(min(max(fraction, 0.0), 1.0) * width * 2)
    filled = "█" * (halves // 2) + ("▌" if halves % 2 else "")
    return filled, "░" * (width - len(filled))


def sparkline(values: Sequence[float | None], width: int, *, low: float | None = 0.0,
              high: float | None = None) -> str:
    """The last ``width`` values as block heights, right-aligned; gaps for unknown values."""
    recent = list(values)[-width:] if width > 0 else []
    known = [v for v in recent if v is not None]
    if not known:
        return " " * width
    lo = min(known) if low is None else low
    hi = max(known) if high is None else high
    span = hi - lo
    cells = []
    for value in recent:
        if value is None:
            cells.append(" ")
            continue
        level = 0.0 if span <= 0 else (min(max(value, lo), hi) - lo) / span
        cells.append(BLOCKS[round(level * (len(BLOCKS) - 1))])
    return " " * (width - len(cells)) + "".join(cells)


def _line(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """The dots from (x0, y0) to (x1, y1) (Bresenham)."""
    dots = []
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    while True:
        dots.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return dots
        twice = 2 * err
        if twice >= dy:
            err += dy
            x0 += sx
        if twice <= dx:
            err += dx
            y0 += sy


def braille_plot(series: Sequence[Sequence[tuple[float, float]]], width: int, height: int,
                 x_range: tuple[float, float], y_range: tuple[float, float]
                 ) -> list[list[tuple[str, int]]]:
    """Plot each series as a line through its points, on ``width`` x ``height`` cells.

    Returns rows of (character, series index) cells, top row first; the index is -1 for
    an empty cell and otherwise the last series drawn there (for its colour).
    """
    cols, rows = width * 2, height * 4
    bits = [[0] * width for _ in range(height)]
    owner = [[-1] * width for _ in range(height)]
    (x_lo, x_hi), (y_lo, y_hi) = x_range, y_range
    x_span, y_span = (x_hi - x_lo) or 1.0, (y_hi - y_lo) or 1.0

    def to_dot(x: float, y: float) -> tuple[int, int]:
        col = round((x - x_lo) / x_span * (cols - 1))
        row = rows - 1 - round((y - y_lo) / y_span * (rows - 1))
        return min(max(col, 0), cols - 1), min(max(row, 0), rows - 1)

    for index, points in enumerate(series):
        dots = [to_dot(x, y) for x, y in points]
        path = dots[:1]
        for start, end in itertools.pairwise(dots):
            path.extend(_line(*start, *end)[1:])
        for col, row in path:
            cell_row, cell_col = row // 4, col // 2
            bits[cell_row][cell_col] |= _DOT[(col % 2, row % 4)]
            owner[cell_row][cell_col] = index
    return [[(chr(BRAILLE_BASE + b) if b else " ", o) for b, o in zip(bit_row, own_row,
                                                                        strict=True)]
            for bit_row, own_row in zip(bits, owner, strict=True)]
