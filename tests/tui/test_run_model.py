"""Folding a run's events into what the run view shows."""

from __future__ import annotations

from datetime import UTC, datetime

from common.client import ServerEvent
from common.models import RunDetail
from tui.run_model import RunModel, chart_keys

T = "2026-11-27T19:00:21.490000Z"


def detail() -> RunDetail:
    moment = datetime(2026, 11, 27, 19, tzinfo=UTC)
    return RunDetail(id="run_1", project_id="proj_1", status="running", created_at=moment,
                     updated_at=moment, started_at=moment, completed_at=None, progress=0.0,
                     start_command="python3 train.py")


def test_events_update_the_parts_they_name() -> None:
    model = RunModel(detail())
    line = {"seq": 4, "timestamp": T, "stream": "stdout", "level": "INFO", "message": "hi"}
    assert model.apply(ServerEvent("log", "4", {"lines": [line]})) == {"log"}
    assert [e.message for e in model.take_new_lines()] == ["hi"]
    assert model.take_new_lines() == []
    model.apply(ServerEvent("metrics", "5", {"step": 10, "values": {"loss": 2.5}}))
    model.apply(ServerEvent("metrics", "6", {"step": 20, "values": {"loss": 2.1}}))
    model.apply(ServerEvent("metrics", "7", {"step": 20, "values": {"loss": 2.0}}))  # again
    assert model.series["loss"] == {10: 2.5, 20: 2.0}
    assert model.detail.metrics == {"loss": 2.0}
    model.apply(ServerEvent("progress", "8", {"progress": 0.2, "current_step": 20,
                                              "total_steps": 100, "eta_seconds": 40.0}))
    assert model.detail.progress == 0.2 and model.detail.progress_info.total_steps == 100
    assert model.apply(ServerEvent("artifact", "9", {
        "id": "ckpt_1", "name": "checkpoint-20", "type": "checkpoint", "path": "/o/c-20",
        "created_at": T, "tags": [], "step": 20})) == {"artifacts"}
    assert model.apply(ServerEvent("gpu", "10", {"gpus": [0], "memory_used": 5})) == {"gpu"}
    assert model.gpu is not None and model.gpu.gpus == [0]
    model.apply(ServerEvent("status", "11", {
        "status": "paused", "message": "paused; kept checkpoint checkpoint-20",
        "exit_code": 0, "kept_artifact_id": "ckpt_1", "completed_at": T}))
    assert model.finished and model.detail.exit_code == 0
    assert model.is_kept(model.artifact_list()[0])
    assert model.apply(ServerEvent("end", "11", {"run_id": "run_1"})) == {"end"}
    assert model.ended and model.last_event_id == "11"
    assert model.apply(ServerEvent("something-new", "12", {})) == set()


def test_checkpoints_list_newest_first_and_losses_charted_first() -> None:
    model = RunModel(detail())
    for step in (10, 30, 20):
        model.apply(ServerEvent("artifact", None, {
            "id": f"c{step}", "name": f"checkpoint-{step}", "type": "checkpoint",
            "path": "/o", "created_at": T, "tags": [], "step": step}))
    model.apply(ServerEvent("artifact", None, {"id": "cfg", "name": "a.yaml", "type": "config",
                                               "path": "/c", "created_at": T, "tags": []}))
    assert [a.id for a in model.artifact_list()] == ["c30", "c20", "c10", "cfg"]
    assert chart_keys(["epoch", "eval_loss", "loss", "lm loss", "learning_rate"]) == [
        "loss", "eval_loss", "lm loss"]
