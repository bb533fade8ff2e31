"""The slurm executor against a real one-node Slurm cluster (4 device-file GPUs): runs are
batch jobs that Slurm places and queues; their files are followed like any run's."""

from __future__ import annotations

import asyncio
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.client import ApiError, TrainyardClient
from common.models import RunCreate, RunDetail
from server.executors.slurm import node_command

from ..conftest import REPO, Server, project_body
from ..helpers import all_logs, wait_for_status, wait_until
from .slurm_cluster import SLURM_CONF, Cluster, controller, serve_on_cluster, slurm

pytestmark = pytest.mark.slurm

ENDED = {"completed", "failed", "canceled", "paused"}
TRAIN = "python3 tiny_trainer.py --config configs/tiny.yaml"
SHOW = 'echo "CVD=$CUDA_VISIBLE_DEVICES NPROC=${NPROC_PER_NODE:-} JOB=$SLURM_JOB_ID"'


@pytest.fixture
def cluster(tmp_path: Path, workspace: Path) -> Iterator[Cluster]:
    yield from serve_on_cluster(tmp_path, workspace)


async def _said(api: TrainyardClient, project: str, run_id: str, text: str) -> str | None:
    return next((e.message for e in await all_logs(api, project, run_id) if text in e.message),
                None)


async def _printed(api: TrainyardClient, project: str, run_id: str) -> str:
    """The line the run's command printed with its CUDA_VISIBLE_DEVICES."""
    async def line() -> str | None:
        return next((e.message for e in await all_logs(api, project, run_id)
                     if e.stream == "stdout" and e.message.startswith("CVD=")), None)
    return await wait_until(line, what=f"run {run_id}'s CUDA_VISIBLE_DEVICES")


async def _checkpoint(api: TrainyardClient, project: str, run_id: str) -> bool:
    return any(a.type == "checkpoint" for a in (await api.get_run(project, run_id)).artifacts)


async def test_a_training_run_on_slurm_with_live_logs_and_metrics(cluster: Cluster) -> None:
    async with cluster.server.client() as api:
        await api.create_project(project_body("train"))
        run = await api.start_run("train", RunCreate(f"{TRAIN} --step-delay 0.05", gpus=1))
        assert run.status == "pending" and run.slurm_job_id and run.slurm_job_id.isdigit()
        assert run.gpus == 1 and run.nodes == 1
        running = await wait_for_status(api, "train", run.id, {"running"} | ENDED)
        assert running.node_list  # where Slurm put it
        assert running.gpu_note is None  # this host: its GPU figures are sampled here
        # Live: a metric and progress while it runs, from the files on the shared disk.
        async def live() -> RunDetail | None:
            detail = await api.get_run("train", run.id)
            return detail if detail.status == "running" and "loss" in detail.metrics else None
        await wait_until(live, what="a loss while running")
        done = await wait_for_status(api, "train", run.id, ENDED, timeout=90)
        assert done.status == "completed" and done.exit_code == 0, done.status_message
        assert done.progress == 1.0
        assert [a.step for a in done.artifacts if a.type == "checkpoint"][-1] == 60
        logs = await all_logs(api, "train", run.id)
        assert any(e.stream == "stderr" and "60/60" in e.message for e in logs) or any(
            "train_runtime" in e.message for e in logs)
        assert any(f"submitted to Slurm as job {run.slurm_job_id}" in e.message for e in logs)
        # Slurm itself remembers the job as ours, named after the run.
        shown = slurm("scontrol", "show", "job", "-o", run.slurm_job_id, check=False).stdout
        assert not shown or f"JobName=trainyard-{run.id}" in shown


async def test_a_command_that_exits_1_fails_with_its_exit_code(cluster: Cluster) -> None:
    async with cluster.server.client() as api:
        await api.create_project(project_body("exit1"))
        run = await api.start_run("exit1", RunCreate("echo about to fail; exit 1",
                                                     priority=-7))
        done = await wait_for_status(api, "exit1", run.id, ENDED)
        assert done.status == "failed" and done.exit_code == 1
        assert done.status_message == "run failed: exit code 1"
        assert await _said(api, "exit1", run.id, "about to fail")
        # A lower priority is Slurm's nice value (it orders the job behind others).
        shown = slurm("scontrol", "show", "job", "-o", run.slurm_job_id or "").stdout
        assert " Nice=7 " in shown


async def test_each_node_gets_what_torchrun_reads(cluster: Cluster) -> None:
    """The per-node script of a multi-node run, in a real job step (one node here)."""
    command = node_command('echo "$MASTER_ADDR $MASTER_PORT $NNODES $NODE_RANK '
                           '$NPROC_PER_NODE $FORCE_TORCHRUN"', nodes=2, gpus=4, prefix=())
    argv = shlex.split(command)
    assert argv[:4] == ["srun", "--kill-on-bad-exit=1", "--nodes=2", "--ntasks-per-node=1"]
    argv[2] = "--nodes=1"  # the one node this cluster has
    out = slurm(*argv).stdout.split()
    host = slurm("sinfo", "-h", "-o", "%n").stdout.strip()
    assert out == [host, "29500", "1", "0", "4", "1"]


async def test_cancel_keeps_the_runs_own_newest_checkpoint_then_resume(
        cluster: Cluster) -> None:
    async with cluster.server.client() as api:
        await api.create_project(project_body("keep"))
        run = await api.start_run("keep", RunCreate(
            f"{TRAIN} --max-steps 100000 --step-delay 0.02", gpus=2))
        await wait_until(lambda: _checkpoint(api, "keep", run.id), what="a checkpoint")
        began = time.monotonic()
        canceled = await api.cancel("keep", run.id, grace_seconds=10)
        took = time.monotonic() - began
        assert canceled.status == "canceled"
        checkpoints = [a for a in canceled.artifacts if a.type == "checkpoint"]
        newest = max(checkpoints, key=lambda a: a.step or 0)
        assert canceled.kept_artifact_id == newest.id and "kept" in newest.tags
        assert newest.run_id == run.id
        assert took < 10  # the trainer stopped on SIGTERM, within the grace period
        # Slurm saw the job end (nothing of it still runs).
        state = slurm("squeue", "-h", "-j", canceled.slurm_job_id or "", "-o", "%T",
                      check=False).stdout.strip()
        assert state in ("", "COMPLETED", "CANCELLED", "FAILED"), state

        resumed = await api.resume("keep", run.id, start_command=(
            f"{TRAIN} --max-steps {(newest.step or 0) + 10} --resume-from-checkpoint "
            "{resume_from}"))
        assert resumed.status == "pending" and resumed.slurm_job_id != run.slurm_job_id
        assert resumed.env["TRAINYARD_RESUME_FROM"] == newest.path
        done = await wait_for_status(api, "keep", resumed.id, ENDED, timeout=90)
        assert done.status == "completed", done.status_message
        assert await _said(api, "keep", resumed.id, "checkpoint-")
        assert done.parent_run_id == run.id


async def test_three_runs_of_two_gpus_on_four(cluster: Cluster) -> None:
    async with cluster.server.client() as api:
        await api.create_project(project_body("twos", gpus=2))
        runs = [await api.start_run("twos", RunCreate(f"{SHOW}; sleep {s}",
                                                      output_dir=f"o/{i}"))
                for i, s in enumerate((4, 120, 120))]
        first, second = [await wait_for_status(api, "twos", r.id, {"running"} | ENDED)
                         for r in runs[:2]]

        async def held() -> RunDetail | None:  # Slurm says "Priority" until it looks
            third = await api.get_run("twos", runs[2].id)
            return third if "Resources" in (third.pending_reason or "") else None
        third = await wait_until(held, what="Slurm's reason for the third")
        assert third.status == "pending"
        assert "waiting for resources: 2 GPUs" in (third.pending_reason or "")
        assert "Resources" in (third.pending_reason or "")  # Slurm's own code, kept
        assert third.queue_position == 1

        printed = [await _printed(api, "twos", r.id) for r in (first, second)]
        given = [p.split()[0].removeprefix("CVD=") for p in printed]
        assert sorted(given) == ["0,1", "2,3"]
        # The first ends: the third runs on the GPUs it freed.
        third = await wait_for_status(api, "twos", third.id, {"running"} | ENDED, timeout=60)
        assert third.pending_reason is None and third.queue_position is None
        line = await _printed(api, "twos", third.id)
        assert line.split()[0] == printed[0].split()[0]
        for run in (second, third):
            await api.cancel("twos", run.id, grace_seconds=2)


async def test_a_two_node_request_waits_with_slurms_reason_and_cancels(
        cluster: Cluster) -> None:
    async with cluster.server.client() as api:
        await api.create_project(project_body("wide"))
        run = await api.start_run("wide", RunCreate("echo never", nodes=2, gpus=1))
        assert run.nodes == 2

        async def held() -> RunDetail | None:
            detail = await api.get_run("wide", run.id)
            return detail if detail.pending_reason else None
        detail = await wait_until(held, what="Slurm's reason")
        assert detail.status == "pending"
        assert "2 nodes" in (detail.pending_reason or "")
        # Its priority, changed while it waits, is Slurm's nice value.
        changed = await api.http.patch(f"/projects/wide/runs/{run.id}", json={"priority": -3})
        assert changed.status_code == 200 and changed.json()["priority"] == -3
        assert " Nice=3 " in slurm("scontrol", "show", "job", "-o", run.slurm_job_id or "").stdout
        assert "Partition" in (detail.pending_reason or "")  # PartitionNodeLimit/Config
        canceled = await api.cancel("wide", run.id, grace_seconds=1)
        assert canceled.status == "canceled" and canceled.started_at is None
        assert f"Slurm held job {run.slurm_job_id}" in (canceled.status_message or "")
        state = slurm("squeue", "-h", "-j", run.slurm_job_id or "", "-o", "%T",
                      check=False).stdout.strip()
        assert state in ("", "CANCELLED")
        assert not (cluster.run_dir(run.id) / "stdout.log").exists()


async def test_a_job_cancelled_with_scancel_behind_our_back(cluster: Cluster) -> None:
    async with cluster.server.client() as api:
        await api.create_project(project_body("behind"))
        run = await api.start_run("behind", RunCreate("echo up; sleep 300"))
        await wait_for_status(api, "behind", run.id, {"running"})
        await wait_until(lambda: _said(api, "behind", run.id, "up"), what="the command")
        slurm("scancel", run.slurm_job_id or "")
        done = await wait_for_status(api, "behind", run.id, ENDED, timeout=60)
        assert done.status == "canceled"
        assert "canceled outside Trainyard" in (done.status_message or "")
        assert f"Slurm job {run.slurm_job_id}" in (done.status_message or "")
        # The same for a job Slurm still held.
        held = await api.start_run("behind", RunCreate("echo never", nodes=2,
                                                       output_dir="o/held"))
        slurm("scancel", held.slurm_job_id or "")
        done = await wait_for_status(api, "behind", held.id, ENDED, timeout=60)
        assert done.status == "canceled" and done.started_at is None
        assert "canceled outside Trainyard" in (done.status_message or "")


async def test_a_bad_node_count_is_400_and_stores_nothing(cluster: Cluster) -> None:
    async with cluster.server.client() as api:
        await api.create_project(project_body("bad"))
        response = await api.http.post("/projects/bad/runs",
                                       json={"start_command": "true", "nodes": 0})
        assert response.status_code == 400 and response.json()["code"] == "validation_failed"
        assert await api.list_runs("bad") == []


async def test_kill_9_of_the_server_mid_run_follows_every_run_again(cluster: Cluster) -> None:
    srv = cluster.server
    async with srv.client() as api:
        await api.create_project(project_body("crash"))
        long = await api.start_run("crash", RunCreate(
            "for i in $(seq 1 40); do echo tick $i; sleep 0.2; done", output_dir="o/long"))
        short = await api.start_run("crash", RunCreate("echo short; sleep 2; exit 3",
                                                       output_dir="o/short"))
        wide = await api.start_run("crash", RunCreate("echo never", nodes=2,
                                                      output_dir="o/wide"))
        for run in (long, short):
            await wait_for_status(api, "crash", run.id, {"running"})
        await wait_until(lambda: _said(api, "crash", long.id, "tick 3"), what="ticks")
    srv.stop(signal.SIGKILL)
    await asyncio.sleep(3)  # the short job ends while no server watches
    srv.start()
    async with srv.client() as api:
        done = await wait_for_status(api, "crash", long.id, ENDED, timeout=60)
        assert done.status == "completed", done.status_message
        ticks = [e.message for e in await all_logs(api, "crash", long.id)
                 if e.stream == "stdout"]
        assert ticks == [f"tick {i}" for i in range(1, 41)]  # none lost, none twice
        ended = await wait_for_status(api, "crash", short.id, ENDED)
        assert ended.status == "failed" and ended.exit_code == 3
        assert await _said(api, "crash", long.id, "server restarted")
        # The job Slurm still holds is still pending, still followed, still cancellable.
        async def reason() -> RunDetail | None:
            held = await api.get_run("crash", wide.id)
            return held if "2 nodes" in (held.pending_reason or "") else None
        assert (await wait_until(reason, what="the held job's reason")).status == "pending"
        assert (await api.cancel("crash", wide.id, grace_seconds=1)).status == "canceled"


async def test_slurmctld_away_mid_run_fails_nothing(cluster: Cluster) -> None:
    async with cluster.server.client() as api:
        await api.create_project(project_body("outage"))
        run = await api.start_run("outage", RunCreate(
            "for i in $(seq 1 30); do echo tick $i; sleep 0.2; done"))
        await wait_for_status(api, "outage", run.id, {"running"})
        controller("down")
        try:
            # Following goes on from the files; a launch is refused, storing nothing.
            await wait_until(lambda: _said(api, "outage", run.id, "tick 20"), what="ticks")
            with pytest.raises(ApiError) as refused:
                await api.start_run("outage", RunCreate("echo later"))
            assert refused.value.status_code == 503
            assert refused.value.code == "executor_unavailable"
            assert "DOWN" in refused.value.body.message  # Slurm's own words
            assert len(await api.list_runs("outage")) == 1
            await asyncio.sleep(3)  # the command has ended; Slurm cannot say so yet
            assert (await api.get_run("outage", run.id)).status in ("running", "completed")
        finally:
            controller("up")
        done = await wait_for_status(api, "outage", run.id, ENDED, timeout=60)
        assert done.status == "completed", done.status_message
        later = await api.start_run("outage", RunCreate("echo later"))
        assert (await wait_for_status(api, "outage", later.id, ENDED)).status == "completed"


def _serve_once(tmp_path: Path, workspace: Path, **env: str) -> subprocess.CompletedProcess[str]:
    server = Server(data_dir=tmp_path / "bad", workspace=workspace, env_extra={
        "TRAINYARD_EXECUTOR": "slurm", "SLURM_CONF": SLURM_CONF, **env})
    return subprocess.run([sys.executable, "-m", "server", "serve"], env=server.env,
                          capture_output=True, text=True, timeout=60, cwd=REPO)


@pytest.mark.usefixtures("cluster")
def test_bad_slurm_settings_stop_the_server_with_one_line(tmp_path: Path,
                                                          workspace: Path) -> None:
    away = tmp_path / "away"
    away.mkdir()
    conf = Path(SLURM_CONF).read_text().replace("SlurmctldPort=16817", "SlurmctldPort=16999")
    (away / "slurm.conf").write_text(conf)
    shutil.copy(Path(SLURM_CONF).parent / "gres.conf", away / "gres.conf")
    unreachable = _serve_once(tmp_path, workspace, SLURM_CONF=str(away / "slurm.conf"))
    assert unreachable.returncode == 2
    line = unreachable.stderr.strip().splitlines()
    assert len(line) == 1 and line[0].startswith(
        "trainyard: configuration error: TRAINYARD_EXECUTOR=slurm: the Slurm controller does "
        "not answer"), line

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    unwritable = _serve_once(tmp_path, workspace, TRAINYARD_SLURM_RUN_DIR=str(blocked / "runs"))
    assert unwritable.returncode == 2
    line = unwritable.stderr.strip().splitlines()
    assert len(line) == 1 and "TRAINYARD_SLURM_RUN_DIR=" in line[0], line
    assert "not writable" in line[0]

    partition = _serve_once(tmp_path, workspace, TRAINYARD_SLURM_PARTITION="nosuch")
    assert partition.returncode == 2
    assert "TRAINYARD_SLURM_PARTITION='nosuch' is not a partition" in partition.stderr
    args = _serve_once(tmp_path, workspace, TRAINYARD_SLURM_ARGS="--comment='open")
    assert args.returncode == 2 and "TRAINYARD_SLURM_ARGS=" in args.stderr
