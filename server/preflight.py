"""Checks that need the outside world, made once before the server starts: a failure is
one line naming the setting (like a bad value), and the server does not start."""

from __future__ import annotations

import asyncio
import os
import tempfile

from .config import ConfigError, Settings
from .executors.base import ExecutorError
from .executors.slurm_client import SlurmClient

__all__ = ["preflight"]


async def _slurm(settings: Settings) -> None:
    client = SlurmClient(timeout=15.0)
    where = f"SLURM_CONF={os.environ.get('SLURM_CONF', '(Slurm default)')}"
    try:
        await client.ping()
    except ExecutorError as exc:
        raise ConfigError(f"TRAINYARD_EXECUTOR=slurm: the Slurm controller does not answer "
                          f"({where}): {exc}") from None
    if settings.slurm_partition:
        code, _, err = await client.run(["scontrol", "show", "partition",
                                         settings.slurm_partition])
        if code != 0:
            raise ConfigError(f"TRAINYARD_SLURM_PARTITION={settings.slurm_partition!r} is not "
                              f"a partition of this cluster: {err}")
    run_dir = settings.slurm_runs
    try:
        os.makedirs(run_dir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=run_dir, prefix=".trainyard-check-"):
            pass
    except OSError as exc:
        raise ConfigError(f"TRAINYARD_SLURM_RUN_DIR={str(run_dir)!r} is not writable: "
                          f"{exc.strerror or exc}") from None


def preflight(settings: Settings) -> None:
    """Raise :class:`ConfigError` when the configured executor cannot work at all."""
    if settings.executor == "slurm":
        asyncio.run(_slurm(settings))
