"""Per run: turns parsed lines into metric points, latest values and progress events.

LLaMA-Factory's ``trainer_log.jsonl`` is preferred for metrics once it appears (it names
the step of every value); the tqdm bar still drives progress between its lines, as it
updates every step. A dict line carries no step: it gets the step the progress shows.
"""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec

from common.models import ProgressInfo

from .parsers import LineParser, Parsed, _numeric_fields, count_of
from .progress import ProgressTracker

__all__ = ["RunTelemetry", "parse_trainer_log_line"]

PROGRESS_EVERY = 0.5  # seconds between progress events of one run
# What one run's metrics may hold (the run detail carries them all): a trainer printing
# dicts with ever-new keys must not grow it without bound.
MAX_METRIC_KEYS, MAX_METRIC_KEY_LENGTH = 200, 100
_JSONL_METRICS = {"loss": "loss", "eval_loss": "eval_loss", "lr": "learning_rate",
                  "epoch": "epoch", "grad_norm": "grad_norm", "reward": "reward",
                  "accuracy": "accuracy"}


def points_from_trainer_state(raw: bytes) -> tuple[list[tuple[str, int, float]], int | None]:
    """Exact (key, step, value) points from a checkpoint's ``trainer_state.json``
    ``log_history``, and its ``max_steps``."""
    try:
        state = json.loads(raw)
    except (ValueError, RecursionError):
        return [], None
    if not isinstance(state, dict):
        return [], None
    points = []
    for entry in state.get("log_history") or []:
        step = entry.get("step") if isinstance(entry, dict) else None
        if not isinstance(step, int) or count_of(step) is None:
            continue
        for key, value in _numeric_fields(entry).items():
            if key not in ("step", "epoch_time"):
                points.append((key, step, value))
    max_steps = state.get("max_steps")
    return points, max_steps if isinstance(max_steps, int) and count_of(max_steps) else None


def parse_trainer_log_line(line: str) -> Parsed | None:
    """One line of LLaMA-Factory's ``trainer_log.jsonl``."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):  # a trainer's file is untrusted text too
        return None
    if not isinstance(data, dict):
        return None
    numbers = _numeric_fields(data)
    metrics = {name: numbers[key] for key, name in _JSONL_METRICS.items() if key in numbers}
    for key, value in numbers.items():
        if key.startswith("eval_") and key not in metrics:
            metrics[key] = value
    step = count_of(numbers["current_steps"]) if "current_steps" in numbers else None
    total = count_of(numbers["total_steps"]) if "total_steps" in numbers else None
    return Parsed(metrics=metrics, step=step, total=total, source="trainer_log.jsonl")


class RunTelemetry:
    def __init__(self, metrics: dict[str, Any], progress_info: dict[str, Any]) -> None:
        info = msgspec.convert(progress_info, ProgressInfo) if progress_info else ProgressInfo()
        self.parser = LineParser(info.total_steps)
        self.tracker = ProgressTracker(info)
        self.latest: dict[str, float] = {k: v for k, v in metrics.items()
                                         if isinstance(v, int | float)}
        self.points: dict[tuple[str, int], float] = {}
        self.jsonl_active = False
        self.catching_up = False  # set by the reader while it works through a backlog
        self._last_step: dict[str, int] = {}
        self._progress_dirty = False
        self._last_progress = 0.0

    def feed(self, lines: list[str]) -> None:
        parse = self.parser.parse
        for line in lines:
            parsed = parse(line)
            if parsed is not None:
                self.apply(parsed)

    def feed_partial(self, text: str) -> None:
        """The unfinished line (a bar mid-redraw): progress only, it is not stored yet."""
        if text:
            parsed = self.parser.parse(text)
            if parsed is not None and parsed.source == "tqdm bar":
                self.apply(parsed)

    def apply(self, parsed: Parsed) -> None:
        moved = parsed.step is not None or parsed.total is not None
        if moved and self.tracker.observe(step=parsed.step, total=parsed.total,
                                          rate=parsed.rate, source=parsed.source,
                                          timed=not self.catching_up):
            self._progress_dirty = True
        if parsed.source == "trainer_log.jsonl":
            self.jsonl_active = True
        elif self.jsonl_active and parsed.source == "trainer log dict":
            return  # the jsonl has these values, with their exact steps
        if parsed.metrics:
            guessed = parsed.step is None
            shown = self.tracker.info.current_step or 0
            total = self.tracker.info.total_steps
            for key, value in parsed.metrics.items():
                if key not in self.latest and (len(self.latest) >= MAX_METRIC_KEYS
                                               or len(key) > MAX_METRIC_KEY_LENGTH):
                    continue
                self.latest[key] = value
                step = parsed.step if parsed.step is not None else shown
                if guessed and step <= self._last_step.get(key, -1):
                    if self.catching_up:
                        continue  # a backlog's bar ran ahead: no step to put it at
                    # The bar lagged behind (it redraws at most every 0.1 s): two values
                    # of one metric never share a step, and none is past the last step.
                    step = self._last_step[key] + 1
                    if total and step > total:
                        continue
                self._last_step[key] = step
                self.points[(key, step)] = value

    def take(self, *, force: bool = False) -> tuple[list[tuple[str, Any]], dict[str, Any],
                                                    list[tuple[str, int, float]]]:
        """Events, run fields and metric points gathered since the last call."""
        events: list[tuple[str, Any]] = []
        fields: dict[str, Any] = {}
        points = [(key, step, value) for (key, step), value in self.points.items()]
        if points:
            by_step: dict[int, dict[str, float]] = {}
            for key, step, value in points:
                by_step.setdefault(step, {})[key] = value
            events.extend(("metrics", {"step": step, "values": values})
                          for step, values in sorted(by_step.items()))
            fields["metrics"] = self.latest
            self.points = {}
        now = time.monotonic()
        if self._progress_dirty and (force or now - self._last_progress >= PROGRESS_EVERY):
            info = self.tracker.info
            events.append(("progress", info))
            fields["progress"] = info.progress
            fields["progress_info"] = msgspec.structs.asdict(info)
            self._progress_dirty = False
            self._last_progress = now
        return events, fields, points

    def finish(self, completed: bool) -> None:
        self.tracker.finish(completed)
        self._progress_dirty = True
