"""Bars, sparklines and braille plots."""

from __future__ import annotations

from tui.drawing import bar, braille_plot, sparkline


def test_bars_in_half_cells() -> None:
    assert bar(0.0, 4) == ("", "░░░░")
    assert bar(0.5, 4) == ("██", "░░")
    assert bar(0.3, 5) == ("█▌", "░░░")
    assert bar(1.7, 3) == ("███", "")
    assert bar(None, 3) == ("", "░░░")


def test_sparkline_keeps_the_latest_values_right_aligned() -> None:
    assert sparkline([0, 50, 100], 5, high=100) == "  ▁▅█"
    assert sparkline([None, 100], 2, high=100) == " █"
    assert sparkline(list(range(20)), 4, low=None) == "▁▃▆█"
    assert sparkline([], 3) == "   "


def test_braille_plot_draws_a_connected_line_per_series() -> None:
    rows = braille_plot([[(0, 0.0), (10, 1.0)]], 5, 2, (0, 10), (0, 1))
    assert len(rows) == 2 and all(len(row) == 5 for row in rows)
    text = ["".join(c for c, _ in row) for row in rows]
    assert text[0][-1] != " " and text[1][0] != " "  # from bottom left to top right
    assert all(text[0][col] != " " or text[1][col] != " " for col in range(5))  # no gap
    two = braille_plot([[(0, 0.0), (10, 0.0)], [(0, 1.0), (10, 1.0)]], 3, 1, (0, 10), (0, 1))
    owners = {owner for _, owner in two[0]}
    assert owners == {1}  # the later series is drawn over the earlier one
