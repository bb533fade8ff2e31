"""``GET /compare``: runs side by side: metric series on common steps, a summary per run,
and what differs between them (start command, env, training YAML snapshots)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from common.models import (
    AlignedSeries,
    ComparedRun,
    Comparison,
    Differences,
    MetricSummary,
    RunStatus,
)

from ..errors import InvalidRequest, NotFound
from ..storage.runs import RunRepository, RunRow
from .config_diff import diff, load_flat_yaml

__all__ = ["MAX_RUNS", "compare_runs", "goal_of", "parse_ids"]

MAX_RUNS = 20
POINTS_PER_RUN = 100_000
_LOWER_IS_BETTER = ("loss", "perplexity", "ppl", "error", "wer", "cer")
_HIGHER_IS_BETTER = ("acc", "accuracy", "bleu", "rouge", "f1", "exact_match", "reward",
                     "score", "precision", "recall")


def goal_of(key: str) -> Literal["min", "max"] | None:
    """Whether a metric is better low (losses) or high (accuracies); None for settings
    such as the learning rate or the epoch, which have no best."""
    words = key.lower().replace("/", "_").replace("-", "_").replace(".", "_").split("_")
    if any(word in _LOWER_IS_BETTER for word in words):
        return "min"
    if any(word in _HIGHER_IS_BETTER for word in words):
        return "max"
    return None


def _summary(key: str, points: list[tuple[int, float]]) -> MetricSummary:
    goal = goal_of(key)
    final_step, final = points[-1]
    summary = MetricSummary(final=final, final_step=final_step, goal=goal)
    if goal is not None:  # the best value, and the first step that reached it
        sign = 1 if goal == "min" else -1
        best_step, best = min(points, key=lambda p: (sign * p[1], p[0]))
        summary.best, summary.best_step = best, best_step
    return summary


def _parse(moment: str | None) -> datetime | None:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")) if moment else None


def _duration(run: RunRow, now: datetime) -> float | None:
    started = _parse(run.started_at)
    if started is None:
        return None
    ended = _parse(run.completed_at) or now
    return max(0.0, (ended - started).total_seconds())


def _align(series: list[dict[str, list[tuple[int, float]]]]) -> dict[str, AlignedSeries]:
    out: dict[str, AlignedSeries] = {}
    for key in sorted({k for one in series for k in one}):
        by_run = [dict(one.get(key, [])) for one in series]
        steps = sorted({step for points in by_run for step in points})
        out[key] = AlignedSeries(steps=steps,
                                 values=[[points.get(step) for step in steps]
                                         for points in by_run])
    return out


async def _load(runs: RunRepository, run_id: str, keys: list[str] | None
                ) -> tuple[RunRow, dict[str, list[tuple[int, float]]], Path | None]:
    run = await runs.get(run_id)
    if run is None:
        raise NotFound(f"no run {run_id!r}", code="run_not_found", details={"run": run_id})
    series = await runs.metric_series(run.id, keys, -1, POINTS_PER_RUN)
    configs = [a for a in await runs.artifacts(run.id) if a.type == "config"]
    return run, series, Path(configs[0].path) if configs else None


def parse_ids(raw: str) -> list[str]:
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if not 1 <= len(ids) <= MAX_RUNS:
        raise InvalidRequest(f"`runs` takes 1 to {MAX_RUNS} run ids, comma-separated "
                             f"({len(ids)} given)", code="validation_failed",
                             details={"field": "runs"})
    if len(set(ids)) != len(ids):
        raise InvalidRequest("`runs` names a run twice", code="validation_failed",
                             details={"field": "runs"})
    return ids


async def compare_runs(*, runs: RunRepository, run_ids: list[str],
                       keys: list[str] | None) -> Comparison:
    loaded = [await _load(runs, run_id, keys) for run_id in run_ids]
    configs = await asyncio.gather(*(asyncio.to_thread(load_flat_yaml, path)
                                     if path else asyncio.sleep(0, None)
                                     for _, _, path in loaded))
    now = datetime.now(UTC)
    compared = []
    for (run, series, path), config in zip(loaded, configs, strict=True):
        duration = _duration(run, now)
        gpus = len(run.gpu.get("gpus") or [])
        last_steps = [points[-1][0] for points in series.values() if points]
        current = run.progress_info.get("current_step")
        compared.append(ComparedRun(
            id=run.id, project_id=run.project_id, status=_status(run.status),
            exit_code=run.exit_code, start_command=run.start_command,
            created_at=_parse(run.created_at) or now,
            steps=current if isinstance(current, int) else max(last_steps, default=None),
            duration_seconds=duration,
            gpu_hours=gpus * duration / 3600 if gpus and duration is not None else None,
            config_name=path.name.removeprefix("config-") if path and config is not None
            else None,
            metrics={key: _summary(key, points) for key, points in sorted(series.items())
                     if points}))
    commands = [run.start_command for run, _, _ in loaded]
    return Comparison(
        runs=compared, series=_align([series for _, series, _ in loaded]),
        differences=Differences(
            command=commands if len(set(commands)) > 1 else None,
            env=diff([run.env for run, _, _ in loaded]),
            config=diff(configs)))


def _status(value: str) -> RunStatus:
    return value  # type: ignore[return-value]  # the column's CHECK holds it to RunStatus
