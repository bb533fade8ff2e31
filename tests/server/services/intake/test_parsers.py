"""Metrics and progress from the lines trainers print (formats as the trainers write them)."""

from __future__ import annotations

import pytest

from server.services.intake.parsers import LineParser
from server.services.intake.progress import ProgressTracker
from server.services.intake.run_telemetry import RunTelemetry, parse_trainer_log_line


def test_hf_dicts_v4_numbers_and_v5_quoted_strings() -> None:
    parser = LineParser()
    v4 = parser.parse("{'loss': 1.4498, 'grad_norm': 2.39, 'learning_rate': 4e-05, "
                      "'epoch': 0.1}")
    v5 = parser.parse("{'loss': '5.467', 'grad_norm': '1.722', 'learning_rate': '4e-05', "
                      "'epoch': '0.1'}")
    assert v4 is not None and v5 is not None
    assert v4.metrics == {"loss": 1.4498, "grad_norm": 2.39, "learning_rate": 4e-05,
                          "epoch": 0.1}
    assert v5.metrics["loss"] == 5.467 and v5.step is None
    summary = parser.parse("{'train_runtime': 12.3, 'train_samples_per_second': 5.1, "
                           "'train_loss': 1.2, 'epoch': 3.0}")
    assert summary is not None and summary.summary
    evaluation = parser.parse("{'eval_loss': 1.1, 'eval_runtime': 0.5, 'epoch': 1.0}")
    assert evaluation is not None and "eval_loss" in evaluation.metrics


@pytest.mark.parametrize("line", [
    "{'loss': __import__('os').system('true')}",  # never evaluated
    "{'loss': float('nan')}", "{not a dict", "{'a': [1, 2]}", "{}",
])
def test_dicts_that_are_not_metrics_are_ignored(line: str) -> None:
    assert LineParser().parse(line) is None


def test_training_bar_drives_progress_eval_and_shard_bars_do_not() -> None:
    parser = LineParser()
    header = parser.parse("  Total optimization steps = 1,200")
    assert header is not None and header.total == 1200
    bar = parser.parse(" 8%|▊         | 96/1200 [00:10<01:55,  9.56it/s]")
    assert bar is not None and (bar.step, bar.total, bar.rate) == (96, 1200, 9.56)
    slow = parser.parse(" 8%|▊         | 97/1200 [00:10<2:01:55,  2.50s/it]")
    assert slow is not None and slow.rate == pytest.approx(0.4)
    # The evaluation bar: same shape, another total, behind a cursor move.
    assert parser.parse("\x1b[A 50%|█████     | 6/12 [00:01<00:01,  5.00it/s]") is None
    assert parser.parse("Writing model shards: 100%|██████████| 2/2 [00:01<00:00, "
                        "1.5it/s]") is None


def test_first_bar_sets_the_total_when_no_header_was_seen() -> None:
    parser = LineParser()
    first = parser.parse("  0%|          | 0/60 [00:00<?, ?it/s]")
    assert first is not None and first.total == 60
    assert parser.parse(" 50%|█████     | 5/10 [00:00<00:00, 50.00it/s]") is None


def test_deepspeed_megatron_and_json_lines() -> None:
    parser = LineParser()
    ds = parser.parse("[2026-11-27 10:00:00,000] [INFO] [logging.py:96:log_dist] [Rank 0] "
                      "step=120, skipped=0, lr=[1.9e-05, 1.9e-05], mom=[(0.9, 0.95)]")
    assert ds is not None and ds.step == 120 and ds.metrics == {"learning_rate": 1.9e-05}
    mg = parser.parse(
        " [2026-11-27 10:00:00] iteration      200/    1000 | consumed samples:        51200 |"
        " elapsed time per iteration (ms): 250.0 | learning rate: 1.000000E-04 | global batch"
        " size:   256 | lm loss: 7.399415E+00 | loss scale: 1.0 | grad norm: 1.234 |")
    assert mg is not None and (mg.step, mg.total) == (200, 1000)
    assert mg.metrics["lm_loss"] == pytest.approx(7.399415)
    assert mg.metrics["learning_rate"] == pytest.approx(1e-4)
    assert mg.rate == pytest.approx(4.0)
    js = parser.parse('{"step": 10, "loss": 0.5, "note": "text is skipped"}')
    assert js is not None and js.step == 10 and js.metrics == {"loss": 0.5}


def test_llamafactory_trainer_log_line() -> None:
    parsed = parse_trainer_log_line(
        '{"current_steps": 150, "total_steps": 3000, "loss": 1.2345, "lr": 4.9e-05, '
        '"epoch": 0.15, "percentage": 5.0, "elapsed_time": "1 day, 4:06:56", '
        '"remaining_time": "22 days, 10:00:00"}')
    assert parsed is not None and (parsed.step, parsed.total) == (150, 3000)
    assert parsed.metrics == {"loss": 1.2345, "learning_rate": 4.9e-05, "epoch": 0.15}


def test_eta_is_measured_not_taken_from_the_trainer_after_a_resume() -> None:
    tracker = ProgressTracker()
    # A resumed HF bar starts at 0/200 and jumps to 120: a fast-forward, not speed.
    tracker.observe(step=0, total=200, rate=None, source="tqdm bar", now=99.0)
    tracker.observe(step=120, total=200, rate=None, source="tqdm bar", now=100.0)
    assert tracker.info.steps_per_second is None and tracker.info.progress == 0.6
    tracker.observe(step=125, total=200, rate=0.01, source="tqdm bar", now=105.0)
    tracker.observe(step=135, total=200, rate=0.01, source="tqdm bar", now=115.0)
    info = tracker.info
    assert info.progress == 0.675 and info.steps_per_second == 1.0
    assert info.eta_seconds == 65.0 and info.rate_source == "measured over the last minute"


def test_a_backlog_read_after_a_restart_is_not_speed() -> None:
    tracker = ProgressTracker()
    for step in range(10, 400, 10):  # read in one go from the file
        tracker.observe(step=step, total=1000, rate=None, source="tqdm bar", now=50.0,
                        timed=False)
    tracker.observe(step=401, total=1000, rate=None, source="tqdm bar", now=51.0)
    tracker.observe(step=402, total=1000, rate=None, source="tqdm bar", now=52.0)
    tracker.observe(step=403, total=1000, rate=None, source="tqdm bar", now=53.0)
    assert tracker.info.steps_per_second == 1.0


def test_dict_steps_never_collide_when_the_bar_lags() -> None:
    telemetry = RunTelemetry({}, {})
    telemetry.feed(["  Total optimization steps = 60", " 8%|▊   | 5/60 [00:00<00:01, 53.00it/s]",
                    "{'loss': 2.0, 'epoch': 0.1}", "{'loss': 1.9, 'epoch': 0.2}"])
    _, fields, points = telemetry.take(force=True)
    assert sorted(points) == [("epoch", 5, 0.1), ("epoch", 6, 0.2), ("loss", 5, 2.0),
                              ("loss", 6, 1.9)]
    assert fields["metrics"]["loss"] == 1.9 and fields["progress_info"]["current_step"] == 5


def test_a_run_keeps_a_bounded_number_of_metric_keys() -> None:
    telemetry = RunTelemetry({}, {})
    telemetry.feed([f"{{'loss': 1.0, 'k{i}': {i}}}" for i in range(1000)])
    telemetry.feed(["{'" + "long" * 100 + "': 1.0, 'loss': 0.5}"])
    _, fields, _ = telemetry.take(force=True)
    assert len(fields["metrics"]) == 200 and fields["metrics"]["loss"] == 0.5
    assert all(len(key) <= 100 for key in fields["metrics"])
