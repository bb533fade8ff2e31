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
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field

__all__ = ["LineParser", "Parsed"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_BAR = re.compile(r"^(?P<desc>.*?)\s*(?P<pct>\d{1,3})%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)"
                  r"\s*\[[^\]]*?(?:,\s*(?P<rate>[\d.]+)(?P<unit>it/s|s/it))?\]")
_TOTAL = re.compile(r"Total optimization steps = ([\d,]+)")
_DS_STEP = re.compile(r"\bstep=(\d+), skipped=(\d+), lr=\[([^\]]*)\]")
_MEGATRON = re.compile(r"iteration\s+(\d+)\s*/\s*(\d+)\s*\|")
_MEGATRON_FIELD = re.compile(r"\|\s*([a-zA-Z][a-zA-Z \-/()]*?)\s*:\s*([-+\d.eE]+)\s*(?=\|)")
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


def _numeric_fields(data: dict[object, object]) -> dict[str, float]:
    found = {}
    for key, value in data.items():
        number = _number(value)
        if isinstance(key, str) and number is not None:
            found[key] = number
    return found


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
            if match:
                self.total_steps = int(match.group(1).replace(",", ""))
                return Parsed(total=self.total_steps, source="trainer header")
            return None
        if "step=" in text and "skipped=" in text:
            return self._deepspeed(text)
        if "iteration" in text and "|" in text:
            return self._megatron(text)
        return None

    def _dict(self, text: str) -> Parsed | None:
        try:
            data = ast.literal_eval(text) if "'" in text else json.loads(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        metrics = _numeric_fields(data)
        if not metrics:
            return None
        step = next((int(metrics[k]) for k in _STEP_KEYS if k in metrics), None)
        for key in (*_STEP_KEYS, *_SKIP_KEYS):
            metrics.pop(key, None)
        source = "json line" if "'" not in text else "trainer log dict"
        return Parsed(metrics=metrics, step=step, source=source,
                      summary="train_runtime" in metrics)

    def _bar(self, text: str) -> Parsed | None:
        clean = _ANSI.sub("", text)
        match = _BAR.search(clean)
        if match is None or match.group("desc").strip():
            return None  # eval/shard bars carry a description; or not a bar at all
        total = int(match.group("total"))
        if self.total_steps is not None and total != self.total_steps:
            return None  # an evaluation bar: another total
        if self.total_steps is None:
            self.total_steps = total
        rate = None
        if match.group("rate"):
            value = float(match.group("rate"))
            rate = value if match.group("unit") == "it/s" else (1.0 / value if value else None)
        return Parsed(step=int(match.group("n")), total=total, rate=rate, source="tqdm bar")

    def _deepspeed(self, text: str) -> Parsed | None:
        match = _DS_STEP.search(text)
        if match is None:
            return None
        metrics = {}
        lrs = [v for v in (_number(x.strip()) for x in match.group(3).split(",")) if v is not None]
        if lrs:
            metrics["learning_rate"] = lrs[0]
        return Parsed(metrics=metrics, step=int(match.group(1)), total=self.total_steps,
                      source="deepspeed")

    def _megatron(self, text: str) -> Parsed | None:
        match = _MEGATRON.search(text)
        if match is None:
            return None
        total = int(match.group(2))
        self.total_steps = total
        metrics = {}
        for name, raw in _MEGATRON_FIELD.findall(text + "|"):
            key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
            number = _number(raw)
            if number is not None and key not in ("consumed_samples", "iteration"):
                metrics[key] = number
        per_iteration_ms = metrics.get("elapsed_time_per_iteration_ms")
        rate = 1000.0 / per_iteration_ms if per_iteration_ms else None
        return Parsed(metrics=metrics, step=int(match.group(1)), total=total, rate=rate,
                      source="megatron")
