"""Settings from the environment (prefix ``TRAINYARD_``), validated once at start.

A bad value raises :class:`ConfigError` whose message is one line naming the variable;
the CLI prints it and exits, so the server never starts half-configured.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["ConfigError", "Settings"]


class ConfigError(Exception):
    """A configuration value is unusable; ``str()`` is one line naming the variable."""


def _split_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("./var")
    token: str | None = None
    workspace_root: Path = Path("/data1/qwen2.5-14bxxxx")
    executor: Literal["docker", "local", "slurm"] = "docker"
    container: str = "qwen2.5-14b-instruct_xpytorch_full_sft"
    workdir: str = "KTIP_Release_2.1.0/train/llm"
    docker_host: str | None = None
    dataset_dirs: tuple[str, ...] = ("data", ".")
    yaml_dirs: tuple[str, ...] = (".", "configs")
    poll_interval: float = 0.2
    follow_retries: int = 12  # failures in a row before a run that cannot be followed fails
    gpu_busy_mib: int = 1024  # a process outside Trainyard using more makes its GPU busy
    backfill_seconds: float = 300.0  # how long a blocked run lets smaller ones pass it
    gpu_interval: float = 1.0
    gpu_source: str = "nvml"
    sse_queue: int = 1024
    max_line_bytes: int = 64 << 10
    client_stall_seconds: float = 60.0
    secret_env_patterns: tuple[str, ...] = ("*TOKEN*", "*SECRET*", "*KEY*", "*PASSWORD*")
    log_level: str = "info"
    access_log: bool = False
    metrics_public: bool = False  # GET /metrics without the token (for a scraper)
    slurm_partition: str | None = None
    slurm_account: str | None = None
    slurm_args: tuple[str, ...] = ()  # extra sbatch options, split with shlex
    slurm_run_dir: Path | None = None  # None: <workspace root>/.trainyard/runs
    slurm_prefix: tuple[str, ...] = ()  # a launcher put before the command on the node
    audit_days: int = 90  # audit rows older than this are removed
    stall_seconds: float = 1800.0  # a running run silent this long is flagged stalled
    webhook_backoff: float = 1.0  # first retry delay of a webhook delivery; doubles each time

    @property
    def db_path(self) -> Path:
        return self.data_dir / "trainyard.db"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def slurm_runs(self) -> Path:
        """Where Slurm runs' wrappers write (on the filesystem the nodes share)."""
        return self.slurm_run_dir or self.workspace_root / ".trainyard" / "runs"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        get = env.get
        d = cls()  # the defaults
        return cls(
            host=_host(get("TRAINYARD_HOST", d.host)),
            port=_int("TRAINYARD_PORT", get("TRAINYARD_PORT"), d.port, 1, 65535),
            data_dir=Path(get("TRAINYARD_DATA_DIR") or d.data_dir),
            token=_token(get("TRAINYARD_TOKEN")),
            workspace_root=_abs_path("TRAINYARD_WORKSPACE_ROOT", get("TRAINYARD_WORKSPACE_ROOT"),
                                     d.workspace_root) or d.workspace_root,
            executor=_choice("TRAINYARD_EXECUTOR", get("TRAINYARD_EXECUTOR"), d.executor,
                             ("docker", "local", "slurm")),  # type: ignore[arg-type]
            container=_nonblank("TRAINYARD_CONTAINER", get("TRAINYARD_CONTAINER"), d.container),
            workdir=get("TRAINYARD_WORKDIR", d.workdir).strip() or ".",
            docker_host=get("DOCKER_HOST") or None,
            dataset_dirs=_split_list(get("TRAINYARD_DATASET_DIRS", "")) or d.dataset_dirs,
            yaml_dirs=_split_list(get("TRAINYARD_YAML_DIRS", "")) or d.yaml_dirs,
            poll_interval=_float("TRAINYARD_POLL_INTERVAL", get("TRAINYARD_POLL_INTERVAL"),
                                 d.poll_interval, 0.01, 10.0),
            follow_retries=_int("TRAINYARD_FOLLOW_RETRIES", get("TRAINYARD_FOLLOW_RETRIES"),
                                d.follow_retries, 0, 1000),
            gpu_busy_mib=_int("TRAINYARD_GPU_BUSY_MIB", get("TRAINYARD_GPU_BUSY_MIB"),
                              d.gpu_busy_mib, 0, 1 << 30),
            backfill_seconds=_float("TRAINYARD_BACKFILL_SECONDS",
                                    get("TRAINYARD_BACKFILL_SECONDS"), d.backfill_seconds,
                                    0.0, 7 * 86400.0),
            gpu_interval=_float("TRAINYARD_GPU_INTERVAL", get("TRAINYARD_GPU_INTERVAL"),
                                d.gpu_interval, 0.1, 3600.0),
            sse_queue=_int("TRAINYARD_SSE_QUEUE", get("TRAINYARD_SSE_QUEUE"), d.sse_queue, 1,
                           1_000_000),
            max_line_bytes=_int("TRAINYARD_MAX_LINE_BYTES", get("TRAINYARD_MAX_LINE_BYTES"),
                                d.max_line_bytes, 1024, 16 << 20),
            client_stall_seconds=_float("TRAINYARD_CLIENT_STALL_SECONDS",
                                        get("TRAINYARD_CLIENT_STALL_SECONDS"),
                                        d.client_stall_seconds, 0.5, 86400.0),
            secret_env_patterns=_split_list(get("TRAINYARD_SECRET_ENV_PATTERNS", ""))
            or d.secret_env_patterns,
            gpu_source=_gpu_source(get("TRAINYARD_GPU_SOURCE", d.gpu_source)),
            log_level=_choice("TRAINYARD_LOG_LEVEL", get("TRAINYARD_LOG_LEVEL"), d.log_level,
                              ("critical", "error", "warning", "info", "debug")),
            access_log=_choice("TRAINYARD_ACCESS_LOG", get("TRAINYARD_ACCESS_LOG"), "0",
                               ("0", "1", "true", "false")) in ("1", "true"),
            metrics_public=_choice("TRAINYARD_METRICS_PUBLIC", get("TRAINYARD_METRICS_PUBLIC"),
                                   "0", ("0", "1", "true", "false")) in ("1", "true"),
            slurm_partition=_word("TRAINYARD_SLURM_PARTITION", get("TRAINYARD_SLURM_PARTITION")),
            slurm_account=_word("TRAINYARD_SLURM_ACCOUNT", get("TRAINYARD_SLURM_ACCOUNT")),
            slurm_args=_shlex("TRAINYARD_SLURM_ARGS", get("TRAINYARD_SLURM_ARGS")),
            slurm_run_dir=_abs_path("TRAINYARD_SLURM_RUN_DIR", get("TRAINYARD_SLURM_RUN_DIR"),
                                    None),
            slurm_prefix=_shlex("TRAINYARD_SLURM_PREFIX", get("TRAINYARD_SLURM_PREFIX")),
            audit_days=_int("TRAINYARD_AUDIT_DAYS", get("TRAINYARD_AUDIT_DAYS"), d.audit_days,
                            1, 36500),
            stall_seconds=_float("TRAINYARD_STALL_SECONDS", get("TRAINYARD_STALL_SECONDS"),
                                 d.stall_seconds, 1.0, 30 * 86400.0),
            webhook_backoff=_float("TRAINYARD_WEBHOOK_BACKOFF", get("TRAINYARD_WEBHOOK_BACKOFF"),
                                   d.webhook_backoff, 0.01, 3600.0),
        )


def _host(raw: str) -> str:
    raw = raw.strip()
    if raw == "localhost":
        return raw
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        raise ConfigError(f"TRAINYARD_HOST={raw!r} is not an IP address (e.g. 127.0.0.1)") from None
    return raw


def _int(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r} is out of range ({low}-{high})")
    return value


def _float(name: str, raw: str | None, default: float, low: float, high: float) -> float:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r} is out of range ({low}-{high})")
    return value


def _choice(name: str, raw: str | None, default: str, choices: tuple[str, ...]) -> str:
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{name}={raw!r} must be one of: {', '.join(choices)}")
    return value


def _nonblank(name: str, raw: str | None, default: str) -> str:
    if raw is None:
        return default
    if not raw.strip():
        raise ConfigError(f"{name} is set but blank")
    return raw.strip()


def _word(name: str, raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    if any(c.isspace() or ord(c) < 32 for c in raw.strip()) or raw.strip().startswith("-"):
        raise ConfigError(f"{name}={raw!r} must be one name, without spaces")
    return raw.strip()


def _shlex(name: str, raw: str | None) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(raw or ""))
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} cannot be split like a shell line: {exc}") from None


def _abs_path(name: str, raw: str | None, default: Path | None) -> Path | None:
    if raw is None or raw.strip() == "":
        return default
    path = Path(raw.strip())
    if not path.is_absolute():
        raise ConfigError(f"{name}={raw!r} must be an absolute path")
    return path


def _gpu_source(raw: str) -> str:
    value = raw.strip() or "nvml"
    if value in ("nvml", "none") or (value.startswith("replay:") and len(value) > 7):
        return value
    raise ConfigError(f"TRAINYARD_GPU_SOURCE={raw!r} must be nvml, none or replay:PATH")


def _token(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if len(raw) < 16 or any(c.isspace() for c in raw):
        raise ConfigError("TRAINYARD_TOKEN must be at least 16 characters with no spaces")
    return raw
