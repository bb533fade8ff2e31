"""Private by default: the data folder and the run's files are the server user's alone,
secret-looking env values never come back from the API (yet reach the run), and the
token in a stream URL never reaches the access log."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from common.client import TrainyardClient
from common.models import RunCreate
from server.config import Settings
from server.redaction import REDACTED, redact_env

from ..conftest import TOKEN, Server, make_workspace, project_body
from ..helpers import wait_for_status

SECRETS = {"HF_TOKEN": "hf_secret_0123", "WANDB_API_KEY": "wandb_secret_4567",
           "DB_PASSWORD": "pw_secret_89", "aws_secret_access_key": "aws_secret_ab"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_data_folder_and_run_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "runs" / "run_old").mkdir(parents=True)
    (data / "runs" / "run_old" / "stdout.log").write_text("an old run's log\n")
    for path in (data, data / "runs", data / "runs" / "run_old"):
        path.chmod(0o755)
    (data / "runs" / "run_old" / "stdout.log").chmod(0o644)

    srv = Server(data_dir=data, workspace=make_workspace(tmp_path / "workspace")).start()
    try:
        assert "trainyard: took group and other access off" in srv.output()
        async with srv.client() as api:
            await api.create_project(project_body("private"))
            run = await api.start_run("private", RunCreate("echo hello; echo oops >&2"))
            run = await wait_for_status(api, "private", run.id, {"completed", "failed"})
        run_dir = data / "runs" / run.id
        db_files = [data / name for name in ("trainyard.db", "trainyard.db-wal",
                                             "trainyard.db-shm") if (data / name).exists()]
        assert len(db_files) >= 2
        for path in [data, data / "runs", run_dir, data / "runs" / "run_old"]:
            assert _mode(path) == 0o700, path
        for path in [*db_files, data / "runs" / "run_old" / "stdout.log",
                     *(p for p in run_dir.iterdir() if p.is_file())]:
            assert _mode(path) & 0o077 == 0, (path, oct(_mode(path)))
        assert _mode(run_dir / "stdout.log") == 0o600
    finally:
        srv.stop()


async def test_secret_env_values_are_redacted_but_reach_the_run(
        server: Server, client: TrainyardClient, workspace: Path) -> None:
    await client.create_project(project_body("secrets"))
    env = {**SECRETS, "EPOCHS": "3"}
    # The command writes what it got to a file of its own (not to its log).
    command = ("python3 -c \"import json, os; json.dump({k: os.environ.get(k) for k in "
               f"{sorted(env)!r}}}, open('seen.json', 'w'))\"")
    started = await client.start_run("secrets", RunCreate(command, env=env))
    run = await wait_for_status(client, "secrets", started.id, {"completed", "failed"})
    assert run.status == "completed"
    expected = {**{k: REDACTED for k in SECRETS}, "EPOCHS": "3"}
    assert {k: v for k, v in started.env.items() if k in env} == expected
    assert {k: v for k, v in run.env.items() if k in env} == expected
    seen = (workspace / "seen.json").read_text()
    assert all(value in seen for value in SECRETS.values())
    # Nothing the API or the streams say holds a value.
    headers = {"Authorization": f"Bearer {TOKEN}"}
    texts = [httpx.get(f"{server.url}{path}", headers=headers).text for path in (
        f"/projects/secrets/runs/{run.id}", f"/projects/secrets/runs/{run.id}/logs",
        "/projects/secrets", "/projects/secrets/runs")]
    with httpx.stream("GET", f"{server.url}/projects/secrets/runs/{run.id}/events",
                      headers=headers, timeout=10) as response:
        texts.append(b"".join(response.iter_bytes()).decode())
    for value in SECRETS.values():
        assert not any(value in text for text in texts)
        assert value not in server.output()


def test_secret_patterns_are_configurable() -> None:
    settings = Settings.from_env({"TRAINYARD_SECRET_ENV_PATTERNS": "*TOKEN*, MY_*"})
    assert settings.secret_env_patterns == ("*TOKEN*", "MY_*")
    assert redact_env({"hf_token": "a", "MY_THING": "b", "API_KEY": "c"},
                      settings.secret_env_patterns) == {
        "hf_token": REDACTED, "MY_THING": REDACTED, "API_KEY": "c"}
    assert Settings.from_env({}).secret_env_patterns == (
        "*TOKEN*", "*SECRET*", "*KEY*", "*PASSWORD*")


def test_the_token_in_a_stream_url_never_reaches_the_access_log(
        tmp_path: Path) -> None:
    (tmp_path / "workspace").mkdir()
    srv = Server(data_dir=tmp_path / "data", workspace=tmp_path / "workspace",
                 env_extra={"TRAINYARD_ACCESS_LOG": "1", "TRAINYARD_LOG_LEVEL": "info"}).start()
    try:
        for path in ("/events", "/gpus/events"):
            with httpx.stream("GET", f"{srv.url}{path}?x=1&access_token={TOKEN}",
                              timeout=10) as response:
                assert response.status_code == 200
                next(response.iter_bytes())
        assert httpx.get(f"{srv.url}/projects?access_token={TOKEN}").status_code == 401
        httpx.get(f"{srv.url}/healthz")
    finally:
        srv.stop()
    log = srv.output()
    assert "/healthz" in log and "/gpus/events?x=1&access_token=***" in log
    assert TOKEN not in log
