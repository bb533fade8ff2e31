"""Starting and stopping the processes the benchmarks measure, and cleaning up after them.

``trainyard serve`` and the bare reference app both run as ``python -m ...`` subprocesses
of this interpreter, on a free loopback port, with uvicorn's defaults (uvloop, httptools),
access log off and log level ``warning``. Runs are started by the server in their own
sessions, so stopping the server does not stop them: :func:`kill_runs` ends them from
the ``pgid``/``wrapper.pid`` files the run wrapper leaves in the data folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["REPO", "Process", "Workspace", "free_port", "kill_runs", "start_bare",
           "start_trainyard"]

REPO = Path(__file__).resolve().parent.parent
DATASET = "ds.txt"
TRAINING_YAML = "t.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Workspace:
    """A temp folder: ``ws/`` (dataset + YAML, the workspace root) and ``data/``."""

    root: Path

    @property
    def workspace(self) -> Path:
        return self.root / "ws"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def create(self) -> Workspace:
        (self.workspace / "data").mkdir(parents=True)
        (self.workspace / "configs").mkdir()
        (self.workspace / "data" / DATASET).write_text("hello\n")
        (self.workspace / "configs" / TRAINING_YAML).write_text("output_dir: out\n")
        self.data_dir.mkdir()
        return self


@dataclass
class Process:
    """A server subprocess; its output goes to a log file shown when it fails."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int
    log_path: Path
    stopped: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.popen.returncode}:\n"
                                   f"{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=1.0).status_code < 500:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout:g} s:\n"
                           f"{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 10 s."""
        if self.stopped:
            return
        self.stopped = True
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def _spawn(name: str, args: list[str], env: dict[str, str], log_path: Path,
           port: int) -> Process:
    with open(log_path, "wb") as log:
        # Its own session: a Ctrl-C reaches only the bench, which then stops it in order.
        popen = subprocess.Popen([sys.executable, *args], cwd=REPO, env=env,
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 start_new_session=True)
    return Process(name=name, popen=popen, port=port, log_path=log_path)


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("TRAINYARD_", "BENCH_"))}


def start_trainyard(ws: Workspace, token: str, extra: dict[str, str] | None = None) -> Process:
    """``python -m server serve``: local executor, temp data dir, default poll interval,
    and any ``extra`` settings."""
    port = free_port()
    env = _base_env() | {
        "TRAINYARD_HOST": "127.0.0.1", "TRAINYARD_PORT": str(port),
        "TRAINYARD_DATA_DIR": str(ws.data_dir), "TRAINYARD_TOKEN": token,
        "TRAINYARD_WORKSPACE_ROOT": str(ws.workspace), "TRAINYARD_EXECUTOR": "local",
        "TRAINYARD_WORKDIR": ".", "TRAINYARD_LOG_LEVEL": "warning",
    } | (extra or {})
    proc = _spawn("trainyard", ["-m", "server", "serve"], env, ws.root / "trainyard.log", port)
    proc.wait_ready("/healthz")
    return proc


def start_bare(ws: Workspace, body: bytes, content_type: str,
               app: str = "bench.bare_asgi:app") -> Process:
    """``uvicorn <app>`` (the bare ASGI app unless told) answering with ``body``, with the
    options trainyard's ``uvicorn.run`` uses."""
    port = free_port()
    name = app.partition(":")[0].rpartition(".")[2]
    body_file = ws.root / "projects-body.json"
    body_file.write_bytes(body)
    env = _base_env() | {"BENCH_BARE_BODY": str(body_file), "BENCH_BARE_TYPE": content_type}
    args = ["-m", "uvicorn", app, "--host", "127.0.0.1", "--port",
            str(port), "--no-access-log", "--log-level", "warning"]
    proc = _spawn(name, args, env, ws.root / f"{name}.log", port)
    proc.wait_ready("/projects")
    return proc


def _read_pid(path: Path) -> int | None:
    try:
        value = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return value if value > 1 else None


def _cwd_under(pid: int, root: Path) -> bool:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")).is_relative_to(root)
    except OSError:
        return False


def _cmdline_has(pid: int, text: str) -> bool:
    try:
        return text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def kill_runs(ws: Workspace) -> None:
    """SIGKILL the process group and wrapper of every run under ``ws`` still going, its
    own and those of the workspaces nested in it (rows that start a server of their own).

    Pids come from the files the run wrapper writes; each is checked to still be ours
    (command: working directory in our workspace; wrapper: our run folder on its command
    line) so a recycled pid is never signalled.
    """
    for run_dir in sorted({*ws.data_dir.glob("runs/*"), *ws.root.glob("*/data/runs/*")}):
        pgid, wrapper = _read_pid(run_dir / "pgid"), _read_pid(run_dir / "wrapper.pid")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if pgid is not None and _cwd_under(pgid, ws.root):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if wrapper is not None and _cmdline_has(wrapper, str(run_dir.resolve())):
                os.kill(wrapper, signal.SIGKILL)


def own_output_dir() -> str:
    """A run's own output folder: two live runs may not share one (409 output_dir_busy)."""
    return f"out/{secrets.token_hex(6)}"
