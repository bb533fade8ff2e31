"""Log lines as a terminal shows them: \\r redraws collapse, partial lines wait."""

from __future__ import annotations

import random

from server.services.intake.lines import LineSplitter, cut_marker


def test_tqdm_redraws_collapse_to_the_last_state() -> None:
    split = LineSplitter()
    assert split.feed(b"start\n\r  0%|          | 0/60 [00:00<?, ?it/s]") == ["start"]
    assert split.feed(b"\r  8%|\xe2\x96\x8a         | 5/60 [00:00<00:01, 53.00it/s]") == []
    assert split.current.startswith("  8%|")
    # Bytes before the last redraw are dropped, so what is held stays one bar long (from
    # its \r, so that a restart re-reading from there sees the redraw too).
    assert split.held == len("\r  8%|▊         | 5/60 [00:00<00:01, 53.00it/s]".encode())
    assert split.feed(b"\r100%|##########| 60/60 [00:01<00:00, 50.00it/s]\n") == [
        "100%|##########| 60/60 [00:01<00:00, 50.00it/s]"]
    assert split.held == 0


def test_crlf_and_split_multibyte_characters() -> None:
    split = LineSplitter()
    assert split.feed(b"windows\r\nline\r\n") == ["windows", "line"]
    assert split.feed("中文".encode()[:4]) == []
    assert split.feed("中文".encode()[4:] + b"\n") == ["中文"]


def test_flush_emits_an_unfinished_last_line() -> None:
    split = LineSplitter()
    split.feed(b"no newline at the end")
    assert split.flush() == ["no newline at the end"]
    assert split.flush() == []


def _reference(stream: bytes, limit: int) -> list[str]:
    """What a terminal shows, cut to ``limit`` bytes per line: the whole stream at once."""
    *complete, last = stream.split(b"\n")
    lines = []
    for index, line in enumerate([*complete, last]):
        if index == len(complete) and not line.strip(b"\r"):
            continue  # no unfinished line at the end
        shown = next((p for p in reversed(line.rstrip(b"\r").split(b"\r")) if p), b"")
        head = shown[:limit]
        while 0 < len(head) < len(shown) and limit - len(head) < 3 \
                and shown[len(head)] & 0xC0 == 0x80:
            head = head[:-1]  # not inside a character
        if index < len(complete) and b"\r" in line and shown == head and not head.strip(b" "):
            continue  # a bar cleared before other output
        text = head.decode("utf-8", "replace").replace("\0", "\ufffd")
        lines.append(text + cut_marker(len(shown) - len(head)) if len(head) < len(shown)
                     else text)
    return lines


def _stream(rng: random.Random) -> bytes:
    pieces = [b"short", b"\n", b"\r", b"\r\n", b"  ", "印章".encode(), b"\xff", b"\0",
              b"8%|###| 5/60 [00:00<00:01, 53.00it/s]"]
    out = []
    for _ in range(rng.randrange(1, 40)):
        if rng.random() < 0.15:
            out.append(rng.choice([b"x", "中".encode(), b" "]) * rng.randrange(50, 400))
        else:
            out.append(rng.choice(pieces))
    return b"".join(out)


def test_long_lines_are_cut_with_a_marker_the_same_whatever_the_chunks() -> None:
    """Any stream, read in any chunks, and re-read from ``fed - held`` after a restart at
    any point, gives exactly the lines a terminal shows, each cut to the limit."""
    rng = random.Random(17)
    for _ in range(400):
        stream = _stream(rng)
        limit = rng.choice([1, 7, 64, 200])
        expected = _reference(stream, limit)
        split = LineSplitter(limit)
        got: list[str] = []
        fed = 0
        restart_at = rng.randrange(0, len(stream) + 1)
        while fed < len(stream):
            size = rng.choice([1, 3, 50, 1000])
            got.extend(split.feed(stream[fed:fed + size]))
            fed = min(len(stream), fed + size)
            assert len(split.current) <= limit  # memory stays bounded
            if restart_at is not None and fed >= restart_at:
                restart_at = None  # the server restarts: re-read from the committed offset
                fed -= split.held
                split = LineSplitter(limit)
        got.extend(split.flush())
        assert got == expected, stream


def test_a_huge_unterminated_line_is_never_held_whole() -> None:
    split = LineSplitter(1000)
    for _ in range(50):
        assert split.feed(b"y" * 100_000) == []
        assert split.held > 0 and len(split.current) == 1000
    assert split.held == 5_000_000  # a restart re-reads the line from its start
    assert split.feed(b"!\nnext\n") == ["y" * 1000 + cut_marker(4_999_001), "next"]
    assert split.held == 0


def test_the_default_limit_is_64_kib() -> None:
    split = LineSplitter()
    [line] = split.feed(b"z" * (1 << 20) + b"\n")
    assert line == "z" * 65536 + cut_marker((1 << 20) - 65536)
