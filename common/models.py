"""The wire contract: every body the API reads or writes, as msgspec Structs.

Field names, value sets and shapes follow the original prototype spec
(``shared/seed/original-spec.zh.md``) so clients written against it keep working;
fields it does not have are additions, never renames.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

__all__ = [
    "RUN_STATUSES",
    "Artifact",
    "ArtifactType",
    "ErrorBody",
    "GpuDevice",
    "GpuHistoryPoint",
    "GpuHolder",
    "GpuProcess",
    "GpuSnapshot",
    "LogEntry",
    "LogPage",
    "MetricSeries",
    "ProgressInfo",
    "Project",
    "ProjectCreate",
    "ProjectStatus",
    "ProjectSummary",
    "ProjectUpdate",
    "Queue",
    "QueuedRun",
    "ResumeRequest",
    "RunCreate",
    "RunDetail",
    "RunGpu",
    "RunStatus",
    "RunSummary",
    "RunUpdate",
]

ProjectStatus = Literal["active", "archived"]
RunStatus = Literal["pending", "running", "completed", "failed", "canceled", "paused"]
RUN_STATUSES: tuple[str, ...] = RunStatus.__args__  # type: ignore[attr-defined]
LIVE_STATUSES = frozenset({"pending", "running"})
ArtifactType = Literal["checkpoint", "tensorboard", "config"]

# Single-line text: at least one visible character, no control characters.
Line = Annotated[str, Meta(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")]
ShortLine = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
FileName = Annotated[str, Meta(min_length=1, max_length=255)]
Description = Annotated[str, Meta(max_length=4000)]
Tag = Annotated[str, Meta(min_length=1, max_length=50, pattern=r"^[^\x00-\x1f\x7f]*$")]
Tags = Annotated[list[Tag], Meta(max_length=20)]
SignalName = Annotated[str, Meta(pattern=r"^(SIG)?[A-Z0-9]{2,8}$")]
EnvKey = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
EnvValue = Annotated[str, Meta(max_length=8192, pattern=r"^[^\x00]*$")]
Command = Annotated[str, Meta(min_length=1, max_length=8192, pattern=r"^[^\x00]*$")]
GpuCount = Annotated[int, Meta(ge=0, le=1024)]
Priority = Annotated[int, Meta(ge=-1000, le=1000)]
StallSeconds = Annotated[int, Meta(ge=1, le=30 * 86400)]
# A folder relative to the run's working directory, e.g. ``saves/sweep-lr2e-5``.
OutputDir = Annotated[str, Meta(min_length=1, max_length=1024)]


def check_output_dir(path: str | None) -> None:
    """Relative, inside the working directory, no control characters."""
    if path is None:
        return
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise ValueError("`output_dir` must not contain control characters")
    if path.startswith("/") or ".." in path.split("/"):
        raise ValueError("`output_dir` must be a folder relative to the run's working "
                         "directory, without `..`")

_BLANK_CHECKED = ("name", "objective", "task_type", "owner", "dataset_name", "training_yaml_name")


SAVE_SIGNALS = ("SIGUSR1", "SIGUSR2", "SIGINT", "SIGHUP", "SIGQUIT", "SIGWINCH")


def _check_save_signal(struct: Struct) -> None:
    value = getattr(struct, "save_signal", None)
    if isinstance(value, str):
        name = value.upper() if value.upper().startswith("SIG") else f"SIG{value.upper()}"
        if name not in SAVE_SIGNALS:
            raise ValueError(f"`save_signal` must be one of {', '.join(SAVE_SIGNALS)} "
                             f"(a signal a trainer can catch, not one used to stop it)")
        struct.save_signal = name  # type: ignore[attr-defined]


def _reject_blank(struct: Struct, fields: tuple[str, ...]) -> None:
    for field in fields:
        value = getattr(struct, field, None)
        if isinstance(value, str) and not value.strip():
            raise ValueError(f"`{field}` must not be blank")
    tags = getattr(struct, "tags", None)
    if isinstance(tags, list):
        if any(not tag.strip() for tag in tags):
            raise ValueError("`tags` must not hold blank tags")
        if len(set(tags)) != len(tags):
            raise ValueError("`tags` must not repeat a tag")


class ProjectCreate(Struct, forbid_unknown_fields=True):
    """Body of ``POST /projects``."""

    name: ShortLine
    objective: Line
    task_type: ShortLine
    owner: ShortLine
    dataset_name: FileName
    training_yaml_name: FileName
    description: Description = ""
    tags: Tags = msgspec.field(default_factory=list)
    # Per-project overrides of the server defaults (None: use the server's).
    container: ShortLine | None = None
    workdir: Line | None = None
    output_dir: Line | None = None
    save_signal: SignalName | None = None
    gpus: GpuCount | None = None  # GPUs a run asks for by default (None: no placement)
    stall_seconds: StallSeconds | None = None  # None: TRAINYARD_STALL_SECONDS

    def __post_init__(self) -> None:
        _reject_blank(self, _BLANK_CHECKED)
        _check_save_signal(self)


class ProjectUpdate(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Body of ``PATCH /projects/{ref}``: only the fields present change."""

    description: Description | msgspec.UnsetType = msgspec.UNSET
    objective: Line | msgspec.UnsetType = msgspec.UNSET
    task_type: ShortLine | msgspec.UnsetType = msgspec.UNSET
    owner: ShortLine | msgspec.UnsetType = msgspec.UNSET
    dataset_name: FileName | msgspec.UnsetType = msgspec.UNSET
    training_yaml_name: FileName | msgspec.UnsetType = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET
    status: ProjectStatus | msgspec.UnsetType = msgspec.UNSET
    container: ShortLine | msgspec.UnsetType | None = msgspec.UNSET
    workdir: Line | msgspec.UnsetType | None = msgspec.UNSET
    output_dir: Line | msgspec.UnsetType | None = msgspec.UNSET
    save_signal: SignalName | msgspec.UnsetType | None = msgspec.UNSET
    gpus: GpuCount | msgspec.UnsetType | None = msgspec.UNSET
    stall_seconds: StallSeconds | msgspec.UnsetType | None = msgspec.UNSET

    def __post_init__(self) -> None:
        _reject_blank(self, _BLANK_CHECKED)
        _check_save_signal(self)

    def changes(self) -> dict[str, Any]:
        return {
            f: getattr(self, f)
            for f in self.__struct_fields__
            if getattr(self, f) is not msgspec.UNSET
        }


class ProjectSummary(Struct, kw_only=True):
    """One row of ``GET /projects``."""

    id: str
    name: str
    description: str
    status: ProjectStatus
    objective: str
    task_type: str
    owner: str
    dataset_name: str
    training_yaml_name: str
    created_at: datetime
    updated_at: datetime
    runs_started: int
    tags: list[str]
    container: str | None = None
    workdir: str | None = None
    output_dir: str | None = None
    save_signal: str | None = None
    gpus: int | None = None
    stall_seconds: int | None = None  # a running run silent this long is flagged stalled


class Artifact(Struct, kw_only=True):
    id: str
    name: str
    type: ArtifactType
    path: str
    created_at: datetime
    tags: list[str]
    step: int | None = None
    run_id: str | None = None


class LogEntry(Struct, kw_only=True):
    timestamp: datetime
    level: str
    message: str
    seq: int
    stream: Literal["stdout", "stderr", "system"]


class LogPage(Struct, kw_only=True):
    run_id: str
    entries: list[LogEntry]
    next_after: int
    has_more: bool


class ProgressInfo(Struct, kw_only=True):
    """Where a run stands and how that was worked out (``source``, ``rate_source``)."""

    progress: float = 0.0
    current_step: int | None = None
    total_steps: int | None = None
    steps_per_second: float | None = None
    eta_seconds: float | None = None
    source: str | None = None
    rate_source: str | None = None


class GpuHistoryPoint(Struct, array_like=True):
    """``[timestamp, gpu_index, utilization %, memory used bytes]``."""

    timestamp: str
    gpu_index: int
    utilization: float | None
    memory_used: int


class RunGpu(Struct, kw_only=True):
    """A run's GPU use: the GPUs its processes hold, now and at peak."""

    gpus: list[int] = msgspec.field(default_factory=list)
    utilization: float | None = None
    memory_used: int = 0
    peak_memory_used: int = 0
    pids: list[int] = msgspec.field(default_factory=list)
    sampled_at: str | None = None
    history: list[GpuHistoryPoint] = msgspec.field(default_factory=list)


class GpuProcess(Struct, kw_only=True):
    pid: int
    used_memory: int | None
    run_id: str | None = None
    project_id: str | None = None


class GpuDevice(Struct, kw_only=True):
    index: int
    uuid: str
    name: str
    utilization: float | None = None
    memory_utilization: float | None = None
    memory_used: int | None = None
    memory_total: int | None = None
    temperature: float | None = None
    power_watts: float | None = None
    power_limit_watts: float | None = None
    processes: list[GpuProcess] = msgspec.field(default_factory=list)


class GpuSnapshot(Struct, kw_only=True):
    """``GET /gpus``: the latest NVML sample, or why there is none."""

    available: bool
    reason: str | None = None
    sampled_at: str | None = None
    driver: str | None = None
    gpus: list[GpuDevice] = msgspec.field(default_factory=list)


class MetricSeries(Struct, kw_only=True):
    """``GET .../metrics``: per key, ``[step, value]`` pairs in step order."""

    run_id: str
    series: dict[str, list[tuple[int, float]]]


class RunSummary(Struct, kw_only=True):
    id: str
    project_id: str
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    progress: float
    start_command: str
    resume_source_artifact_id: str | None = None
    parent_run_id: str | None = None
    exit_code: int | None = None
    status_message: str | None = None
    gpus: int | None = None  # GPUs asked for (None: no placement)
    priority: int = 0
    gpu_ids: list[int] | None = None  # the GPUs it was given
    queue_position: int | None = None  # 1-based, while it waits for GPUs
    pending_reason: str | None = None  # why it waits, in plain words
    created_by: str | None = None  # the user who launched it (None: before users existed)


class RunUpdate(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Body of ``PATCH .../runs/{run_id}``: only the fields present change."""

    priority: Priority | msgspec.UnsetType = msgspec.UNSET


class QueuedRun(Struct, kw_only=True):
    run_id: str
    project_id: str
    position: int
    priority: int
    gpus: int
    waiting_since: datetime
    reason: str | None = None


class GpuHolder(Struct, kw_only=True):
    index: int
    uuid: str
    run_id: str | None = None  # the live run it was given to
    foreign: list[str] = msgspec.field(default_factory=list)  # processes outside Trainyard
    readable: bool = True


class Queue(Struct, kw_only=True):
    """``GET /queue``: runs waiting for GPUs, in the order they will start."""

    runs: list[QueuedRun]
    gpus: list[GpuHolder]


class RunDetail(RunSummary, kw_only=True):
    """The seed's RunDetail plus what a real run knows (exit code, why it ended)."""

    metrics: dict[str, float] = msgspec.field(default_factory=dict)
    artifacts: list[Artifact] = msgspec.field(default_factory=list)
    logs: list[LogEntry] = msgspec.field(default_factory=list)
    env: dict[str, str] = msgspec.field(default_factory=dict)
    container: str | None = None
    workdir: str | None = None
    output_dir: str | None = None
    kept_artifact_id: str | None = None
    progress_info: ProgressInfo = msgspec.field(default_factory=ProgressInfo)
    gpu: RunGpu | None = None
    stop_requested_by: str | None = None  # who asked for its cancel or pause
    stalled_since: datetime | None = None  # no log line nor progress since (still running)


class Project(ProjectSummary, kw_only=True):
    """``GET /projects/{ref}``: the summary plus the project's runs, newest first."""

    runs: list[RunSummary] = msgspec.field(default_factory=list)


class RunCreate(Struct, forbid_unknown_fields=True):
    start_command: Command
    env: dict[EnvKey, EnvValue] = msgspec.field(default_factory=dict)
    # Replaces the training YAML's for this run; reaches the command as env
    # TRAINYARD_OUTPUT_DIR and as {output_dir}. One live run per output directory.
    output_dir: OutputDir | None = None
    gpus: GpuCount | None = None  # None: the project's `gpus`; None there too: no placement
    priority: Priority = 0  # higher starts first; then arrival

    def __post_init__(self) -> None:
        if not self.start_command.strip():
            raise ValueError("`start_command` must not be blank")
        check_output_dir(self.output_dir)


class ResumeRequest(Struct, forbid_unknown_fields=True):
    start_command: Command | None = None
    env: dict[EnvKey, EnvValue] | None = None
    output_dir: OutputDir | None = None  # default: the resumed run's
    gpus: GpuCount | None = None  # default: the resumed run's
    priority: Priority | None = None  # default: the resumed run's

    def __post_init__(self) -> None:
        check_output_dir(self.output_dir)


class ErrorBody(Struct, kw_only=True):
    """Every error the API returns.

    ``detail`` repeats ``message`` for clients written against the FastAPI prototype.
    """

    status_code: int
    code: str
    message: str
    detail: str
    details: dict[str, Any] | None = None
