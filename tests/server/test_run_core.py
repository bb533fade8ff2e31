"""The run core under races and restarts, on both executors: one ending per run, stops
that kill every process of the run and outlive their request and the server, launches
reconciled after a crash, and output read after a restart as it was written."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.client import ApiError, TrainyardClient
from common.models import RunCreate, RunDetail

from ..conftest import project_body
from ..helpers import all_logs, marked_pids, wait_for_status, wait_until
from .executors import Core, start_core
from .test_runs_docker import docker

ENDED = {"completed", "failed", "canceled", "paused"}
TRAIN = "python3 tiny_trainer.py --config configs/tiny.yaml"

# Two children that ignore SIGTERM, and a daemon that left the run's session and process
# group by a double fork: all of them carry the run's marker in their environment.
TREE = """\
bash -c 'trap "" TERM; while :; do sleep 1; done' &
bash -c 'trap "" TERM; while :; do sleep 1; done' &
setsid bash -c 'bash -c "trap \\"\\" TERM; while :; do sleep 1; done" </dev/null >/dev/null 2>&1 &'
echo started
wait
"""

# Lines on both streams, apart enough for the wrapper's clock to tell their order.
ALTERNATE = """\
import sys, time
for i in range(8):
    stream = sys.stdout if i % 2 == 0 else sys.stderr
    print(f"line {i} {time.time():.3f}", file=stream, flush=True)
    time.sleep(0.35)
"""


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def core(request: pytest.FixtureRequest, tmp_path: Path, workspace: Path) -> Iterator[Core]:
    (workspace / "tree.sh").write_text(TREE)
    (workspace / "alternate.py").write_text(ALTERNATE)
    found = start_core(request.param, tmp_path, workspace, {"TRAINYARD_FOLLOW_RETRIES": "3"})
    yield found
    found.stop()


async def _ended(api: TrainyardClient, project: str, run_id: str,
                 timeout: float = 60) -> RunDetail:
    return await wait_for_status(api, project, run_id, ENDED, timeout=timeout)


async def _assert_ended_once(api: TrainyardClient, project: str, run_id: str) -> RunDetail:
    """The run has ended, and its stored events (as a client replays them) say so once."""
    detail = await _ended(api, project, run_id)
    ends = [event.data["status"] async for event in api.run_events(project, run_id)
            if event.event == "status" and event.data["status"] in ENDED]
    assert ends == [detail.status], ends
    assert detail.completed_at
    return detail


async def test_a_stop_racing_the_natural_exit_ends_the_run_once(core: Core) -> None:
    async with core.server.client() as api:
        await api.create_project(project_body("race"))

        async def one(i: int) -> str:
            run = await api.start_run("race", RunCreate("sleep 0.3", output_dir=f"out/{i}"))
            await asyncio.sleep(random.uniform(0.15, 0.45))
            with contextlib.suppress(ApiError):  # 409 run_finished when the exit won
                await api.cancel("race", run.id, grace_seconds=1)
            detail = await _assert_ended_once(api, "race", run.id)
            assert detail.status in ("completed", "canceled")
            assert (detail.exit_code == 0) if detail.status == "completed" else True
            return detail.status

        outcomes = []
        for batch in range(5):
            outcomes += await asyncio.gather(*(one(batch * 10 + i) for i in range(10)))
        assert len(outcomes) == 50


async def test_cancel_kills_children_that_ignore_term_and_a_setsid_daemon(core: Core) -> None:
    async with core.server.client() as api:
        await api.create_project(project_body("tree"))
        run = await api.start_run("tree", RunCreate("bash tree.sh"))
        await wait_until(lambda: _said(api, "tree", run.id, "started"), what="the tree")
        await wait_until(lambda: _async(len(marked_pids(run.id)) >= 6), what="the processes")
        began = time.monotonic()
        detail = await api.cancel("tree", run.id, grace_seconds=2)
        took = time.monotonic() - began
        assert detail.status == "canceled"
        assert marked_pids(run.id) == []  # canceled only once none is left
        assert took >= 1.5  # the daemons ignored SIGTERM: SIGKILL came after the grace
        logs = await all_logs(api, "tree", run.id)
        assert any("sent SIGKILL" in e.message for e in logs)
        await _assert_ended_once(api, "tree", run.id)


async def test_a_stop_during_the_launch_cancels_it(core: Core) -> None:
    async with core.server.client() as api:
        await api.create_project(project_body("early"))
        for i in range(8):
            launch = asyncio.create_task(
                api.start_run("early", RunCreate("sleep 30", output_dir=f"o/{i}")))
            seen: set[str] = {r.id for r in await api.list_runs("early")}

            async def new_run(seen: set[str] = seen) -> str | None:
                fresh = [r.id for r in await api.list_runs("early") if r.id not in seen]
                return fresh[0] if fresh else None

            run_id = await wait_until(new_run, every=0.002, what="the new run")
            detail = await api.cancel("early", run_id, grace_seconds=2)
            await launch
            assert detail.status == "canceled"
            await _assert_ended_once(api, "early", run_id)
            assert marked_pids(run_id) == []


async def test_server_killed_mid_launch_leaves_no_command_untracked(core: Core) -> None:
    srv = core.server
    tries = 40 if core.kind == "local" else 15
    for i in range(tries):
        async with srv.client() as api:
            if i == 0:
                await api.create_project(project_body("crash"))
            launch = asyncio.create_task(api.start_run(
                "crash", RunCreate("echo ran; sleep 1", output_dir=f"o/{i}")))
            await asyncio.sleep(random.uniform(0.0, 0.1))
            srv.stop(signal.SIGKILL)
            with contextlib.suppress(Exception):
                await launch
        srv.start()
    async with srv.client() as api:
        runs = await api.list_runs("crash")
        outcomes = {"completed": 0, "failed": 0}
        for run in runs:
            detail = await _assert_ended_once(api, "crash", run.id)
            if detail.status == "failed":
                # Failed only when the command never started, and then it never will.
                assert "started" in (detail.status_message or ""), detail.status_message
                await asyncio.sleep(0.2)
                out = core.run_dir(run.id) / "stdout.log"
                assert not out.exists() or b"ran" not in out.read_bytes()
            else:
                assert detail.status == "completed" and detail.exit_code == 0
                assert await _said(api, "crash", run.id, "ran")
            outcomes[detail.status] += 1
        assert 0 < len(runs) <= tries  # a kill before the request arrived starts none
        await asyncio.sleep(1.5)
        assert [run.id for run in runs if marked_pids(run.id)] == []


async def test_server_killed_in_the_grace_period_still_cancels(core: Core) -> None:
    srv = core.server
    async with srv.client() as api:
        await api.create_project(project_body("grace"))
        run = await api.start_run("grace", RunCreate(
            f"{TRAIN} --max-steps 100000 --step-delay 0.02 & "
            "bash -c 'trap \"\" TERM; while :; do sleep 1; done' & wait"))
        await wait_until(lambda: _checkpoint(api, "grace", run.id), what="a checkpoint")
        cancel = asyncio.create_task(api.cancel("grace", run.id, grace_seconds=4))
        await wait_until(lambda: _said(api, "grace", run.id, "cancel requested"),
                         what="the stop to be stored")
        await asyncio.sleep(0.5)
        srv.stop(signal.SIGKILL)  # mid-grace: the trainer is gone, the bash loop is not
        with contextlib.suppress(Exception):
            await cancel
    assert marked_pids(run.id)  # nothing took up the SIGKILL while the server was away
    srv.start()
    async with srv.client() as api:
        detail = await _assert_ended_once(api, "grace", run.id)
        assert detail.status == "canceled"
        assert marked_pids(run.id) == []
        own = {a.id for a in detail.artifacts if a.type == "checkpoint"}
        assert detail.kept_artifact_id in own


async def test_stop_of_a_paused_container_is_503_and_changes_nothing(core: Core) -> None:
    if core.kind != "docker":
        pytest.skip("a container to pause exists only for the docker executor")
    assert core.container
    async with core.server.client() as api:
        await api.create_project(project_body("frozen"))
        run = await api.start_run("frozen", RunCreate("for i in $(seq 30); do echo $i; "
                                                      "sleep 0.1; done"))
        await wait_until(lambda: _said(api, "frozen", run.id, "3"), what="output")
        docker("pause", core.container)
        try:
            with pytest.raises(ApiError) as err:
                await api.cancel("frozen", run.id, grace_seconds=1)
            assert err.value.status_code == 503 and err.value.code == "executor_unavailable"
            assert (await api.get_run("frozen", run.id)).status == "running"
        finally:
            docker("unpause", core.container)
        detail = await _assert_ended_once(api, "frozen", run.id)
        assert detail.status == "completed"  # no stale request labelled it canceled


async def test_two_concurrent_resumes_start_one_run(core: Core) -> None:
    async with core.server.client() as api:
        await api.create_project(project_body("twice"))
        run = await api.start_run("twice", RunCreate(f"{TRAIN} --max-steps 100000 "
                                                     "--step-delay 0.02"))
        await wait_until(lambda: _checkpoint(api, "twice", run.id), what="a checkpoint")
        await api.cancel("twice", run.id, grace_seconds=5, pause=True)
        results = await asyncio.gather(
            *(api.resume("twice", run.id, start_command="sleep 30") for _ in range(2)),
            return_exceptions=True)
        started = [r for r in results if isinstance(r, RunDetail)]
        refused = [r for r in results if isinstance(r, ApiError)]
        assert len(started) == 1 and len(refused) == 1, results
        assert refused[0].status_code == 409
        assert refused[0].code in ("already_resumed", "output_dir_busy")
        await api.cancel("twice", started[0].id, grace_seconds=1)


async def test_one_output_directory_one_live_run(core: Core) -> None:
    async with core.server.client() as api:
        await api.create_project(project_body("dirs"))
        first = await api.start_run("dirs", RunCreate("sleep 30"))
        with pytest.raises(ApiError) as err:
            await api.start_run("dirs", RunCreate("sleep 30"))
        assert err.value.status_code == 409 and err.value.code == "output_dir_busy"
        assert first.id in err.value.body.message
        assert len(await api.list_runs("dirs")) == 1  # nothing was started
        second = await api.start_run("dirs", RunCreate(
            'echo "dir={output_dir} env=$TRAINYARD_OUTPUT_DIR"', output_dir="saves/sweep-2"))
        second = await _ended(api, "dirs", second.id)
        assert second.output_dir and second.output_dir.endswith("/saves/sweep-2")
        assert await _said(api, "dirs", second.id,
                           f"dir={second.output_dir} env={second.output_dir}")
        for bad in ("/etc", "../out", "a/../../b", "a\nb"):
            response = await api.http.post("/projects/dirs/runs", json={
                "start_command": "true", "output_dir": bad})
            assert response.status_code == 400, response.text
            assert "output_dir" in response.json()["message"]
        await api.cancel("dirs", first.id, grace_seconds=1)


async def test_output_read_after_a_restart_keeps_its_order_and_time(core: Core) -> None:
    srv = core.server
    async with srv.client() as api:
        await api.create_project(project_body("order"))
        live = await api.start_run("order", RunCreate("python3 alternate.py",
                                                      output_dir="o/live"))
        live = await _ended(api, "order", live.id)
        srv.stop(signal.SIGKILL)
    srv.start()
    async with srv.client() as api:
        down = await api.start_run("order", RunCreate("python3 alternate.py",
                                                      output_dir="o/down"))
        srv.stop(signal.SIGKILL)
        exit_code = core.run_dir(down.id) / "exit_code"
        await wait_until(lambda: _async(exit_code.exists()), what="the run to end")
    srv.start()
    async with srv.client() as api:
        await _ended(api, "order", down.id)
        for run_id in (live.id, down.id):
            lines = [e for e in await all_logs(api, "order", run_id)
                     if e.message.startswith("line ")]
            assert [int(e.message.split()[1]) for e in lines] == list(range(8))
            assert [e.stream for e in lines] == ["stdout", "stderr"] * 4
            for entry in lines:
                written = float(entry.message.split()[2])
                assert abs(entry.timestamp.timestamp() - written) < 1.0, entry


async def test_metrics_of_a_run_that_ended_while_the_server_was_down(core: Core) -> None:
    srv = core.server
    command = f"{TRAIN} --max-steps 20 --step-delay 0.15 --save-steps 100"
    async with srv.client() as api:
        await api.create_project(project_body("series"))
        live = await api.start_run("series", RunCreate(command, output_dir="o/live"))
        live = await _ended(api, "series", live.id)
        down = await api.start_run("series", RunCreate(command, output_dir="o/down"))
        srv.stop(signal.SIGKILL)
        exit_code = core.run_dir(down.id) / "exit_code"
        await wait_until(lambda: _async(exit_code.exists()), what="the run to end")
    srv.start()
    async with srv.client() as api:
        down = await _ended(api, "series", down.id)
        assert live.status == down.status == "completed"
        want = (await api.metrics("series", live.id, keys=["loss"])).series["loss"]
        got = (await api.metrics("series", down.id, keys=["loss"])).series["loss"]
        assert [step for step, _ in got] == [step for step, _ in want]
        assert all(step <= 20 for step, _ in got)
        assert [round(v, 4) for _, v in got] == [round(v, 4) for _, v in want]
        assert down.progress_info.steps_per_second is None or (
            down.progress_info.steps_per_second < 50)  # the catch-up burst is not speed


async def test_a_reused_pid_fails_the_run_without_signalling_that_process(
        core: Core) -> None:
    if core.kind != "local":
        pytest.skip("the stand-in process is a host process; docker runs share the check "
                    "(run_procs.sh) but a container pid cannot be planted from here")
    srv = core.server
    async with srv.client() as api:
        await api.create_project(project_body("reuse"))
        run = await api.start_run("reuse", RunCreate("sleep 300"))
        srv.stop(signal.SIGKILL)
    for pid in marked_pids(run.id):  # the host "rebooted": the run's processes are gone
        with contextlib.suppress(ProcessLookupError):
            subprocess.run(["kill", "-9", str(pid)], check=False)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        with sqlite3.connect(srv.data_dir / "trainyard.db") as db:
            db.execute("UPDATE runs SET wrapper_pid = ?, pgid = ?, host_pid = ? WHERE id = ?",
                       (stranger.pid, stranger.pid, stranger.pid, run.id))
        srv.start()
        async with srv.client() as api:
            detail = await _assert_ended_once(api, "reuse", run.id)
            assert detail.status == "failed"
            assert "belongs to another process" in (detail.status_message or "")
            with pytest.raises(ApiError):
                await api.cancel("reuse", run.id, grace_seconds=1)
        assert stranger.poll() is None  # never signalled
    finally:
        stranger.kill()
        stranger.wait()


async def test_a_run_that_cannot_be_followed_fails_with_the_error(core: Core) -> None:
    if core.kind != "local":
        pytest.skip("breaks the run's log file on the host; the retry loop is shared")
    async with core.server.client() as api:
        await api.create_project(project_body("broken"))
        run = await api.start_run("broken", RunCreate("sleep 300"))
        log_file = core.run_dir(run.id) / "stdout.log"
        await wait_until(lambda: _async(log_file.exists()), what="the log file")
        log_file.unlink()
        log_file.mkdir()  # reading it now fails every time
        detail = await _ended(api, "broken", run.id, timeout=60)
        assert detail.status == "failed"
        assert "following the run failed" in (detail.status_message or "")
        assert "Is a directory" in (detail.status_message or "")


async def _async(value: object) -> object:
    return value


async def _said(api: TrainyardClient, project: str, run_id: str, text: str) -> bool:
    return any(e.message == text or e.message.startswith(text)
               for e in await all_logs(api, project, run_id))


async def _checkpoint(api: TrainyardClient, project: str, run_id: str) -> bool:
    detail = await api.get_run(project, run_id)
    return any(a.type == "checkpoint" for a in detail.artifacts)
