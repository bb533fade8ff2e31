"""The run engine with the ``local`` executor: real trainer processes on this host."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from common.client import ApiError, TrainyardClient
from common.models import ProjectUpdate, RunCreate

from ..conftest import TOKEN, Server, make_workspace, project_body
from ..helpers import all_logs, group_members, wait_for_status, wait_until

TRAIN = "python3 tiny_trainer.py --config configs/tiny.yaml"
SEED_RUN_FIELDS = {
    "id", "project_id", "status", "created_at", "updated_at", "started_at", "completed_at",
    "progress", "metrics", "start_command", "artifacts", "logs", "resume_source_artifact_id",
}


async def test_launch_runs_the_trainer_to_completion(server: Server, client: TrainyardClient,
                                                     workspace: Path) -> None:
    project = await client.create_project(project_body("sft"))
    response = httpx.post(f"{server.url}/projects/sft/runs", json={"start_command": TRAIN},
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 201, response.text
    started = response.json()
    assert started.keys() >= SEED_RUN_FIELDS
    assert started["status"] == "running" and started["started_at"]
    assert started["project_id"] == project.id
    # The YAML changes after launch; the run's config artifact keeps it as it was.
    yaml_path = workspace / "configs" / "tiny.yaml"
    launched_yaml = yaml_path.read_text()
    yaml_path.write_text(launched_yaml + "# edited later\n")

    run = await wait_for_status(client, "sft", started["id"], {"completed", "failed"})
    assert run.status == "completed" and run.exit_code == 0 and run.completed_at
    assert (await client.get_project("sft")).runs_started == 1

    logs = await all_logs(client, "sft", run.id)
    seqs = [e.seq for e in logs]  # strictly increasing: ordered, none repeated
    assert seqs == sorted(set(seqs))
    messages = [e.message for e in logs]
    assert "***** Running training *****" in messages
    assert sum(m.startswith("{'loss':") for m in messages) == 12  # 60 steps, every 5
    assert all(e.stream == "stdout" for e in logs if e.message.startswith("{'loss':"))
    # The \r-redrawn bar collapses: a handful of lines, not one per step.
    bars = [m for m in messages if re.search(r"\d+/60 \[", m)]
    assert 1 <= len(bars) <= 12 and "60/60" in bars[-1]
    assert not any("\r" in m for m in messages)

    checkpoints = [a for a in run.artifacts if a.type == "checkpoint"]
    assert [a.step for a in checkpoints] == [10, 20, 30, 40, 50, 60]
    assert checkpoints[0].path == str(workspace / "saves" / "tiny" / "checkpoint-10")
    assert any(a.type == "tensorboard" for a in run.artifacts)
    [config] = [a for a in run.artifacts if a.type == "config"]
    assert Path(config.path).read_text() == launched_yaml
    # The detail carries only the last lines of the log.
    assert 0 < len(run.logs) <= 50 and run.logs[-1].seq == logs[-1].seq


async def test_failing_command_is_failed_with_its_exit_code(client: TrainyardClient) -> None:
    await client.create_project(project_body("fails"))
    run = await client.start_run("fails", RunCreate("echo boom >&2; exit 3"))
    run = await wait_for_status(client, "fails", run.id, {"completed", "failed"})
    assert run.status == "failed" and run.exit_code == 3
    assert "exit code 3" in (run.status_message or "")
    logs = await all_logs(client, "fails", run.id)
    assert any(e.message == "boom" and e.stream == "stderr" for e in logs)


async def test_missing_dataset_and_yaml_is_400_listing_where_it_looked(
        client: TrainyardClient, workspace: Path) -> None:
    await client.create_project(project_body("missing", dataset_name="nope",
                                             training_yaml_name="nope.yaml"))
    with pytest.raises(ApiError) as err:
        await client.start_run("missing", RunCreate(TRAIN))
    body = err.value.body
    assert body.status_code == 400 and body.code == "resources_missing"
    assert body.details is not None
    missing = {m["item"]: m for m in body.details["missing"]}
    assert missing.keys() == {"dataset", "training_yaml"}
    assert str(workspace / "data" / "nope.jsonl") in missing["dataset"]["looked_in"]
    assert any("dataset_info.json" in place for place in missing["dataset"]["looked_in"])
    assert str(workspace / "configs" / "nope.yaml") in missing["training_yaml"]["looked_in"]
    assert await client.list_runs("missing") == []
    assert (await client.get_project("missing")).runs_started == 0


async def test_dataset_found_through_dataset_info(client: TrainyardClient,
                                                  workspace: Path) -> None:
    info = workspace / "data" / "dataset_info.json"
    info.write_text(json.dumps({"alias": {"file_name": "tiny_corpus.txt"}}))
    await client.create_project(project_body("aliased", dataset_name="alias"))
    run = await client.start_run("aliased", RunCreate("true"))
    assert any("tiny_corpus.txt" in e.message for e in run.logs)


async def test_archived_and_unknown_projects_cannot_start_runs(client: TrainyardClient) -> None:
    await client.create_project(project_body("old"))
    await client.update_project("old", ProjectUpdate(status="archived"))
    with pytest.raises(ApiError) as err:
        await client.start_run("old", RunCreate(TRAIN))
    assert err.value.status_code == 409 and err.value.code == "project_archived"
    with pytest.raises(ApiError) as err:
        await client.start_run("nobody", RunCreate(TRAIN))
    assert err.value.status_code == 404


async def _long_run(client: TrainyardClient, name: str, **project: object) -> str:
    await client.create_project(project_body(name, **project))
    run = await client.start_run(
        name, RunCreate(f"{TRAIN} --max-steps 5000 --step-delay 0.02"))
    return run.id


async def _checkpoint_seen(client: TrainyardClient, name: str, run_id: str) -> bool:
    run = await client.get_run(name, run_id)
    return any(a.type == "checkpoint" for a in run.artifacts)


async def test_cancel_stops_the_whole_group_and_keeps_the_newest_checkpoint(
        client: TrainyardClient) -> None:
    run_id = await _long_run(client, "cancel")
    await wait_until(lambda: _checkpoint_seen(client, "cancel", run_id), what="a checkpoint")
    detail = await client.cancel("cancel", run_id, grace_seconds=10)
    pgid = await all_logs(client, "cancel", run_id)
    assert detail.status == "canceled" and detail.completed_at
    checkpoints = [a for a in detail.artifacts if a.type == "checkpoint"]
    newest = max(checkpoints, key=lambda a: a.step or 0)
    assert detail.kept_artifact_id == newest.id and "kept" in newest.tags
    assert newest.name in (detail.status_message or "")
    group = int(re.search(r"process group (\d+)", " ".join(e.message for e in pgid)).group(1))
    assert group_members(group) == []
    with pytest.raises(ApiError) as err:
        await client.cancel("cancel", run_id)
    assert err.value.status_code == 409 and err.value.code == "run_finished"


async def test_cancel_says_plainly_when_no_checkpoint_existed_and_kills_after_grace(
        client: TrainyardClient) -> None:
    await client.create_project(project_body("stubborn"))
    run = await client.start_run("stubborn", RunCreate(
        "trap '' TERM; sleep 600 & sleep 600 & wait"))
    group = int(re.search(r"process group (\d+)",
                          " ".join(e.message for e in run.logs)).group(1))
    assert len(group_members(group)) == 3
    detail = await client.cancel("stubborn", run.id, grace_seconds=1)
    assert detail.status == "canceled" and detail.kept_artifact_id is None
    assert "no complete checkpoint existed" in (detail.status_message or "")
    logs = [e.message for e in await all_logs(client, "stubborn", run.id)]
    assert any("sent SIGKILL" in m for m in logs)
    assert group_members(group) == []


async def test_pause_then_resume_continues_from_the_checkpoint(client: TrainyardClient,
                                                               workspace: Path) -> None:
    run_id = await _long_run(client, "pausing")
    await wait_until(lambda: _checkpoint_seen(client, "pausing", run_id), what="a checkpoint")
    paused = await client.cancel("pausing", run_id, grace_seconds=10, pause=True)
    assert paused.status == "paused"
    kept = next(a for a in paused.artifacts if a.id == paused.kept_artifact_id)

    resumed = await client.resume("pausing", run_id, start_command=f"{TRAIN} --max-steps "
                                  f"{(kept.step or 0) + 15} --resume-from-checkpoint "
                                  "{resume_from}")
    assert resumed.parent_run_id == run_id and resumed.resume_source_artifact_id == kept.id
    assert resumed.env["TRAINYARD_RESUME_FROM"] == kept.path
    assert kept.path in resumed.start_command and "{resume_from}" not in resumed.start_command
    done = await wait_for_status(client, "pausing", resumed.id, {"completed", "failed"})
    assert done.status == "completed"
    messages = [e.message for e in await all_logs(client, "pausing", resumed.id)]
    assert f"  Continuing training from global step {kept.step}" in messages
    # The resumed run records only its own checkpoints, not its parent's.
    steps = [a.step for a in done.artifacts if a.type == "checkpoint"]
    assert steps and min(s or 0 for s in steps) > (kept.step or 0)


async def test_resume_defaults_to_newest_checkpoint_and_parent_command(
        client: TrainyardClient) -> None:
    await client.create_project(project_body("again"))
    first = await client.start_run("again", RunCreate(f"{TRAIN} --max-steps 20"))
    first = await wait_for_status(client, "again", first.id, {"completed"})
    resumed = await client.resume("again", first.id)
    newest = max((a for a in first.artifacts if a.type == "checkpoint"),
                 key=lambda a: a.step or 0)
    assert resumed.resume_source_artifact_id == newest.id
    assert resumed.start_command == first.start_command
    done = await wait_for_status(client, "again", resumed.id, {"completed", "failed"})
    messages = [e.message for e in await all_logs(client, "again", done.id)]
    assert "  Continuing training from global step 20" in messages


async def test_resume_errors(client: TrainyardClient) -> None:
    await client.create_project(project_body("errs"))
    run = await client.start_run("errs", RunCreate("true"))
    await wait_for_status(client, "errs", run.id, {"completed"})
    config = next(a for a in (await client.get_run("errs", run.id)).artifacts
                  if a.type == "config")
    with pytest.raises(ApiError) as err:
        await client.resume("errs", run.id, source_artifact_id="ckpt_doesnotexist")
    assert err.value.status_code == 404 and err.value.code == "artifact_not_found"
    with pytest.raises(ApiError) as err:
        await client.resume("errs", run.id, source_artifact_id=config.id)
    assert err.value.status_code == 409 and err.value.code == "artifact_not_resumable"
    with pytest.raises(ApiError) as err:
        await client.resume("errs", run.id)
    assert err.value.status_code == 409 and err.value.code == "no_checkpoint"


async def test_save_signal_makes_cancel_keep_a_fresh_checkpoint(tmp_path: Path) -> None:
    # Checkpoints every 100000 steps: only the save signal can produce one.
    workspace = make_workspace(tmp_path / "ws", max_steps=100000, save_steps=100000,
                               step_delay=0.01)
    srv = Server(data_dir=tmp_path / "data", workspace=workspace).start()
    try:
        async with srv.client() as api:
            await api.create_project(project_body("signal", save_signal="SIGUSR1"))
            run = await api.start_run("signal", RunCreate(f"{TRAIN}; echo after the trainer"))
            assert run.env["TRAINYARD_SAVE_SIGNAL"] == "SIGUSR1"
            await wait_until(lambda: _bar_moved(api, run.id), what="training to start")
            detail = await api.cancel("signal", run.id, grace_seconds=20)
            logs = [e.message for e in await all_logs(api, "signal", run.id)]
        assert detail.status == "canceled"
        # The shell in front of the trainer ignored the save signal and went on.
        assert "after the trainer" in logs
        assert detail.exit_code == 0 and detail.progress < 1.0
        kept = next(a for a in detail.artifacts if a.id == detail.kept_artifact_id)
        assert kept.type == "checkpoint" and kept.step and kept.step % 100000 != 0
        assert (Path(kept.path) / "trainer_state.json").exists()
    finally:
        srv.stop()


async def _bar_moved(api: TrainyardClient, run_id: str) -> bool:
    logs = await all_logs(api, "signal", run_id)
    return any("Total optimization steps" in e.message for e in logs)


async def test_logs_page_in_order_and_as_text(client: TrainyardClient, server: Server) -> None:
    await client.create_project(project_body("pages"))
    run = await client.start_run("pages", RunCreate("seq 1 2500"))
    await wait_for_status(client, "pages", run.id, {"completed"})
    first = await client.logs("pages", run.id, after=0, limit=1000)
    second = await client.logs("pages", run.id, after=first.next_after, limit=1000)
    assert first.has_more and len(first.entries) == 1000
    assert second.entries[0].seq == first.entries[-1].seq + 1
    everything = [e.message for e in await all_logs(client, "pages", run.id)]
    assert [m for m in everything if m.isdigit()] == [str(i) for i in range(1, 2501)]
    text = httpx.get(f"{server.url}/projects/pages/runs/{run.id}/logs",
                     params={"format": "text", "limit": 10000},
                     headers={"Authorization": f"Bearer {TOKEN}"})
    assert text.headers["content-type"].startswith("text/plain")
    assert "\n1\n2\n3\n" in text.text and text.text.endswith("run completed\n")


async def test_a_burst_then_a_trickle_is_stored_once_in_order(server: Server,
                                                              client: TrainyardClient) -> None:
    # 60,000 lines at once reach the store in big batches (written off the event loop),
    # the trickle after them in small ones (written on it): one sequence, no line lost.
    await client.create_project(project_body("burst"))
    command = "seq 1 60000; for i in 1 2 3; do echo tail-$i; sleep 0.2; done"
    run = await client.start_run("burst", RunCreate(command))
    await wait_for_status(client, "burst", run.id, {"completed"})
    stdout: list[str] = []
    after = 0
    while True:
        page = httpx.get(f"{server.url}/projects/burst/runs/{run.id}/logs",
                         params={"after": after, "limit": 10000},
                         headers={"Authorization": f"Bearer {TOKEN}"}).json()
        entries = page["entries"]
        if not entries:
            break
        seqs = [e["seq"] for e in entries]  # events take numbers of the same sequence
        assert seqs == sorted(set(seqs)) and seqs[0] > after
        stdout += [e["message"] for e in entries if e["stream"] == "stdout"]
        after = page["next_after"]
    assert stdout == [str(i) for i in range(1, 60001)] + ["tail-1", "tail-2", "tail-3"]


async def test_runs_list_newest_first_with_status_filter(client: TrainyardClient) -> None:
    await client.create_project(project_body("listing"))
    ok = await client.start_run("listing", RunCreate("true", output_dir="saves/ok"))
    bad = await client.start_run("listing", RunCreate("false", output_dir="saves/bad"))
    await wait_for_status(client, "listing", bad.id, {"failed"})
    await wait_for_status(client, "listing", ok.id, {"completed"})
    assert [r.id for r in await client.list_runs("listing")] == [bad.id, ok.id]
    assert [r.id for r in await client.list_runs("listing", status="failed")] == [bad.id]
    project = await client.get_project("listing")
    assert [r.id for r in project.runs] == [bad.id, ok.id] and project.runs_started == 2


async def test_resuming_a_resumed_run_uses_its_own_newest_checkpoint(
        client: TrainyardClient) -> None:
    await client.create_project(project_body("chain"))
    first = await client.start_run("chain", RunCreate(f"{TRAIN} --max-steps 20"))
    await wait_for_status(client, "chain", first.id, {"completed"})
    second = await client.resume(
        "chain", first.id,
        start_command=f"{TRAIN} --max-steps 40 --resume-from-checkpoint {{resume_from}}")
    second = await wait_for_status(client, "chain", second.id, {"completed"})
    third = await client.resume("chain", second.id)  # no body: the template, re-filled
    newest = max((a for a in second.artifacts if a.type == "checkpoint"),
                 key=lambda a: a.step or 0)
    assert newest.step == 40 and third.resume_source_artifact_id == newest.id
    assert newest.path in third.start_command
    assert second.start_command not in third.start_command


async def test_resume_of_a_live_run_is_refused(client: TrainyardClient) -> None:
    await client.create_project(project_body("busy"))
    run = await client.start_run("busy", RunCreate("sleep 30"))
    with pytest.raises(ApiError) as err:
        await client.resume("busy", run.id)
    assert err.value.status_code == 409 and err.value.code == "run_live"
    await client.cancel("busy", run.id, grace_seconds=2)


@pytest.mark.parametrize("name", ["SIGKILL", "STOP", "SIGFOO", "SIGTERM"])
async def test_unusable_save_signals_are_refused(server: Server, client: TrainyardClient,
                                                 name: str) -> None:
    body = {"name": "sig", "objective": "o", "task_type": "t", "owner": "me",
            "dataset_name": "tiny_corpus", "training_yaml_name": "tiny.yaml", "save_signal": name}
    response = httpx.post(f"{server.url}/projects", json=body,
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400 and "save_signal" in response.json()["message"]
    assert await client.list_projects() == []


async def test_cancel_reaches_workers_in_sessions_of_their_own(client: TrainyardClient,
                                                               workspace: Path) -> None:
    # Like torchrun: a launcher whose worker runs in a new session, outside the group.
    (workspace / "launcher.py").write_text(
        "import subprocess, sys\n"
        "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)',\n"
        "                           'trainyard-orphan-check'], start_new_session=True)\n"
        "print('worker', worker.pid, flush=True)\n"
        "worker.wait()\n")
    await client.create_project(project_body("torchrun"))
    run = await client.start_run("torchrun", RunCreate("python3 launcher.py"))

    async def worker_pid() -> int | None:
        for entry in (await client.get_run("torchrun", run.id)).logs:
            if entry.message.startswith("worker "):
                return int(entry.message.split()[1])
        return None

    pid = await wait_until(worker_pid, what="the worker to start")
    assert Path(f"/proc/{pid}").exists()
    detail = await client.cancel("torchrun", run.id, grace_seconds=5)
    assert detail.status == "canceled"
    await wait_until(_process_gone(pid), timeout=10, what="the worker to exit")


def _process_gone(pid: int):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True

    return probe
