"""What the commands print: aligned tables for people, one JSON document for scripts."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

__all__ = ["emit_json", "emit_table", "err", "moment", "one_line", "seconds", "width"]


def emit_json(value: Any) -> None:
    """One JSON document on stdout: the server's own field names, in a fixed order."""
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value), indent=2).decode() + "\n")


def width(text: str) -> int:
    """Columns the text takes in a terminal: CJK names (印章大模型) take two per character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell; the last column runs free."""
    cells = [list(headers), *[list(row) for row in rows]]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers) - 1)]
    for row in cells:
        padded = [cell + " " * (w - width(cell)) for cell, w in zip(row, widths, strict=False)]
        sys.stdout.write("  ".join([*padded, row[-1]]).rstrip() + "\n")


def err(message: str) -> None:
    sys.stderr.write(f"trainyard: {one_line(message)}\n")


def one_line(text: str) -> str:
    return " ".join(text.split())


def moment(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    value = int(value)
    hours, rest = divmod(value, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
