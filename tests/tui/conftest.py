"""TUI tests run the app against a real server (tests/conftest.py's ``server``) whose
workspace holds a slower demo trainer, so a run can be watched and stopped midway.

Tests that only add their own project share one server (``shared_server``): a server
start costs about a second, and the whole TUI suite should stay near a minute.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from common.client import TrainyardClient
from tests.conftest import Server, make_workspace
from tests.gpu_replay import eight_gpus
from tests.helpers import wait_until

TRAINER_CMD = "python3 tiny_trainer.py --config configs/tiny.yaml --eval-steps 20"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """~9 s of training: 300 steps, a checkpoint every 10."""
    return slow_workspace(tmp_path / "workspace")


def slow_workspace(root: Path) -> Path:
    return make_workspace(root, max_steps=300, save_steps=10, step_delay=0.03)


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("shared")
    srv = Server(data_dir=root / "data", workspace=slow_workspace(root / "workspace")).start()
    yield srv
    srv.stop()


@pytest.fixture
async def shared_client(shared_server: Server) -> AsyncIterator[TrainyardClient]:
    async with shared_server.client() as api:
        yield api


_names = itertools.count(1)


@pytest.fixture
def project_name() -> str:
    """A project name no other test on the shared server uses."""
    return f"印章大模型-{next(_names)}"


@pytest.fixture
def gpu_server(tmp_path: Path) -> Iterator[Server]:
    """A server whose GPU sampler replays 8 H100s, a process outside Trainyard on GPU 6.
    One per test: a server's queue outlives the test's runs (see test_queue.py's xfail)."""
    root = tmp_path
    replay = eight_gpus(root / "8-busy.jsonl", foreign_on=6)
    srv = Server(data_dir=root / "data", workspace=slow_workspace(root / "workspace"),
                 env_extra={"TRAINYARD_GPU_SOURCE": f"replay:{replay}",
                            "TRAINYARD_GPU_INTERVAL": "0.2"}).start()
    yield srv
    srv.stop()


@pytest.fixture
async def gpu_api(gpu_server: Server) -> AsyncIterator[TrainyardClient]:
    """A client of ``gpu_server``, once its sampler has read the 8 GPUs."""
    async with gpu_server.client() as client:
        async def seen() -> bool:
            return len((await client.gpus()).gpus) == 8
        await wait_until(seen, what="the sampler's first reading")
        yield client
