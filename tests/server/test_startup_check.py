"""At start the server says, one line each, what it cannot reach, and serves anyway."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from ..conftest import TOKEN, Server

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def warnings(server: Server) -> list[str]:
    return [line for line in server.output().splitlines()
            if line.startswith("trainyard: warning: ")]


def test_a_missing_workspace_and_docker_socket_are_named_at_start(tmp_path: Path) -> None:
    srv = Server(data_dir=tmp_path / "data", workspace=tmp_path / "not-mounted", env_extra={
        "TRAINYARD_EXECUTOR": "docker", "DOCKER_HOST": f"unix://{tmp_path}/docker.sock"}).start()
    try:
        found = warnings(srv)
        assert any(f"the workspace root {tmp_path}/not-mounted does not exist" in line
                   for line in found), srv.output()
        assert any(f"the Docker socket {tmp_path}/docker.sock does not exist" in line
                   for line in found), srv.output()
        assert httpx.get(f"{srv.url}/projects", headers=AUTH).status_code == 200  # serving
    finally:
        srv.stop()


def test_nothing_is_said_when_everything_is_there(server: Server) -> None:
    assert [line for line in warnings(server) if "GPU" not in line] == []


@pytest.mark.docker
def test_a_missing_default_container_is_named_at_start(tmp_path: Path) -> None:
    host = os.environ.get("DOCKER_HOST", "unix:///run/trainyard-docker/docker.sock")
    if not Path(host.removeprefix("unix://")).exists():
        pytest.skip(f"no Docker engine at {host}: run 'make engine'")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    srv = Server(data_dir=tmp_path / "data", workspace=workspace, env_extra={
        "TRAINYARD_EXECUTOR": "docker", "DOCKER_HOST": host,
        "TRAINYARD_CONTAINER": "trainyard-no-such-container"}).start()
    try:
        assert any("container 'trainyard-no-such-container' does not exist" in line
                   for line in warnings(srv)), srv.output()
        assert not any("workspace" in line or "socket" in line for line in warnings(srv))
    finally:
        srv.stop()
