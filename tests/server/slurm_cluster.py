"""The private one-node Slurm cluster of ``scripts/slurm-cluster.sh`` (4 device-file GPUs),
and a server using it; tests skip, saying why, when no cluster answers."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import REPO, Server

SLURM_CONF = "/var/lib/trainyard-slurm/slurm.conf"
SCRIPT = REPO / "scripts" / "slurm-cluster.sh"


def slurm(*argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """A Slurm client command against the private cluster."""
    return subprocess.run(list(argv), env={**os.environ, "SLURM_CONF": SLURM_CONF},
                          capture_output=True, text=True, check=check, timeout=timeout)


def cluster_answers() -> bool:
    try:
        return os.path.exists(SLURM_CONF) and slurm("sinfo", "-h", check=False,
                                                    timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def controller(action: str) -> None:
    """Stop (``down``) or start (``up``) slurmctld alone."""
    subprocess.run([str(SCRIPT), f"controller-{action}"], check=True, timeout=60,
                   capture_output=True)


def live_jobs() -> list[str]:
    """Ids of the cluster's jobs that are not over (completing ones still hold GPUs)."""
    out = slurm("squeue", "-h", "-o", "%i", "-t", "PD,R,CG,S,CF", check=False).stdout
    return out.split()


def clear_jobs() -> None:
    """Cancel every job and wait until none holds anything: each test starts on a free
    cluster."""
    deadline = time.monotonic() + 30
    while jobs := live_jobs():
        slurm("scancel", *jobs, check=False)
        if time.monotonic() > deadline:
            raise AssertionError(f"Slurm jobs {jobs} outlived scancel for 30 s")
        time.sleep(0.2)


@dataclass
class Cluster:
    server: Server
    workspace: Path

    def run_dir(self, run_id: str) -> Path:
        return self.workspace / ".trainyard" / "runs" / run_id


def start_cluster_server(tmp_path: Path, workspace: Path, **env: str) -> Server:
    return Server(data_dir=tmp_path / "data", workspace=workspace, env_extra={
        "TRAINYARD_EXECUTOR": "slurm", "SLURM_CONF": SLURM_CONF, **env}).start()


def serve_on_cluster(tmp_path: Path, workspace: Path, **env: str) -> Iterator[Cluster]:
    """A server on the slurm executor, on a cluster cleared of jobs before and after."""
    if not cluster_answers():
        pytest.skip(f"no Slurm cluster answers at SLURM_CONF={SLURM_CONF}: run "
                    "'scripts/slurm-cluster.sh up' (make test does)")
    clear_jobs()  # what an earlier test left would hold GPUs
    server = start_cluster_server(tmp_path, workspace, **env)
    yield Cluster(server, workspace)
    server.stop()
    clear_jobs()
