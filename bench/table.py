"""The result table: one row per figure, rendered as markdown."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COLUMNS", "Row", "render"]

COLUMNS = ("benchmark", "trainyard", "reference (same run, same machine)", "ratio", "target",
           "met?")


@dataclass(frozen=True)
class Row:
    benchmark: str
    trainyard: str
    reference: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: bool | None = None

    @classmethod
    def failed(cls, benchmark: str, error: BaseException) -> Row:
        return cls(benchmark, f"error: {type(error).__name__}: {error}"[:120], met=False)

    def cells(self) -> tuple[str, ...]:
        met = "—" if self.met is None else ("yes" if self.met else "**no**")
        return (self.benchmark, self.trainyard, self.reference, self.ratio, self.target, met)


def render(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = (cell.replace("|", "\\|").replace("\n", " ") for cell in row.cells())
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
