"""Real parts for every test: a uvicorn server subprocess on a free port, a SQLite file in
a temp folder, a workspace holding the demo trainer, and (for ``docker`` tests) the
private Docker engine started by ``scripts/docker-engine.sh``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from common.client import TrainyardClient
from common.models import ProjectCreate

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "demo"
TOKEN = "test-token-0123456789abcdef"

TRAINER_YAML = """\
output_dir: saves/tiny
dataset: data/tiny_corpus.txt
max_steps: {max_steps}
per_device_train_batch_size: 8
learning_rate: 0.1
logging_steps: 5
save_steps: {save_steps}
step_delay: {step_delay}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_workspace(root: Path, *, max_steps: int = 60, save_steps: int = 10,
                   step_delay: float = 0.0) -> Path:
    """A workspace as users have it: data/, configs/, and the trainer at the root."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "configs").mkdir(exist_ok=True)
    for name in ("tiny_corpus.txt", "dataset_info.json"):
        shutil.copy(DEMO / "data" / name, root / "data" / name)
    shutil.copy(DEMO / "tiny_trainer.py", root / "tiny_trainer.py")
    (root / "configs" / "tiny.yaml").write_text(
        TRAINER_YAML.format(max_steps=max_steps, save_steps=save_steps, step_delay=step_delay))
    return root


@dataclass
class Server:
    """``trainyard serve`` as a real subprocess; restartable, killable with SIGKILL."""

    data_dir: Path
    workspace: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINYARD_")}
        env.update({
            "TRAINYARD_PORT": str(self.port), "TRAINYARD_DATA_DIR": str(self.data_dir),
            "TRAINYARD_TOKEN": TOKEN, "TRAINYARD_WORKSPACE_ROOT": str(self.workspace),
            "TRAINYARD_EXECUTOR": "local", "TRAINYARD_WORKDIR": ".",
            "TRAINYARD_POLL_INTERVAL": "0.05", "TRAINYARD_LOG_LEVEL": "warning",
        })
        env.update(self.env_extra)
        return env

    def start(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "server.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "server", "serve"], env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not come up: {self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self, token: str | None = TOKEN) -> TrainyardClient:
        return TrainyardClient(self.url, token)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "workspace")


@pytest.fixture
def server(tmp_path: Path, workspace: Path) -> Iterator[Server]:
    srv = Server(data_dir=tmp_path / "data", workspace=workspace).start()
    yield srv
    srv.stop()


def module_server(factory: pytest.TempPathFactory, name: str) -> Iterator[Server]:
    """For a module-scoped fixture: a server of the module's own, on an empty workspace."""
    root = factory.mktemp(name)
    (root / "workspace").mkdir()
    srv = Server(data_dir=root / "data", workspace=root / "workspace").start()
    yield srv
    srv.stop()


@pytest.fixture
async def client(server: Server) -> AsyncIterator[TrainyardClient]:
    async with server.client() as api:
        yield api


def project_body(name: str = "印章大模型", **overrides: object) -> ProjectCreate:
    fields: dict[str, object] = {
        "name": name, "description": "构建印章通用大模型", "objective": "初版模型训练",
        "task_type": "VL-Lora", "owner": "LL", "dataset_name": "tiny_corpus",
        "training_yaml_name": "tiny.yaml", "tags": ["VL", "通用印章"],
    }
    fields.update(overrides)
    return ProjectCreate(**fields)  # type: ignore[arg-type]
