"""A real server on either executor, for tests that must behave the same on both."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import Server
from .test_runs_docker import DOCKER_HOST, IMAGE, docker, start_container


@dataclass
class Core:
    server: Server
    kind: str
    workspace: Path
    container: str | None = None

    def run_dir(self, run_id: str) -> Path:
        if self.kind == "local":
            return self.server.data_dir / "runs" / run_id
        return self.workspace / ".trainyard" / "runs" / run_id

    def stop(self) -> None:
        self.server.stop()
        if self.container:
            docker("rm", "-f", self.container, check=False)


def _engine_ready() -> bool:
    try:
        return docker("image", "inspect", IMAGE, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_core(kind: str, tmp_path: Path, workspace: Path, env: dict[str, str]) -> Core:
    """A started server using ``kind`` (``local`` or ``docker``: a fresh container that
    mounts ``workspace``); skips the test when there is no Docker engine."""
    env = dict(env)
    container = None
    if kind == "docker":
        if not _engine_ready():
            pytest.skip(f"no Docker engine with image {IMAGE} at {DOCKER_HOST}: run "
                        "'scripts/docker-engine.sh up' (make test does)")
        container = start_container(workspace)
        env.update({"TRAINYARD_EXECUTOR": "docker", "TRAINYARD_CONTAINER": container,
                    "DOCKER_HOST": DOCKER_HOST})
    server = Server(data_dir=tmp_path / "data", workspace=workspace, env_extra=env).start()
    return Core(server, kind, workspace, container)
