"""The ``trainyard`` client commands, run as a user runs them, against a real server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.client import TrainyardClient
from common.models import RunCreate

from ..conftest import REPO, TOKEN, Server, project_body
from ..gpu_replay import eight_gpus
from ..helpers import wait_for_status, wait_until


def env_for(server: Server | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINYARD_")}
    if server is not None:
        env.update(TRAINYARD_URL=server.url, TRAINYARD_TOKEN=TOKEN)
    env.update(extra)
    return env


def trainyard(server: Server | None, *args: str, timeout: float = 60,
              **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trainyard_cli", *args], cwd=REPO,
                          env=env_for(server, **extra), capture_output=True, text=True,
                          timeout=timeout)


def spawn(server: Server, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "trainyard_cli", *args], cwd=REPO,
                            env=env_for(server), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize(("command", "status", "exit_code", "printed"), [
    ("echo all good", 0, 0, "all good"),
    ("echo boom >&2; exit 3", 1, 3, "boom"),
    ("no-such-program-anywhere", 1, 127, "not found"),
])
async def test_run_wait_prints_the_log_and_exits_with_the_outcome(
        server: Server, client: TrainyardClient, command: str, status: int, exit_code: int,
        printed: str) -> None:
    await client.create_project(project_body("p"))
    done = trainyard(server, "run", "p", "--wait", "--", command)
    assert done.returncode == status, done.stderr
    assert printed in done.stdout
    assert f"exit code {exit_code}" in done.stderr.splitlines()[-1]
    [summary] = (await client.list_all_runs()).runs
    assert summary.exit_code == exit_code and summary.start_command == command


async def test_words_after_the_separator_reach_the_command_as_they_were(
        server: Server, client: TrainyardClient) -> None:
    await client.create_project(project_body("p"))
    done = trainyard(server, "run", "p", "--env", "GREETING=hi there", "--wait", "--",
                     "python3", "-c", "import os, sys; print(os.environ['GREETING'], sys.argv)",
                     "a b", "--", "$HOME")
    assert done.returncode == 0, done.stderr
    assert "hi there ['-c', 'a b', '--', '$HOME']" in done.stdout


async def test_cancel_ends_a_waiting_run_with_status_3(server: Server,
                                                       client: TrainyardClient) -> None:
    await client.create_project(project_body("p"))
    waiting = spawn(server, "run", "p", "--wait", "--", "echo started; sleep 60")
    try:
        assert waiting.stderr is not None
        run_id = waiting.stderr.readline().split()[-1]  # "trainyard: started run_..."
        assert run_id.startswith("run_")
        stopped = trainyard(server, "cancel", run_id, "--grace", "1")
        assert stopped.returncode == 0 and f"{run_id} canceled" in stopped.stdout
        assert waiting.wait(30) == 3
        assert trainyard(server, "wait", run_id).returncode == 3
    finally:
        waiting.kill()
        waiting.wait()


async def test_wait_times_out_with_status_4_and_json_is_the_detail(
        server: Server, client: TrainyardClient) -> None:
    await client.create_project(project_body("p"))
    run = await client.start_run("p", RunCreate("sleep 2; echo late"))
    early = trainyard(server, "wait", run.id, "--timeout", "0.2")
    assert early.returncode == 4 and "still running" in early.stdout
    done = trainyard(server, "--json", "wait", run.id)
    assert done.returncode == 0
    detail = json.loads(done.stdout)
    assert detail["id"] == run.id and detail["status"] == "completed" and detail["exit_code"] == 0


async def test_json_output_is_one_document_with_the_api_field_names(
        server: Server, client: TrainyardClient) -> None:
    await client.create_project(project_body("p"))
    started = trainyard(server, "run", "p", "--json", "--", "echo one; echo two")
    assert started.returncode == 0
    run = json.loads(started.stdout)
    await wait_for_status(client, "p", run["id"], {"completed"})
    projects = json.loads(trainyard(server, "ls", "--json").stdout)
    assert [p["name"] for p in projects] == ["p"] and projects[0]["runs_started"] == 1
    runs = json.loads(trainyard(server, "runs", "p", "--json").stdout)
    assert [r["id"] for r in runs] == [run["id"]] and runs[0]["status"] == "completed"
    logs = json.loads(trainyard(server, "logs", run["id"], "--json").stdout)
    assert [e["message"] for e in logs["entries"] if e["stream"] == "stdout"] == ["one", "two"]
    table = trainyard(server, "runs").stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "STATUS", "PROGRESS"]
    assert table[1].split()[:2] == [run["id"], "completed"]


async def test_logs_follow_survives_a_server_restart_without_gap_or_duplicate(
        server: Server, client: TrainyardClient, tmp_path: Path) -> None:
    await client.create_project(project_body("p"))
    run = await client.start_run(
        "p", RunCreate("for i in $(seq 1 60); do echo line $i; sleep 0.05; done"))
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("w") as stdout, err.open("w") as stderr:
        follower = subprocess.Popen([sys.executable, "-m", "trainyard_cli", "logs", run.id, "-f"],
                                    cwd=REPO, env=env_for(server), stdout=stdout, stderr=stderr)
    try:
        await wait_until(lambda: _async("line 3" in out.read_text()), what="the first lines")
        server.stop(signal.SIGKILL)
        time.sleep(0.5)  # the run keeps printing while no server listens
        server.start()
        assert follower.wait(60) == 0, err.read_text()
    finally:
        follower.kill()
        follower.wait()
    assert out.read_text().splitlines() == [f"line {i}" for i in range(1, 61)]
    assert "reconnecting" in err.read_text()
    # --since picks up after a sequence number: the lines a reader has not seen yet.
    entries = (await client.run_logs(run.id, limit=5000)).entries
    tenth = next(e for e in entries if e.message == "line 10")
    later = trainyard(server, "logs", run.id, "--since", str(tenth.seq))
    assert later.stdout.splitlines() == [f"line {i}" for i in range(11, 61)]


async def _async(value: bool) -> bool:
    return value


async def test_resume_and_pause_by_run_id(server: Server, client: TrainyardClient,
                                          workspace: Path) -> None:
    await client.create_project(project_body("p"))
    run = await client.start_run("p", RunCreate("python3 tiny_trainer.py --config "
                                                "configs/tiny.yaml --max-steps 100000 "
                                                "--step-delay 0.01"))

    async def has_checkpoint() -> bool:
        return any(a.type == "checkpoint" for a in (await client.run(run.id)).artifacts)

    await wait_until(has_checkpoint, what="a checkpoint")
    paused = trainyard(server, "pause", run.id, "--grace", "5")
    assert paused.returncode == 0
    assert paused.stdout.startswith(f"{run.id} paused; exit code ")
    assert "; kept ckpt_" in paused.stdout
    kept = (await client.run(run.id)).kept_artifact_id
    assert kept and f"kept {kept} (checkpoint-" in paused.stdout
    resumed = trainyard(server, "resume", run.id, "--from", kept, "--json")
    assert resumed.returncode == 0, resumed.stderr
    child = json.loads(resumed.stdout)
    assert child["parent_run_id"] == run.id and child["resume_source_artifact_id"] == kept
    assert trainyard(server, "cancel", child["id"], "--grace", "1").returncode == 0


def test_usage_and_connection_errors_exit_2_with_one_line(server: Server) -> None:
    bad_env = trainyard(server, "run", "p", "--env", "NOEQUALS", "--", "true")
    assert bad_env.returncode == 2 and "--env takes KEY=VALUE" in bad_env.stderr
    missing = trainyard(server, "wait", "run_nope")
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "no run 'run_nope' [run_not_found]" in missing.stderr
    wrong = trainyard(server, "ls", "--token", "not-the-token-at-all")
    assert wrong.returncode == 2 and "invalid token" in wrong.stderr
    no_token = trainyard(None, "ls", TRAINYARD_URL=server.url)
    assert no_token.returncode == 2 and "no API token" in no_token.stderr
    gone = trainyard(server, "ls", "--url", "http://127.0.0.1:9")
    assert gone.returncode == 2 and "cannot reach the server" in gone.stderr
    assert trainyard(server, "logs").returncode == 2  # argparse: a run id is required


def test_completion_scripts_name_every_command(tmp_path: Path) -> None:
    bash = trainyard(None, "completion", "bash")
    assert bash.returncode == 0
    script = tmp_path / "c.bash"
    script.write_text(bash.stdout)
    probe = subprocess.run(
        ["bash", "-c", f"source {script}; COMP_WORDS=(trainyard lo); COMP_CWORD=1; "
                       "_trainyard; echo ${COMPREPLY[@]}; COMP_WORDS=(trainyard logs --f); "
                       "COMP_CWORD=2; _trainyard; echo ${COMPREPLY[@]}"],
        capture_output=True, text=True, check=True)
    assert probe.stdout.splitlines() == ["logs", "--follow"]
    zsh = trainyard(None, "completion", "zsh").stdout
    assert zsh.startswith("#compdef trainyard") and "'compare:" in zsh


async def test_compare_prints_a_table_and_the_differences(
        server: Server, client: TrainyardClient, workspace: Path) -> None:
    await client.create_project(project_body("p"))
    yaml_path = workspace / "configs" / "tiny.yaml"
    ids = []
    for rate in ("0.1", "0.05"):
        yaml_path.write_text(yaml_path.read_text().replace("learning_rate: 0.1",
                                                           f"learning_rate: {rate}"))
        run = await client.start_run("p", RunCreate("python3 tiny_trainer.py --config "
                                                    "configs/tiny.yaml"))
        await wait_for_status(client, "p", run.id, {"completed"})
        ids.append(run.id)
    shown = trainyard(server, "compare", *ids)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split()[:6] == ["RUN", "STATUS", "EXIT", "STEPS", "TIME", "loss"]
    assert lines[1].startswith(ids[0]) and lines[2].startswith(ids[1])
    assert "training YAML:" in lines and "  learning_rate: 0.1 -> 0.05" in lines
    as_json = json.loads(trainyard(server, "compare", *ids, "--json").stdout)
    assert [r["id"] for r in as_json["runs"]] == ids
    assert as_json["differences"]["config"][0]["values"] == ["0.1", "0.05"]


async def test_run_with_gpus_waits_its_turn_and_gets_them(tmp_path: Path,
                                                           workspace: Path) -> None:
    replay = eight_gpus(tmp_path / "8.jsonl")
    server = Server(data_dir=tmp_path / "data", workspace=workspace, env_extra={
        "TRAINYARD_GPU_SOURCE": f"replay:{replay}", "TRAINYARD_GPU_INTERVAL": "0.2"}).start()
    try:
        async with server.client() as api:
            await wait_until(lambda: _has_gpus(api), what="the sampler's first reading")
            await api.create_project(project_body("g"))
        done = trainyard(server, "run", "g", "--gpus", "2", "--priority", "3", "--output-dir",
                         "o/cli", "--wait", "--", 'echo "ids=$TRAINYARD_GPU_IDS"')
        assert done.returncode == 0, done.stderr
        assert "ids=0,1" in done.stdout
        async with server.client() as api:
            [run] = (await api.list_all_runs()).runs
            assert run.gpus == 2 and run.priority == 3 and run.gpu_ids == [0, 1]
    finally:
        server.stop()


async def _has_gpus(api: TrainyardClient) -> bool:
    return bool((await api.gpus()).gpus)
