"""Every parser is linear in the line: a trainer's 1 MB line of spaces, digits or bar
characters must not freeze the server (a backtracking regex once took 27 s on 50 kB).

The budget is far above what a linear pass costs (a few ms per MB) and far below what a
quadratic one does (hours at 1 MB), so load on the machine cannot make it flake. An alarm
cuts a regression short instead of letting the suite hang for hours.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from server.services.intake.parsers import LineParser
from server.services.intake.run_telemetry import parse_trainer_log_line

MB = 1 << 20
BUDGET_S = 2.0
N = MB

# (name, line): each line reaches one parser through LineParser.parse's routing.
HOSTILE_LINES: list[tuple[str, str]] = [
    ("bar, spaces between desc and rate (the 27 s case)", "a" + " " * N + "b it/s]"),
    ("bar, spaces after the percentage", " 8%|" + " " * N + "| 5/60 [00:00<00:01, 1it/s]"),
    ("bar, bar characters", "100%|" + "█" * N + "| 1/2 [00:00<00:00, 1.5it/s]"),
    ("bar, digits in the rate", " 8%|█| 5/60 [00:00, " + "1" * N + "it/s]"),
    ("bar, commas and digits inside []", " 8%|█| 5/60 [" + ", 1" * (N // 3) + "it/s]"),
    ("bar, huge step", " 8%|█| " + "9" * N + "/60 [00:00, 1it/s]"),
    ("bar, many percentages", "1%|" * (N // 3) + " it/s]"),
    ("bar, ANSI escapes", "\x1b[" + "0;" * (N // 2) + " it/s]"),
    ("header, digits", "Total optimization steps = " + "1" * N),
    ("header, commas", "Total optimization steps = " + "1," * (N // 2)),
    ("deepspeed, digits", "step=" + "1" * N + ", skipped=0, lr=[1e-5]"),
    ("deepspeed, many lrs", "step=1, skipped=0, lr=[" + "1e-5," * (N // 5) + "]"),
    ("deepspeed, repeated keys", "step=1, skipped=" * (N // 16)),
    ("megatron, spaces in a field name", "iteration 1/2 | a" + " " * N + "b"),
    ("megatron, many fields", "iteration 1/2 |" + " x: 1 |" * (N // 7)),
    ("megatron, digits", "iteration " + "1" * N + "/2 | x: 1 |"),
    ("megatron, spaces after iteration", "iteration" + " " * N + "1/2 |"),
    ("megatron, pipes only", "iteration 1/2 " + "|" * N),
    ("dict, long", "{" + "'a': 1, " * (N // 8) + "}"),
    ("dict, deep", "{" * N),
    ("dict, json digits", '{"loss": ' + "1" * N + "}"),
    ("spaces", " " * N),
    ("digits", "1" * N),
    ("carriage returns", "\r" * N),
]

TRAINER_LOG_LINES: list[tuple[str, str]] = [
    ("deep", "[" * N),
    ("digits", '{"current_steps": ' + "9" * N + "}"),
    ("float", '{"current_steps": 1e308, "total_steps": ' + "9" * 300 + ".0}"),
    ("long", "{" + '"loss": 1, ' * (N // 11) + '"x": 1}'),
]


@contextmanager
def _budget(seconds: float) -> Iterator[None]:
    def _late(*_: object) -> None:
        raise TimeoutError(f"parser still running after {seconds} s: not linear")

    previous = signal.signal(signal.SIGALRM, _late)
    signal.setitimer(signal.ITIMER_REAL, seconds * 5)  # cut a regression short
    try:
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert elapsed < seconds, f"took {elapsed:.2f} s"


def _timed(parse: Callable[[str], object], line: str) -> object:
    with _budget(BUDGET_S):
        return parse(line)


@pytest.mark.parametrize(("name", "line"), HOSTILE_LINES, ids=[n for n, _ in HOSTILE_LINES])
def test_a_megabyte_line_parses_in_linear_time(name: str, line: str) -> None:
    parsed = _timed(LineParser().parse, line)
    # Nothing in these lines is a plausible step: no huge numbers reach storage.
    step = getattr(parsed, "step", None)
    total = getattr(parsed, "total", None)
    assert step is None or step < 10**15
    assert total is None or total < 10**15


@pytest.mark.parametrize(("name", "line"), TRAINER_LOG_LINES,
                         ids=[n for n, _ in TRAINER_LOG_LINES])
def test_a_megabyte_trainer_log_line_parses_in_linear_time(name: str, line: str) -> None:
    parsed = _timed(parse_trainer_log_line, line)
    assert getattr(parsed, "step", None) is None and getattr(parsed, "total", None) is None


def test_a_bar_after_a_hostile_line_still_counts() -> None:
    parser = LineParser()
    _timed(parser.parse, "a" + " " * N + "b it/s]")
    bar = parser.parse(" 8%|▊         | 96/1200 [00:10<01:55,  9.56it/s]")
    assert bar is not None and (bar.step, bar.total, bar.rate) == (96, 1200, 9.56)
