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

from .text import SAVE_SIGNALS, signal_name
from .validation import first_problem

__all__ = [
    "RUN_STATUSES",
    "SAVE_SIGNALS",
    "AlignedSeries",
    "Artifact",
    "ArtifactType",
    "ComparedRun",
    "Comparison",
    "Differences",
    "ErrorBody",
    "GpuDevice",
    "GpuHistoryPoint",
    "GpuHolder",
    "GpuProcess",
    "GpuSnapshot",
    "LogEntry",
    "LogPage",
    "MetricSeries",
    "MetricSummary",
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
    "RunPage",
    "RunStatus",
    "RunSummary",
    "RunUpdate",
    "ValueDiff",
]

ProjectStatus = Literal["active", "archived"]
RunStatus = Literal["pending", "running", "completed", "failed", "canceled", "paused"]
RUN_STATUSES: tuple[str, ...] = RunStatus.__args__  # type: ignore[attr-defined]
LIVE_STATUSES = frozenset({"pending", "running"})
ArtifactType = Literal["checkpoint", "tensorboard", "config"]

# Field types carry their limits (in the OpenAPI document too) and name the text rule of
# ``common.text`` they follow; ``common.validation`` reports every broken one in words.
_SINGLE = "one line, no control or invisible formatting characters"
_NAMEISH = f"{_SINGLE}, no leading or trailing space"
ProjectName = Annotated[str, Meta(
    min_length=1, max_length=100, extra={"rule": "project_name"},
    description=f"Unique; {_NAMEISH}; no / \\ ? #, not . or .., not starting with an id "
                "prefix (proj_, run_, art_, ckpt_)")]
Line = Annotated[str, Meta(min_length=1, max_length=500, description=_SINGLE,
                           extra={"rule": "line"})]
ShortLine = Annotated[str, Meta(min_length=1, max_length=100, description=_SINGLE,
                                extra={"rule": "line"})]
ContainerName = Annotated[str, Meta(min_length=1, max_length=100, description=_NAMEISH,
                                    extra={"rule": "name"})]
FileName = Annotated[str, Meta(
    min_length=1, max_length=255, extra={"rule": "file_name"},
    description="A plain file or folder name under the workspace root: no path separator, "
                "no '..', no leading or trailing space")]
Description = Annotated[str, Meta(max_length=4000, description="Free text, up to 4,000 "
                                                              "characters")]
Tag = Annotated[str, Meta(min_length=1, max_length=50, description=_NAMEISH,
                          extra={"rule": "name"})]
Tags = Annotated[list[Tag], Meta(max_length=20, description="Up to 20 distinct tags, each 1 to "
                                 f"50 characters: {_NAMEISH}",
                                 extra={"rule": "tags"})]
SignalName = Annotated[str, Meta(
    max_length=12, extra={"rule": "save_signal"},
    description="One of " + ", ".join(SAVE_SIGNALS) + " (the SIG prefix may be left out)")]
EnvKey = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                             description="A variable name: letters, digits and _, not "
                                         "starting with a digit")]
EnvValue = Annotated[str, Meta(max_length=8192, description="Up to 8,192 characters, no NUL",
                               extra={"rule": "no_nul"})]
Env = Annotated[dict[EnvKey, EnvValue], Meta(
    description="Extra environment variables for the run. Names: 1 to 128 letters, digits "
                "and _, not starting with a digit; values: up to 8,192 characters, no NUL")]
Command = Annotated[str, Meta(
    min_length=1, max_length=8192, extra={"rule": "command"},
    description="Run in the container with bash -c: up to 8,192 characters, not blank, "
                "no NUL")]
GpuCount = Annotated[int, Meta(ge=0, le=1024, description="How many GPUs the run needs")]
NodeCount = Annotated[int, Meta(ge=1, le=4096,
                                description="How many nodes the run needs (slurm executor)")]
Priority = Annotated[int, Meta(ge=-1000, le=1000,
                               description="Higher starts first among runs waiting for GPUs")]
StallSeconds = Annotated[int, Meta(
    ge=1, le=30 * 86400, description="A running run silent this long is flagged stalled")]
OutputDir = Annotated[str, Meta(
    min_length=1, max_length=1024, extra={"rule": "output_dir"},
    description="A folder relative to the run's working directory (no `..`), e.g. "
                "saves/sweep-lr2e-5: one live run per output directory")]


def _check(struct: Struct) -> None:
    problem = first_problem(struct)
    if problem:
        raise ValueError(problem)
    signal = getattr(struct, "save_signal", None)
    if isinstance(signal, str):
        struct.save_signal = signal_name(signal)  # type: ignore[attr-defined]


class ProjectCreate(Struct, forbid_unknown_fields=True):
    """Body of ``POST /projects``."""

    name: ProjectName
    objective: Line
    task_type: ShortLine
    owner: ShortLine
    dataset_name: FileName
    training_yaml_name: FileName
    description: Description = ""
    tags: Tags = msgspec.field(default_factory=list)
    # Per-project overrides of the server defaults (None: use the server's).
    container: ContainerName | None = None
    workdir: Line | None = None
    output_dir: Line | None = None
    save_signal: SignalName | None = None
    gpus: GpuCount | None = None  # GPUs a run asks for by default (None: no placement)
    nodes: NodeCount | None = None  # nodes a run asks for by default (slurm executor)
    stall_seconds: StallSeconds | None = None  # None: TRAINYARD_STALL_SECONDS

    def __post_init__(self) -> None:
        _check(self)


class ProjectUpdate(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Body of ``PATCH /projects/{ref}``: only the fields present change; a new ``name``
    renames the project (its id stays; the old name no longer finds it)."""

    name: ProjectName | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    objective: Line | msgspec.UnsetType = msgspec.UNSET
    task_type: ShortLine | msgspec.UnsetType = msgspec.UNSET
    owner: ShortLine | msgspec.UnsetType = msgspec.UNSET
    dataset_name: FileName | msgspec.UnsetType = msgspec.UNSET
    training_yaml_name: FileName | msgspec.UnsetType = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET
    status: ProjectStatus | msgspec.UnsetType = msgspec.UNSET
    container: ContainerName | msgspec.UnsetType | None = msgspec.UNSET
    workdir: Line | msgspec.UnsetType | None = msgspec.UNSET
    output_dir: Line | msgspec.UnsetType | None = msgspec.UNSET
    save_signal: SignalName | msgspec.UnsetType | None = msgspec.UNSET
    gpus: GpuCount | msgspec.UnsetType | None = msgspec.UNSET
    nodes: NodeCount | msgspec.UnsetType | None = msgspec.UNSET
    stall_seconds: StallSeconds | msgspec.UnsetType | None = msgspec.UNSET

    def __post_init__(self) -> None:
        _check(self)

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
    nodes: int | None = None
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


class RunPage(Struct, kw_only=True):
    """``GET /runs``: one page of runs across projects, newest first; pass ``next_after``
    as ``after`` for the next page (None: this is the last)."""

    runs: list[RunSummary]
    next_after: str | None


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
    notes: str = ""  # free text people keep on the run (PATCH)
    tags: list[str] = msgspec.field(default_factory=list)
    nodes: int = 1  # nodes asked for (slurm executor)
    slurm_job_id: str | None = None  # once Slurm accepted the run
    node_list: str | None = None  # the nodes Slurm runs it on
    gpu_note: str | None = None  # why `gpu` says nothing (its node is not this host)
    stop_requested_by: str | None = None  # who asked for its cancel or pause
    stalled_since: datetime | None = None  # no log line nor progress since (still running)


class Project(ProjectSummary, kw_only=True):
    """``GET /projects/{ref}``: the summary plus the project's runs, newest first."""

    runs: list[RunSummary] = msgspec.field(default_factory=list)


class RunCreate(Struct, forbid_unknown_fields=True):
    start_command: Command
    env: Env = msgspec.field(default_factory=dict)
    # Replaces the training YAML's for this run; reaches the command as env
    # TRAINYARD_OUTPUT_DIR and as {output_dir}. One live run per output directory.
    output_dir: OutputDir | None = None
    gpus: GpuCount | None = None  # None: the project's `gpus`; None there too: no placement
    priority: Priority = 0  # higher starts first; then arrival
    nodes: NodeCount | None = None  # None: the project's `nodes`, else 1 (slurm executor)

    def __post_init__(self) -> None:
        _check(self)


class RunUpdate(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Body of ``PATCH /runs/{id}``: what people note on a run, and the priority of a run
    still waiting for GPUs; only fields present change."""

    notes: Description | msgspec.UnsetType = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET
    priority: Priority | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        _check(self)

    def changes(self) -> dict[str, Any]:
        """The notes and tags to change (the priority goes to the queue)."""
        return {f: getattr(self, f) for f in ("notes", "tags")
                if getattr(self, f) is not msgspec.UNSET}


class ResumeRequest(Struct, forbid_unknown_fields=True):
    start_command: Command | None = None
    env: Env | None = None
    output_dir: OutputDir | None = None  # default: the resumed run's
    gpus: GpuCount | None = None  # default: the resumed run's
    priority: Priority | None = None  # default: the resumed run's

    def __post_init__(self) -> None:
        _check(self)


class ErrorBody(Struct, kw_only=True):
    """Every error the API returns.

    ``detail`` repeats ``message`` for clients written against the FastAPI prototype.
    """

    status_code: int
    code: str
    message: str
    detail: str
    details: Annotated[dict[str, Any] | None, Meta(
        description="Specifics; on every 400, `errors`: a list of `{field, source, message}`, "
                    "one per bad field")] = None


class MetricSummary(Struct, kw_only=True):
    """A metric of one run: its last value and, for metrics with a direction (losses go
    down, accuracies up: ``goal``), its best value and where."""

    final: float
    final_step: int
    goal: Literal["min", "max"] | None = None
    best: float | None = None
    best_step: int | None = None


class ComparedRun(Struct, kw_only=True):
    id: str
    project_id: str
    status: RunStatus
    exit_code: int | None
    start_command: str
    created_at: datetime
    steps: int | None  # the last step the run reached
    duration_seconds: float | None  # started to ended (or to now, while live)
    gpu_hours: float | None  # GPUs held times duration, when the run was seen on GPUs
    config_name: str | None  # the training YAML snapshot compared (None: none kept)
    metrics: dict[str, MetricSummary]


class AlignedSeries(Struct, kw_only=True):
    """One metric of every compared run on common steps: ``values[i][j]`` is run i's
    value at ``steps[j]`` (None where it logged none)."""

    steps: list[int]
    values: list[list[float | None]]


class ValueDiff(Struct, kw_only=True):
    """One key whose value is not the same in every run: ``values`` in run order (None:
    the run has no such key); ``text`` reads ``key: a -> b``."""

    key: str
    values: list[str | None]
    text: str


class Differences(Struct, kw_only=True):
    command: list[str] | None  # each run's start command, or None when all are the same
    env: list[ValueDiff]
    config: list[ValueDiff]  # the training YAML snapshots, nested keys flattened


class Comparison(Struct, kw_only=True):
    """``GET /compare``: runs side by side, in the order asked for."""

    runs: list[ComparedRun]
    series: dict[str, AlignedSeries]
    differences: Differences
