"""A DataTable redrawn from whole rows by key: cells change in place, the cursor stays."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

__all__ = ["Cell", "KeyedTable"]

Cell = str | Text


class KeyedTable(DataTable[Cell]):
    # A row table: Home and End move to the first and last row (DataTable's own scroll
    # sideways, leaving the cursor where it was, so End then Enter opened the wrong row).
    BINDINGS = [
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Last", show=False),
    ]
    COLUMNS: tuple[tuple[str, str], ...] = ()  # (key, label)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._keys: list[str] = []
        self._rows: dict[str, Sequence[Cell]] = {}

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)

    def set_rows(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        keys = [key for key, _ in rows]
        if keys == self._keys:
            columns = [key for key, _ in self.COLUMNS]
            for key, cells in rows:
                old = self._rows[key]
                for column, new, before in zip(columns, cells, old, strict=True):
                    if new != before:
                        self.update_cell(key, column, new, update_width=True)
                self._rows[key] = cells
            return
        selected = self.selected_key
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        self._keys, self._rows = keys, dict(rows)
        if selected in self._rows:
            self.move_cursor(row=self.get_row_index(selected), scroll=False)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def select_key(self, key: str) -> bool:
        if key not in self._rows:
            return False
        self.move_cursor(row=self.get_row_index(key))
        return True
