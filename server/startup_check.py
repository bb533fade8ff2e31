"""At start, one line for each thing the server needs but cannot reach, then carry on.

The server serves whatever is missing (a workspace can be mounted later, Docker started
later), but people should learn it from the start-up output, not from the first launch's
400. Checked: the workspace root, and for the docker executor the engine's socket and the
default container; the GPU sampler reports NVML itself (``GpuSnapshot.reason``).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from .config import Settings
from .executors.base import Executor, ExecutorError
from .executors.docker import DockerExecutor

__all__ = ["unreachable"]

TIMEOUT = 3.0  # seconds for the Docker engine to answer


def _workspace(root: Path) -> str | None:
    if not root.exists():
        return (f"the workspace root {root} does not exist "
                f"(set TRAINYARD_WORKSPACE_ROOT); launches will find no dataset or YAML")
    if not root.is_dir():
        return f"the workspace root {root} is not a folder (TRAINYARD_WORKSPACE_ROOT)"
    if not os.access(root, os.R_OK | os.X_OK):
        return f"the workspace root {root} is not readable by this user"
    return None


def _socket(url: str) -> str | None:
    if url.startswith("unix://") and not Path(url.removeprefix("unix://")).exists():
        return (f"the Docker socket {url.removeprefix('unix://')} does not exist (is "
                f"Docker running? set DOCKER_HOST); runs cannot start")
    return None


async def _docker(settings: Settings, executor: DockerExecutor) -> str | None:
    url = executor.url
    missing = _socket(url)
    if missing:
        return missing
    try:
        await asyncio.wait_for(executor.inspect(settings.container), TIMEOUT)
    except TimeoutError:
        return f"the Docker engine at {url} did not answer within {TIMEOUT:.0f} s"
    except ExecutorError as error:  # no engine, no container, container stopped
        return (f"{error} (the default container, TRAINYARD_CONTAINER); runs of projects "
                "without their own container cannot start")
    return None


async def unreachable(settings: Settings, executor: Executor, gpu_reason: str | None
                      ) -> list[str]:
    """What the server cannot reach, one sentence each (empty: all there)."""
    found = [_workspace(settings.workspace_root)]
    if isinstance(executor, DockerExecutor):
        found.append(await _docker(settings, executor))
    if gpu_reason:
        found.append(f"no GPU telemetry: {gpu_reason}")
    return [line for line in found if line]
