"""Metrics and progress from what trainers really print, one line at a time.

- Hugging Face Trainer dicts on stdout: ``{'loss': 1.4498, 'epoch': 0.1}`` (4.x, numbers)
  or ``{'loss': '5.467', ...}`` (5.x, quoted). Read with ``ast.literal_eval`` + ``float``.
  ``train_runtime`` marks the end-of-run summary, ``eval_*`` keys an evaluation.
- tqdm bars on stderr: ``  8%|▊   | 5/60 [00:00<00:01, 53.00it/s]``. Only the training bar
  (no description; total = the run's total steps once known) drives progress.
- ``  Total optimization steps = 60`` (HF's header) gives the total.
- DeepSpeed ``step=N, skipped=S, lr=[...], mom=[...]`` and Megatron
  ``iteration  200/ 1000 | ... | lm loss: 7.399415E+00 | ...`` lines.
- JSON lines whose values are numbers.

Cheap prefix checks come first: most log lines match nothing and must cost little.
Every parser runs in time linear in the line: a trainer's output is untrusted text, and a
backtracking regex on it (``'a' + ' ' * 50000 + 'b it/s]'``) once froze the event loop for
half a minute. Regexes here are anchored or start with a literal, with no two adjacent
parts that can match the same characters; the rest is plain string slicing. Numbers that
become steps are bounded (:data:`MAX_COUNT`), so no parsed value overflows SQLite.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field

__all__ = ["MAX_COUNT", "LineParser", "Parsed", "count_of"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A training bar has no description: it starts with the percentage. Anchored, and each part
# is told from the next by its first character, so a failed match costs one pass.
_BAR_HEAD = re.compile(r"\s*[0-9]{1,3}%\|[^|]*\|\s*([0-9]+)/([0-9]+)\s*\[")
_TOTAL = re.compile(r"Total optimization steps = ([0-9][0-9,]*)")
_DS_STEP = re.compile(r"\bstep=([0-9]+), skipped=([0-9]+), lr=\[([^\]]*)\]")
_MEGATRON = re.compile(r"iteration\s+([0-9]+)\s*/\s*([0-9]+)\s*\|")
_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_CHARS = _NAME_FIRST | frozenset(" -/()")
_NUMBER_CHARS = frozenset("0123456789.eE+-")
_RATE_CHARS = frozenset("0123456789.")
MAX_COUNT = 10**15  # steps and totals above this are noise, not training progress
MAX_DICT = 16 << 10  # a dict line longer than this is not a metrics line (HF's are < 1 KiB)
_STEP_KEYS = ("step", "global_step", "current_steps", "iteration", "iter")
_SKIP_KEYS = frozenset({"epoch_time", "total_steps", "percentage", "current_steps"})


@dataclass
class Parsed:
    """What one line said: metric values (by key) and/or training progress."""

    metrics: dict[str, float] = field(default_factory=dict)
    step: int | None = None
    total: int | None = None
    rate: float | None = None  # steps per second, as the trainer measured it
    source: str = ""
    summary: bool = False


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _count(digits: str) -> int | None:
    """A step or total from ASCII digits; None past :data:`MAX_COUNT` (no huge ints)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 15 else None


def count_of(value: float) -> int | None:
    """A step or total from a parsed number; None unless it is a whole-ish count in range."""
    return int(value) if 0 <= value <= MAX_COUNT else None


def _numeric_fields(data: dict[object, object]) -> dict[str, float]:
    found = {}
    for key, value in data.items():
        number = _number(value)
        if isinstance(key, str) and number is not None:
            found[key] = number
    return found


def _rate(inside: str) -> float | None:
    """Steps per second from a bar's ``[...]``, as tqdm ends it: ``, 9.56it/s`` or
    ``, 2.50s/it``."""
    comma = inside.rfind(",")
    if comma < 0:
        return None
    tail = inside[comma + 1:].lstrip()
    unit = tail[-4:]
    number = tail[:-4]
    if unit not in ("it/s", "s/it") or not number or not _RATE_CHARS.issuperset(number):
        return None
    value = _number(number)
    if value is None:
        return None
    if unit == "it/s":
        return value
    return 1.0 / value if value else None


def _megatron_fields(text: str) -> dict[str, float]:
    """``| name: number |`` fields: a name of letters, spaces and ``-/()``, a number."""
    metrics = {}
    for part in text.split("|")[1:]:
        name, colon, raw = part.partition(":")
        name, raw = name.strip(), raw.strip()
        if (not colon or not name or name[0] not in _NAME_FIRST
                or not _NAME_CHARS.issuperset(name) or not raw
                or not _NUMBER_CHARS.issuperset(raw)):
            continue
        key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        number = _number(raw)
        if number is not None and key not in ("consumed_samples", "iteration"):
            metrics[key] = number
    return metrics


class LineParser:
    """Stateful per run: remembers the total steps once a header or bar tells it."""

    def __init__(self, total_steps: int | None = None) -> None:
        self.total_steps = total_steps

    def parse(self, line: str) -> Parsed | None:
        text = line.strip()
        if not text:
            return None
        first = text[0]
        if first == "{":
            return self._dict(text)
        if "it/s]" in text or "s/it]" in text or "?it/s]" in text:
            return self._bar(text)
        if "Total optimization steps" in text:
            match = _TOTAL.search(text)
            total = _count(match.group(1).replace(",", "")) if match else None
            if total is None:
                return None
            self.total_steps = total
            return Parsed(total=total, source="trainer header")
        if "step=" in text and "skipped=" in text:
            return self._deepspeed(text)
        if "iteration" in text and "|" in text:
            return self._megatron(text)
        return None

    def _dict(self, text: str) -> Parsed | None:
        if len(text) > MAX_DICT:
            return None  # literal_eval of a huge line costs memory and time for nothing
        try:
            data = ast.literal_eval(text) if "'" in text else json.loads(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        metrics = _numeric_fields(data)
        if not metrics:
            return None
        step = next((count_of(metrics[k]) for k in _STEP_KEYS if k in metrics), None)
        for key in (*_STEP_KEYS, *_SKIP_KEYS):
            metrics.pop(key, None)
        source = "json line" if "'" not in text else "trainer log dict"
        return Parsed(metrics=metrics, step=step, source=source,
                      summary="train_runtime" in metrics)

    def _bar(self, text: str) -> Parsed | None:
        clean = _ANSI.sub("", text) if "\x1b" in text else text
        # Eval and shard bars carry a description before the percentage: not a match.
        match = _BAR_HEAD.match(clean)
        if match is None:
            return None
        close = clean.find("]", match.end())
        if close < 0:
            return None
        step, total = _count(match.group(1)), _count(match.group(2))
        if step is None or total is None:
            return None
        if self.total_steps is not None and total != self.total_steps:
            return None  # an evaluation bar: another total
        if self.total_steps is None:
            self.total_steps = total
        return Parsed(step=step, total=total, rate=_rate(clean[match.end():close]),
                      source="tqdm bar")

    def _deepspeed(self, text: str) -> Parsed | None:
        match = _DS_STEP.search(text)
        if match is None:
            return None
        metrics = {}
        lrs = [v for v in (_number(x.strip()) for x in match.group(3).split(",")) if v is not None]
        if lrs:
            metrics["learning_rate"] = lrs[0]
        step = _count(match.group(1))
        if step is None:
            return None
        return Parsed(metrics=metrics, step=step, total=self.total_steps, source="deepspeed")

    def _megatron(self, text: str) -> Parsed | None:
        match = _MEGATRON.search(text)
        if match is None:
            return None
        step, total = _count(match.group(1)), _count(match.group(2))
        if step is None or total is None:
            return None
        self.total_steps = total
        metrics = _megatron_fields(text)
        per_iteration_ms = metrics.get("elapsed_time_per_iteration_ms")
        rate = 1000.0 / per_iteration_ms if per_iteration_ms else None
        return Parsed(metrics=metrics, step=step, total=total, rate=rate, source="megatron")
