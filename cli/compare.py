"""``trainyard compare RUN RUN...``: a summary table, then what differs between the runs."""

from __future__ import annotations

import argparse

from common.client import TrainyardClient
from common.models import Comparison, MetricSummary

from .outcome import COMPLETED
from .output import emit_json, emit_table, one_line, seconds

__all__ = ["compare"]

SHOWN_METRICS = 3  # metric columns in the table; --json has them all


def _metric(summary: MetricSummary | None) -> str:
    if summary is None:
        return "-"
    text = f"{summary.final:.4g}"
    if summary.best is not None and summary.best != summary.final:
        text += f" (best {summary.best:.4g} @{summary.best_step})"
    return text


def _keys(result: Comparison) -> list[str]:
    """The metrics worth a column: those with a best (losses first), then the rest."""
    keys = sorted({key for run in result.runs for key in run.metrics})
    goals = {key: next(run.metrics[key].goal for run in result.runs if key in run.metrics)
             for key in keys}
    ranked = sorted(keys, key=lambda k: (goals[k] is None, "loss" not in k, k))
    return ranked[:SHOWN_METRICS]


def print_comparison(result: Comparison) -> None:
    keys = _keys(result)
    emit_table(["RUN", "STATUS", "EXIT", "STEPS", "TIME", *keys],
               [[run.id, run.status, "-" if run.exit_code is None else str(run.exit_code),
                 "-" if run.steps is None else str(run.steps), seconds(run.duration_seconds),
                 *[_metric(run.metrics.get(key)) for key in keys]] for run in result.runs])
    changes = result.differences
    if changes.command is None and not changes.env and not changes.config:
        print("\nsame command, env and training YAML")
        return
    if changes.command is not None:
        print("\ncommand:")
        for run, command in zip(result.runs, changes.command, strict=True):
            print(f"  {run.id}: {one_line(command)}")
    for title, diffs in (("env", changes.env), ("training YAML", changes.config)):
        if diffs:
            print(f"\n{title}:")
            for item in diffs:
                print(f"  {item.text}")


async def compare(api: TrainyardClient, args: argparse.Namespace) -> int:
    keys = [k.strip() for k in args.keys.split(",") if k.strip()] if args.keys else None
    result = await api.compare(args.runs, keys=keys)
    if args.json:
        emit_json(result)
    else:
        print_comparison(result)
    return COMPLETED
