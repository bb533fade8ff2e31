"""When a run's output was written, from the wrapper's clock file.

About every second while output grows, the wrapper appends ``<epoch> <stdout bytes>
<stderr bytes>``. Bytes between two marks were written in that second: a backlog read after
a restart is cut at the marks, put back in the order it was written across the two
streams (within a mark, stderr first, as the live reader reads), and stamped with the
mark's time instead of the time it was read.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Clock", "Segment"]

OLD_AFTER = 2.0  # output older than this is a backlog: it says nothing about speed
_ORDER = {"stderr": 0, "stdout": 1}


@dataclass(frozen=True, slots=True)
class Segment:
    stream: str
    data: bytes
    ts: str | None  # when it was written; None: just now
    old: bool  # written well before it was read


@dataclass(frozen=True, slots=True)
class _Mark:
    epoch: float
    sizes: dict[str, int]
    at: int  # where its line starts in the clock file


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class Clock:
    def __init__(self, offset: int = 0) -> None:
        self.marks: list[_Mark] = []
        self.read_to = offset  # how far the clock file was read
        self._top = {"stdout": 0, "stderr": 0}

    @property
    def offset(self) -> int:
        """Where a follower started afresh must read the clock file from."""
        return self.marks[0].at if self.marks else self.read_to

    def feed(self, data: bytes) -> None:
        """Complete lines of the clock file, in the order they were appended."""
        for raw in data.splitlines(keepends=True):
            at, self.read_to = self.read_to, self.read_to + len(raw)
            parts = raw.decode("ascii", "replace").replace(",", ".").split()
            try:
                epoch, out, err = float(parts[0]), int(parts[1]), int(parts[2])
            except (IndexError, ValueError):
                continue
            # Sizes only grow: a mark appended late by a racing writer says nothing new.
            self._top = {"stdout": max(out, self._top["stdout"]),
                         "stderr": max(err, self._top["stderr"])}
            self.marks.append(_Mark(epoch, dict(self._top), at))

    def order(self, pos: dict[str, int], chunks: dict[str, bytes]) -> list[Segment]:
        """``chunks`` (read from ``pos``) cut at the marks, in the order written."""
        keyed: list[tuple[tuple[float, int], Segment]] = []
        old_before = time.time() - OLD_AFTER
        for stream, data in chunks.items():
            start = at = pos[stream]
            end = start + len(data)
            for index, mark in enumerate(self.marks):
                if at >= end:
                    break
                size = mark.sizes[stream]
                if size <= at:
                    continue
                cut = min(size, end)
                keyed.append(((index, _ORDER[stream]), Segment(
                    stream, data[at - start:cut - start], _iso(mark.epoch),
                    mark.epoch < old_before)))
                at = cut
            if at < end:
                keyed.append(((math.inf, _ORDER[stream]),
                              Segment(stream, data[at - start:], None, False)))
        keyed.sort(key=lambda item: item[0])
        return [segment for _, segment in keyed]

    def forget(self, pos: dict[str, int]) -> None:
        """Drop the marks of output already stored."""
        keep = 0
        while keep < len(self.marks) and all(
                self.marks[keep].sizes[s] <= pos[s] for s in ("stdout", "stderr")):
            keep += 1
        if keep:
            del self.marks[:keep]
