"""Turning a stream of bytes into log lines, the way a terminal would show them.

A line ends at ``\\n``. A ``\\r`` inside a line redraws it (tqdm bars): only the last
state is kept, so a progress bar updates progress instead of flooding the log. The
unfinished tail is kept as its last redraw only, so :attr:`LineSplitter.held` (the bytes
not yet turned into lines) stays small and a restart can re-read it from the file.

A line longer than ``max_line`` bytes is cut: its first ``max_line`` bytes are kept and
:func:`cut_marker` says how many were dropped (the run's own log file keeps the line
whole). An unterminated line is cut as it grows, so memory stays bounded whatever a
command prints; :attr:`LineSplitter.held` still counts the dropped bytes, so a restart
re-reads the line from its start and cuts it the same way.

Bytes that are not UTF-8 become U+FFFD, and so do NUL characters: SQLite's JSON functions,
which store a batch of lines in one statement, end a string at NUL, and the stored line
must be the one the live stream showed.
"""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_LINE", "LineSplitter", "cut_marker"]

DEFAULT_MAX_LINE = 64 << 10  # TRAINYARD_MAX_LINE_BYTES' default


def cut_marker(dropped: int) -> str:
    """What ends a stored line that was cut."""
    return f" … [{dropped} bytes cut; the run's log file has the whole line]"


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


def _head(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes from the start, not ending inside a UTF-8 character."""
    if len(data) <= limit:
        return data
    end = limit
    # Step back over continuation bytes (10xxxxxx) to the start of the character cut.
    while end > 0 and limit - end < 3 and data[end] & 0xC0 == 0x80:
        end -= 1
    return data[:end]


def _fits(lines: list[str], limit: int, text: str) -> bool:
    """Whether no line is over ``limit`` bytes (a character is at most 4 bytes)."""
    longest = max(map(len, lines))
    return longest * 4 <= limit or (longest <= limit and text.isascii())


def _last_redraw(line: bytes) -> tuple[bytes, bool]:
    """The line as a terminal shows it, and whether that is its first ``\\r`` part."""
    parts = line.rstrip(b"\r").split(b"\r")
    for index in range(len(parts) - 1, -1, -1):
        if parts[index]:
            return parts[index], index == 0
    return b"", True


class LineSplitter:
    __slots__ = ("_dropped", "_held", "_limit", "_redrawn", "_tail")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        if max_line < 1:
            raise ValueError("max_line must be at least 1 byte")
        self._limit = max_line
        # The unfinished line's last redraw: at most ``max_line`` bytes of it, then at
        # most one \r (a run of trailing \r redraws the same way as one).
        self._tail = b""
        self._held = 0  # how many bytes of the stream ``_tail`` stands for
        self._dropped = 0  # bytes cut from the unfinished line after its kept head
        self._redrawn = False  # a \r came before ``_tail`` (it counts in ``_held``)

    @property
    def held(self) -> int:
        """How many bytes already read are not yet part of an emitted line."""
        return self._held

    @property
    def current(self) -> str:
        """The unfinished line as it looks now (e.g. a progress bar mid-redraw)."""
        return _collapse(_decode(self._tail))

    def feed(self, chunk: bytes) -> list[str]:
        data = self._tail + chunk if self._tail else chunk
        end = data.rfind(b"\n")
        if end < 0:
            self._keep_tail(data, self._held + len(chunk))
            return []
        dropped, self._dropped = self._dropped, 0
        redrawn, self._redrawn = self._redrawn, False
        kept = len(self._tail.rstrip(b"\r"))  # the head of a line cut already
        rest = data[end + 1:]
        self._keep_tail(rest, len(rest))
        raw = data[:end]
        if dropped:
            return self._cut_lines(raw, dropped, kept, redrawn)
        text = _decode(raw)
        split = text.split("\n")
        if len(raw) > self._limit and not _fits(split, self._limit, text):
            return self._cut_lines(raw, dropped, kept, redrawn)
        if "\r" not in text and not redrawn:
            return split
        lines = []
        for index, line in enumerate(split):
            if "\r" in line or (index == 0 and redrawn):
                line = _collapse(line)
                if not line.strip(" "):
                    continue  # a bar cleared before other output ("\r   \r")
            lines.append(line)
        return lines

    def flush(self) -> list[str]:
        """Emit the unfinished line, if any (the stream has ended)."""
        tail, self._tail = self._tail, b""
        dropped, self._dropped = self._dropped, 0
        self._held = 0
        self._redrawn = False
        if not tail.strip(b"\r") and not dropped:
            return []
        text = _collapse(_decode(tail))
        return [text + cut_marker(dropped) if dropped else text]

    def _cut_lines(self, raw: bytes, dropped: int, kept: int, redrawn: bool) -> list[str]:
        """The slow path, for chunks with a line that may be over the limit. The first
        line may continue one cut already: its first ``kept`` bytes are the head, then
        ``dropped`` bytes were cut, then come its bytes in this chunk."""
        lines = []
        limit = self._limit
        for index, line in enumerate(raw.split(b"\n")):
            cut = dropped if index == 0 else 0
            redraws = b"\r" in line
            if redraws:
                line, first = _last_redraw(line)
                if not first:
                    cut = 0  # the cut part was overdrawn
            if cut:
                cut += len(line) - kept
                line = line[:kept]
            elif len(line) > limit:
                head = _head(line, limit)
                cut = len(line) - len(head)
                line = head
            if (redraws or (index == 0 and redrawn)) and not cut and not line.strip(b" "):
                continue  # a bar cleared before other output
            text = _decode(line)
            lines.append(text + cut_marker(cut) if cut else text)
        return lines

    def _keep_tail(self, rest: bytes, held: int) -> None:
        """Keep ``rest`` (the unfinished line, standing for ``held`` bytes of the stream)
        as its last redraw, cut to the limit."""
        body = rest.rstrip(b"\r")
        redraw = body.rfind(b"\r")
        if redraw >= 0:
            # Bytes before the last \r are overdrawn already; only the last redraw
            # matters. What follows that \r is all new bytes, so its length is exact.
            rest, body = rest[redraw + 1:], body[redraw + 1:]
            held = len(rest) + 1  # from the \r: a restart sees the redraw too
            self._dropped = 0
            self._redrawn = True
        if len(rest) > len(body) + 1:
            rest = rest[:len(body) + 1]
        if self._dropped:  # cut already: the head stays, what follows it is cut too
            kept = len(self._tail.rstrip(b"\r"))
            self._dropped += len(body) - kept
            rest = body[:kept] + rest[len(body):]
        elif len(body) > self._limit:
            head = _head(body, self._limit)
            self._dropped = len(body) - len(head)
            rest = head + rest[len(body):]  # keep the trailing \r: the next byte redraws
        self._tail = rest
        self._held = held
