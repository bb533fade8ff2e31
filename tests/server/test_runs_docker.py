"""The run engine with the ``docker`` executor, against the real private Docker engine
(``scripts/docker-engine.sh up``; ``make test`` starts it) and the local test image."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.client import ApiError, TrainyardClient
from common.models import LogEntry, RunCreate, RunDetail

from ..conftest import REPO, Server, make_workspace, project_body
from ..helpers import all_logs, wait_for_status, wait_until

pytestmark = pytest.mark.docker

IMAGE = "trainyard-test:1"
TRAIN = "python3 tiny_trainer.py --config configs/tiny.yaml"
DOCKER_HOST = os.environ.get("DOCKER_HOST", "unix:///run/trainyard-docker/docker.sock")


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "-H", DOCKER_HOST, *args], capture_output=True,
                          text=True, check=check, timeout=60)


@pytest.fixture(scope="module", autouse=True)
def engine() -> None:
    try:
        answered = docker("image", "inspect", IMAGE, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        answered = False
    if not answered:
        pytest.skip(f"no Docker engine with image {IMAGE} at {DOCKER_HOST}: run "
                    "'scripts/docker-engine.sh up' (make test does)")


def start_container(workspace: Path | None) -> str:
    name = f"ty-test-{uuid.uuid4().hex[:8]}"
    mount = ["-v", f"{workspace}:/workspace"] if workspace else []
    docker("run", "-d", "--init", "--network", "none", "--name", name, "-v", "/usr:/usr:ro",
           *mount, "-w", "/workspace", IMAGE, "sleep", "infinity")
    return name


@pytest.fixture
def container(workspace: Path) -> Iterator[str]:
    name = start_container(workspace)
    yield name
    docker("rm", "-f", name, check=False)


def docker_server(tmp_path: Path, workspace: Path, container: str) -> Server:
    return Server(data_dir=tmp_path / "data", workspace=workspace, env_extra={
        "TRAINYARD_EXECUTOR": "docker", "TRAINYARD_CONTAINER": container,
        "DOCKER_HOST": DOCKER_HOST, "TRAINYARD_WORKDIR": "."}).start()


@pytest.fixture
def dserver(tmp_path: Path, workspace: Path, container: str) -> Iterator[Server]:
    srv = docker_server(tmp_path, workspace, container)
    yield srv
    srv.stop()


def processes_in(container: str, prefix: str) -> list[str]:
    """Command lines of the container's processes that start with ``prefix`` (but not the
    wrapper's clock, which is Trainyard's, not the run's)."""
    out = docker("exec", container, "bash", "-c",
                 "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done")
    return [line for line in out.stdout.splitlines()
            if line.startswith(prefix) and "/proc/[0-9]" not in line  # not this probe
            and "trainyard-clock" not in line]


async def test_trainer_runs_inside_the_container(dserver: Server, container: str,
                                                 workspace: Path) -> None:
    async with dserver.client() as api:
        await api.create_project(project_body("in-docker"))
        run = await api.start_run("in-docker", RunCreate(TRAIN, env={"EXTRA": "é ok"}))
        assert run.status == "running" and run.container == container
        assert run.workdir == "/workspace"
        done = await wait_for_status(api, "in-docker", run.id, {"completed", "failed"})
        logs = await all_logs(api, "in-docker", run.id)
    assert done.status == "completed", [e.message for e in logs][-20:]
    messages = [e.message for e in logs]
    assert sum(m.startswith("{'loss':") for m in messages) == 12
    checkpoints = [a for a in done.artifacts if a.type == "checkpoint"]
    # Paths are as the container sees them; the files are really there on the host.
    assert checkpoints[0].path == "/workspace/saves/tiny/checkpoint-10"
    assert (workspace / "saves" / "tiny" / "checkpoint-60" / "trainer_state.json").exists()
    env = docker("exec", container, "cat", f"/workspace/.trainyard/runs/{run.id}/pgid")
    assert env.stdout.strip().isdigit()


async def test_missing_or_stopped_container_is_500_naming_it(tmp_path: Path,
                                                             workspace: Path) -> None:
    srv = docker_server(tmp_path, workspace, "no-such-container")
    try:
        async with srv.client() as api:
            await api.create_project(project_body("nowhere"))
            with pytest.raises(ApiError) as err:
                await api.start_run("nowhere", RunCreate(TRAIN))
            assert err.value.status_code == 500 and err.value.code == "launch_failed"
            assert "no-such-container" in err.value.body.message
            [run] = await api.list_runs("nowhere")
            assert run.status == "failed" and run.completed_at
            logs = await all_logs(api, "nowhere", run.id)
            assert any("does not exist" in e.message and e.level == "ERROR" for e in logs)
    finally:
        srv.stop()

    stopped = start_container(workspace)
    docker("stop", "-t", "0", stopped)
    srv = docker_server(tmp_path / "again", workspace, stopped)
    try:
        async with srv.client() as api:
            await api.create_project(project_body("stopped"))
            with pytest.raises(ApiError) as err:
                await api.start_run("stopped", RunCreate(TRAIN))
            assert err.value.status_code == 500 and "is not running" in err.value.body.message
    finally:
        srv.stop()
        docker("rm", "-f", stopped, check=False)


async def test_cancel_leaves_no_process_of_the_run_in_the_container(
        dserver: Server, container: str) -> None:
    async with dserver.client() as api:
        await api.create_project(project_body("stop-docker"))
        # A launcher that waits on two workers, like torchrun.
        run = await api.start_run("stop-docker", RunCreate(
            f"{TRAIN} --max-steps 100000 --step-delay 0.02 & "
            "python3 -c 'import time; time.sleep(600)' & wait"))

        async def checkpoint() -> bool:
            detail = await api.get_run("stop-docker", run.id)
            return any(a.type == "checkpoint" for a in detail.artifacts)

        await wait_until(checkpoint, what="a checkpoint")
        assert len(processes_in(container, "python3 ")) == 2  # the two workers
        detail = await api.cancel("stop-docker", run.id, grace_seconds=10)
    assert detail.status == "canceled" and detail.kept_artifact_id
    assert processes_in(container, "python3 ") == []
    assert processes_in(container, "bash ") == []  # nor the run's shell, nor the wrapper


async def test_run_files_outside_shared_mounts_are_read_through_the_engine(
        tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    unshared = start_container(None)  # the workspace is not mounted into it
    srv = docker_server(tmp_path, workspace, unshared)
    try:
        async with srv.client() as api:
            await api.create_project(project_body("unshared"))
            run = await api.start_run("unshared", RunCreate(
                "for i in $(seq 1 3000); do echo line-$i; done; echo err >&2; exit 4"))
            done = await wait_for_status(api, "unshared", run.id, {"completed", "failed"})
            logs = await all_logs(api, "unshared", run.id)
        assert done.status == "failed" and done.exit_code == 4
        out = [e.message for e in logs if e.stream == "stdout"]
        assert out == [f"line-{i}" for i in range(1, 3001)]
        assert [e.message for e in logs if e.stream == "stderr"] == ["err"]
        assert not (workspace / ".trainyard").exists()
    finally:
        srv.stop()
        docker("rm", "-f", unshared, check=False)


async def restart_engine_mid_run(api: TrainyardClient, project: str, ticks: int,
                                 after: int) -> tuple[RunDetail, list[LogEntry]]:
    """Start a run printing ``tick-1..ticks``, restart the engine once ``tick-<after>`` is
    stored, and return the ended run and its log."""
    await api.create_project(project_body(project))
    run = await api.start_run(project, RunCreate(
        f"for i in $(seq 1 {ticks}); do echo tick-$i; sleep 0.1; done"))

    async def ticking() -> bool:
        return any(e.message == f"tick-{after}" for e in await all_logs(api, project, run.id))

    await wait_until(ticking, what="output")
    restarted = subprocess.run([str(REPO / "scripts" / "docker-engine.sh"), "restart"],
                               capture_output=True, text=True, timeout=120)
    assert restarted.returncode == 0, restarted.stderr
    done = await wait_for_status(api, project, run.id, {"completed", "failed"})
    return done, await all_logs(api, project, run.id)


async def test_dockerd_restart_with_live_restore_loses_nothing(dserver: Server) -> None:
    async with dserver.client() as api:
        done, logs = await restart_engine_mid_run(api, "live-restore", ticks=60, after=5)
    assert done.status == "completed"
    assert [e.message for e in logs if e.stream == "stdout"] == [
        f"tick-{i}" for i in range(1, 61)]
    assert re.search(r"process group \d+", " ".join(e.message for e in logs))


async def test_an_engine_restart_while_reading_through_it_repeats_no_line(
        tmp_path: Path) -> None:
    # The run's files are read through the engine, so its restart fails reads mid-run; the
    # follower starts again from what is stored, not from where it began.
    workspace = make_workspace(tmp_path / "ws")
    unshared = start_container(None)
    srv = docker_server(tmp_path, workspace, unshared)
    try:
        async with srv.client() as api:
            done, logs = await restart_engine_mid_run(api, "flaky-engine", ticks=80, after=20)
        assert done.status == "completed"
        assert [e.message for e in logs if e.stream == "stdout"] == [
            f"tick-{i}" for i in range(1, 81)]
    finally:
        srv.stop()
        docker("rm", "-f", unshared, check=False)


async def test_engine_restart_a_stop_while_the_engine_is_down_is_503(
        dserver: Server) -> None:
    engine = str(REPO / "scripts" / "docker-engine.sh")
    async with dserver.client() as api:
        await api.create_project(project_body("engine-down"))
        run = await api.start_run("engine-down", RunCreate(
            "for i in $(seq 1 60); do echo tick-$i; sleep 0.1; done"))

        async def ticking() -> bool:
            return any(e.message == "tick-3" for e in await all_logs(api, "engine-down", run.id))

        await wait_until(ticking, what="output")
        down = subprocess.run([engine, "down"], capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stderr
        try:
            with pytest.raises(ApiError) as err:
                await api.cancel("engine-down", run.id, grace_seconds=1)
            assert err.value.status_code == 503 and err.value.code == "executor_unavailable"
            assert (await api.get_run("engine-down", run.id)).status == "running"
        finally:
            up = subprocess.run([engine, "up"], capture_output=True, text=True, timeout=120)
            assert up.returncode == 0, up.stderr
        done = await wait_for_status(api, "engine-down", run.id, {"completed", "failed",
                                                                   "canceled"})
        assert done.status == "completed"  # no stale stop request turned it into canceled
