"""Turning a stream of bytes into log lines, the way a terminal would show them.

A line ends at ``\\n``. A ``\\r`` inside a line redraws it (tqdm bars): only the last
state is kept, so a progress bar updates progress instead of flooding the log. The
unfinished tail is kept as its last redraw only, so :attr:`LineSplitter.held` (the bytes
not yet turned into lines) stays small and a restart can re-read it from the file.

Bytes that are not UTF-8 become U+FFFD, and so do NUL characters: SQLite's JSON functions,
which store a batch of lines in one statement, end a string at NUL, and the stored line
must be the one the live stream showed.
"""

from __future__ import annotations

__all__ = ["LineSplitter"]

_MAX_LINE = 1 << 20  # a "line" this long with no newline is cut, so memory stays bounded


def _decode(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    return text.replace("\0", "\ufffd") if "\0" in text else text


def _collapse(line: str) -> str:
    if "\r" not in line:
        return line
    line = line.rstrip("\r")
    # The last non-empty redraw is what the terminal shows.
    for part in reversed(line.split("\r")):
        if part:
            return part
    return ""


class LineSplitter:
    __slots__ = ("_tail",)

    def __init__(self) -> None:
        self._tail = b""

    @property
    def held(self) -> int:
        """How many bytes already read are not yet part of an emitted line."""
        return len(self._tail)

    @property
    def current(self) -> str:
        """The unfinished line as it looks now (e.g. a progress bar mid-redraw)."""
        return _collapse(_decode(self._tail))

    def feed(self, chunk: bytes) -> list[str]:
        data = self._tail + chunk if self._tail else chunk
        end = data.rfind(b"\n")
        if end < 0:
            self._tail = self._keep(data)
            if len(self._tail) > _MAX_LINE:
                return self.flush()
            return []
        self._tail = self._keep(data[end + 1:])
        text = _decode(data[:end])
        if "\r" not in text:
            return text.split("\n")
        # A bar cleared before other output ("\r   \r") leaves nothing worth a line.
        return [_collapse(line) for line in text.split("\n")
                if "\r" not in line or line.strip(" \r")]

    def flush(self) -> list[str]:
        """Emit the unfinished line, if any (the stream has ended)."""
        tail, self._tail = self._tail, b""
        return [_collapse(_decode(tail))] if tail.strip(b"\r") else []

    @staticmethod
    def _keep(rest: bytes) -> bytes:
        # Bytes before the last \r are overdrawn already; only the last redraw matters.
        cut = rest.rstrip(b"\r").rfind(b"\r")
        return rest[cut + 1:] if cut >= 0 else rest
