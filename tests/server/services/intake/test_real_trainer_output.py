"""The parser on real output of real trainers (tests/fixtures/trainers, see its README):
transformers 5.x and 4.x Trainers and LLaMA-Factory, captured as raw bytes, fed the way
the follower feeds it (stderr first, then stdout; lines split as a terminal shows them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.services.intake.lines import LineSplitter
from server.services.intake.run_telemetry import (
    RunTelemetry,
    parse_trainer_log_line,
    points_from_trainer_state,
)

CAPTURES = Path(__file__).resolve().parents[3] / "fixtures" / "trainers"


def replay(name: str, chunk: int = 4096) -> tuple[RunTelemetry, list[str]]:
    """Feed a capture in chunks, as the follower reads files, and return what it saw."""
    telemetry = RunTelemetry({}, {})
    lines: list[str] = []
    for stream in ("stderr", "stdout"):
        data = (CAPTURES / f"{name}.{stream}").read_bytes()
        split = LineSplitter()
        for start in range(0, len(data), chunk):
            got = split.feed(data[start:start + chunk])
            telemetry.feed(got)
            lines.extend(got)
            telemetry.feed_partial(split.current)
        tail = split.flush()
        telemetry.feed(tail)
        lines.extend(tail)
    return telemetry, lines


def series(telemetry: RunTelemetry) -> dict[str, list[tuple[int, float]]]:
    _, _, points = telemetry.take(force=True)
    out: dict[str, list[tuple[int, float]]] = {}
    for key, step, value in sorted(points, key=lambda p: (p[0], p[1])):
        out.setdefault(key, []).append((step, value))
    return out


@pytest.mark.parametrize("name", ["hf_trainer_v5", "hf_trainer_v4", "hf_trainer_v5_tensorboard"])
def test_full_hf_runs(name: str) -> None:
    telemetry, lines = replay(name)
    info = telemetry.tracker.info
    assert (info.current_step, info.total_steps) == (60, 60) and info.progress == 1.0
    got = series(telemetry)
    # Fed stream after stream, the bar is at 60 before the first dict is read: no step is
    # invented past the last one for what cannot be placed (the checkpoints'
    # trainer_state.json gives the exact steps, see below; a run followed live or read
    # back with the wrapper's clock interleaves the streams as they were written).
    assert got["loss"] and all(step <= 60 for step, _ in got["loss"])
    assert got["eval_loss"] and all(step <= 60 for step, _ in got["eval_loss"])
    assert {"loss", "eval_loss"} <= telemetry.latest.keys()
    assert "train_runtime" in telemetry.latest
    # v5 prints '5.542' (strings), v4 prints 5.3685: both end up as floats.
    assert all(isinstance(v, float) for _, v in got["loss"])
    # The redrawn bar collapses: a few bar lines in the log, not one per step.
    assert sum(" 60/60 " in line or "| 60/60" in line for line in lines) <= 3
    assert not any("\r" in line for line in lines)


@pytest.mark.parametrize("name", ["hf_trainer_v5", "hf_trainer_v4"])
def test_checkpoint_state_gives_the_exact_steps(name: str) -> None:
    points, max_steps = points_from_trainer_state(
        (CAPTURES / f"{name}.trainer_state.json").read_bytes())
    assert max_steps == 60
    assert sorted(step for key, step, _ in points if key == "loss") == list(range(5, 61, 5))
    assert sorted(step for key, step, _ in points if key == "eval_loss") == [20, 40, 60]


def test_slow_run_reports_seconds_per_step() -> None:
    telemetry, _ = replay("hf_trainer_v5_slow")
    info = telemetry.tracker.info
    assert info.total_steps == 25 and info.current_step == 25
    assert telemetry.tracker._trainer_rate is not None and telemetry.tracker._trainer_rate < 1


@pytest.mark.parametrize("name", ["hf_trainer_v5_interrupted", "llamafactory_sft_interrupted"])
def test_killed_runs_keep_the_last_step_they_reached(name: str) -> None:
    telemetry, _ = replay(name)
    info = telemetry.tracker.info
    assert info.total_steps is not None and 0 < (info.current_step or 0) < info.total_steps


@pytest.mark.parametrize("name", ["hf_trainer_v5_resumed", "hf_trainer_v4_resumed",
                                  "llamafactory_sft_resumed"])
def test_resumed_runs_end_at_the_total(name: str) -> None:
    telemetry, lines = replay(name)
    info = telemetry.tracker.info
    assert info.current_step == info.total_steps
    assert any("global step 20" in line or "global_step" in line for line in lines)


def test_llamafactory_trainer_log_is_preferred_for_metrics() -> None:
    telemetry, _ = replay("llamafactory_sft")
    assert telemetry.tracker.info.total_steps == 40
    telemetry.take(force=True)  # what the dict lines said
    for line in (CAPTURES / "llamafactory_sft.trainer_log.jsonl").read_text().splitlines():
        parsed = parse_trainer_log_line(line)
        assert parsed is not None
        telemetry.apply(parsed)
    got = series(telemetry)
    assert [step for step, _ in got["loss"]] == list(range(5, 41, 5))
    assert "learning_rate" in got and "lr" not in got
    assert [step for step, _ in got["eval_loss"]] == [20, 40]
    # Once the jsonl speaks, dict lines no longer add guessed points.
    telemetry.feed(["{'loss': 9.0, 'epoch': 0.9}"])
    assert telemetry.take(force=True)[2] == []
