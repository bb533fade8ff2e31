"""Log lines as a terminal shows them: \\r redraws collapse, partial lines wait."""

from __future__ import annotations

from server.services.lines import LineSplitter


def test_tqdm_redraws_collapse_to_the_last_state() -> None:
    split = LineSplitter()
    assert split.feed(b"start\n\r  0%|          | 0/60 [00:00<?, ?it/s]") == ["start"]
    assert split.feed(b"\r  8%|\xe2\x96\x8a         | 5/60 [00:00<00:01, 53.00it/s]") == []
    assert split.current.startswith("  8%|")
    # Bytes before the last redraw are dropped, so what is held stays one bar long.
    assert split.held == len("\r  8%|▊         | 5/60 [00:00<00:01, 53.00it/s]".encode()) - 1
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
