"""Fixed data served through the app's :class:`~tui.api.Api`, for snapshot tests.

Every view renders relative times against :data:`NOW` and clock times in UTC, so the
same data draws the same screen on every run and every machine. Streams send nothing
and stay open: the views show exactly this data.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import msgspec

from common.client import ServerEvent
from common.models import (
    AlignedSeries,
    Artifact,
    ComparedRun,
    Comparison,
    Differences,
    GpuDevice,
    GpuHistoryPoint,
    GpuHolder,
    GpuProcess,
    GpuSnapshot,
    LogEntry,
    LogPage,
    MetricSeries,
    MetricSummary,
    ProgressInfo,
    Project,
    ProjectCreate,
    ProjectSummary,
    ProjectUpdate,
    Queue,
    QueuedRun,
    ResumeRequest,
    RunCreate,
    RunDetail,
    RunGpu,
    RunSummary,
    ValueDiff,
)
from common.version import API_VERSION

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
URL = "http://127.0.0.1:8000"
PROJECT_ID = "proj_b741094e0dbe"
RUN_ID = "run_3a1b9f8d2fe4"
KEPT_ID = "ckpt_64e03182b689"
CMD = "bash run_train_full_sft.sh seal-train.yaml"


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def _summary(pid: str, name: str, *, owner: str, task: str, status: str = "active",
             runs: int = 0, created: float = 3, updated: float = 1,
             objective: str = "初版模型训练", tags: tuple[str, ...] = ()) -> ProjectSummary:
    return ProjectSummary(
        id=pid, name=name, description="构建印章通用大模型", status=status,  # type: ignore[arg-type]
        objective=objective, task_type=task, owner=owner, dataset_name="seal-documents-v1",
        training_yaml_name="seal-train.yaml", created_at=ago(days=created),
        updated_at=ago(hours=updated), runs_started=runs, tags=list(tags))


PROJECTS = [
    _summary(PROJECT_ID, "印章大模型", owner="LL", task="VL-Lora", runs=3, created=2,
             updated=0.1, tags=("VL", "通用印章")),
    _summary("proj_0c2f4e6a8b1d", "qwen2.5-14b-sft", owner="ZH", task="Full-SFT", runs=12,
             created=5, updated=20, objective="Instruction tuning, round 2"),
    _summary("proj_9a8b7c6d5e4f", "ocr-distill", owner="KM", task="Distill", runs=1,
             created=9, updated=100, status="archived", objective="Smaller OCR head"),
]


def _run(run_id: str, status: str, progress: float, *, started: float,
         took: float | None = None, parent: str | None = None,
         message: str | None = None, exit_code: int | None = None) -> RunSummary:
    start = ago(minutes=started)
    return RunSummary(
        id=run_id, project_id=PROJECT_ID, status=status,  # type: ignore[arg-type]
        created_at=start, updated_at=start, started_at=start,
        completed_at=None if took is None else start + timedelta(minutes=took),
        progress=progress, start_command=CMD, parent_run_id=parent,
        resume_source_artifact_id=KEPT_ID if parent else None,
        exit_code=exit_code, status_message=message)


RUNS = [
    _run(RUN_ID, "running", 0.45, started=7.5, parent="run_5f04e27efcd6"),
    _run("run_5f04e27efcd6", "paused", 0.14, started=40, took=4, exit_code=0,
         message="paused; kept checkpoint checkpoint-42 (ckpt_64e03182b689)"),
    _run("run_1d2e3f4a5b6c", "failed", 0.02, started=90, took=0.5, exit_code=1,
         message="failed: exit code 1"),
]
LOSSES = {"run_5f04e27efcd6": 2.4012, "run_1d2e3f4a5b6c": 3.4981}


def loss_at(step: int) -> float:
    return round(2.1 + 1.4 * math.exp(-step / 40) + 0.03 * math.sin(step / 3), 4)


def eval_at(step: int) -> float:
    return round(2.25 + 1.2 * math.exp(-step / 45), 4)


STEP = 135
SERIES = {"loss": [(s, loss_at(s)) for s in range(5, STEP + 1, 5)],
          "eval_loss": [(s, eval_at(s)) for s in range(20, STEP + 1, 20)]}


def _artifact(aid: str, name: str, kind: str, step: int | None, minutes: float,
              tags: tuple[str, ...] = ()) -> Artifact:
    base = "/KTIP_Release_2.1.0/train/llm/saves/seal-sft"
    path = f"{base}/{name}" if kind != "config" else f"/srv/trainyard/var/runs/{RUN_ID}/{name}"
    return Artifact(id=aid, name=name, type=kind, path=path,  # type: ignore[arg-type]
                    created_at=ago(minutes=minutes), tags=list(tags), step=step, run_id=RUN_ID)


ARTIFACTS = [
    _artifact("art_c12112ca7ba5", "seal-train.yaml", "config", None, 7.5, ("launch",)),
    _artifact("ckpt_ff45662427e3", "checkpoint-60", "checkpoint", 60, 4.5),
    _artifact("ckpt_4626e6d3d809", "checkpoint-120", "checkpoint", 120, 1.2),
    _artifact("art_ef14f6193bbb", "events.out.tfevents.1795807448.gpu01", "tensorboard",
              None, 0.2),
]

LOG_LINES = [
    ("system", "INFO", "Run created"),
    ("system", "INFO", "resuming from checkpoint-42 (ckpt_64e03182b689)"),
    ("stderr", "INFO", "***** Running training *****"),
    ("stderr", "INFO", "  Num examples = 2,400"),
    ("stderr", "INFO", "  Total optimization steps = 300"),
    ("stderr", "WARNING", "`use_cache=True` is incompatible with gradient checkpointing."),
    *[("stdout", "INFO", f"{{'loss': {loss_at(s)}, 'grad_norm': 0.0512, "
                         f"'learning_rate': {0.1 * (1 - s / 300):.4f}, 'epoch': {s / 30:.2f}}}")
      for s in range(45, STEP + 1, 5)],
    ("stderr", "INFO", " 45%|████▌     | 135/300 [07:28<09:08,  3.32s/it]"),
]
LOGS = [LogEntry(timestamp=ago(minutes=7.5) + timedelta(seconds=17 * i), level=level,
                 message=message, seq=i + 1, stream=stream)  # type: ignore[arg-type]
        for i, (stream, level, message) in enumerate(LOG_LINES)]


def _history(index: int, base: float) -> list[GpuHistoryPoint]:
    return [GpuHistoryPoint(f"2026-11-27T11:5{i // 6}:{i % 6}0Z", index,
                            round(base + 12 * math.sin(i / 2), 1), int((30 + i % 7) * 1024**3))
            for i in range(40)]


RUN_GPU = RunGpu(gpus=[0, 1], utilization=86.5, memory_used=int(61.5 * 1024**3),
                 peak_memory_used=int(66.2 * 1024**3), pids=[48211, 48230],
                 sampled_at="2026-11-27T12:00:00Z", history=_history(0, 84) + _history(1, 80))

DETAIL = RunDetail(
    **{f: getattr(RUNS[0], f) for f in RUNS[0].__struct_fields__},
    metrics={"loss": loss_at(STEP), "eval_loss": eval_at(120), "grad_norm": 0.0512,
             "learning_rate": 0.0550, "epoch": 4.5, "eval_samples_per_second": 41.7},
    artifacts=ARTIFACTS, logs=LOGS[-50:],
    env={"TRAINYARD_RESUME_FROM": "/KTIP_Release_2.1.0/train/llm/saves/seal-sft/checkpoint-42",
         "TRAINYARD_SAVE_SIGNAL": "SIGUSR1"},
    container="qwen2.5-14b-instruct_xpytorch_full_sft",
    workdir="/KTIP_Release_2.1.0/train/llm",
    progress_info=ProgressInfo(progress=0.45, current_step=STEP, total_steps=300,
                               steps_per_second=0.3012, eta_seconds=548.0, source="tqdm bar",
                               rate_source="measured over the last minute"),
    gpu=RUN_GPU, tags=["lr-sweep", "keep"],
    notes="Resumed from the paused try with lr 2e-5.\nCompare eval_loss with run_5f04e27efcd6.")
DETAIL = msgspec.structs.replace(DETAIL, created_by="alice")  # who launched it (team use)


def _device(index: int, util: float, used_gib: float, temp: float, watts: float,
            processes: list[GpuProcess]) -> GpuDevice:
    return GpuDevice(index=index, uuid=f"GPU-49dfcf73-6105-2613-25b5-cdb930f317e{index}",
                     name="NVIDIA H100 80GB HBM3", utilization=util, memory_utilization=util / 2,
                     memory_used=int(used_gib * 1024**3), memory_total=85520809984,
                     temperature=temp, power_watts=watts, power_limit_watts=700.0,
                     processes=processes)


GPUS = GpuSnapshot(available=True, sampled_at="2026-11-27T12:00:00.000Z", driver="580.159.04",
                   gpus=[
                       _device(0, 91.0, 31.2, 67.0, 612.4, [GpuProcess(
                           pid=48211, used_memory=int(30.7 * 1024**3), run_id=RUN_ID,
                           project_id=PROJECT_ID)]),
                       _device(1, 78.0, 30.8, 63.0, 545.0, [GpuProcess(
                           pid=48230, used_memory=int(30.3 * 1024**3), run_id=RUN_ID,
                           project_id=PROJECT_ID)]),
                       _device(2, 0.0, 0.5, 33.0, 69.8, []),
                       _device(3, 12.0, 7.9, 41.0, 120.5, [GpuProcess(
                           pid=5120, used_memory=int(7.4 * 1024**3))]),
                   ])
NO_GPUS = GpuSnapshot(available=False, reason="NVML could not start (NVML Shared Library "
                      "Not Found): is the NVIDIA driver installed?")


def gpu_samples(count: int = 60) -> list[GpuSnapshot]:
    """A minute of samples, for the history sparklines."""
    samples = []
    for i in range(count):
        gpus = []
        for device in GPUS.gpus:
            wave = 0 if device.utilization == 0 else 8 * math.sin(i / 4 + device.index)
            util = min(max((device.utilization or 0) + wave, 0), 100)
            gpus.append(GpuDevice(**{**{f: getattr(device, f) for f in device.__struct_fields__},
                                     "utilization": round(util, 1)}))
        samples.append(GpuSnapshot(available=True, sampled_at=f"s{i}", driver=GPUS.driver,
                                   gpus=gpus))
    samples.append(GPUS)
    return samples


HELD = "waiting for 4 GPUs: GPU 0-1 held by run_3a1b9f8d2fe4; GPU 3 used by pid 5120 " \
    "(python, 7.4 GiB) outside Trainyard"
QUEUE = Queue(
    runs=[
        QueuedRun(run_id="run_7c41d2e09a3f", project_id=PROJECT_ID, position=1, priority=5,
                  gpus=4, waiting_since=ago(minutes=12, seconds=40), reason=HELD),
        QueuedRun(run_id="run_2b8e6f1a0c94", project_id="proj_0c2f4e6a8b1d", position=2,
                  priority=0, gpus=1, waiting_since=ago(minutes=6, seconds=5),
                  reason="waiting for 1 GPU: GPU 0-1 held by run_3a1b9f8d2fe4; GPU 3 used by "
                         "pid 5120 (python, 7.4 GiB) outside Trainyard; the free GPUs are "
                         "held for run_7c41d2e09a3f, first in line for 13 min"),
        QueuedRun(run_id="run_e5d4c3b2a190", project_id="proj_0c2f4e6a8b1d", position=3,
                  priority=-10, gpus=2, waiting_since=ago(seconds=48), reason=None),
    ],
    gpus=[GpuHolder(index=0, uuid=GPUS.gpus[0].uuid, run_id=RUN_ID),
          GpuHolder(index=1, uuid=GPUS.gpus[1].uuid, run_id=RUN_ID),
          GpuHolder(index=2, uuid=GPUS.gpus[2].uuid),
          GpuHolder(index=3, uuid=GPUS.gpus[3].uuid,
                    foreign=["pid 5120 (python, 7.4 GiB)"])])


WAITING = RunDetail(
    id=QUEUE.runs[0].run_id, project_id=PROJECT_ID, status="pending",
    created_at=QUEUE.runs[0].waiting_since, updated_at=QUEUE.runs[0].waiting_since,
    started_at=None, completed_at=None, progress=0.0, start_command=CMD, gpus=4, priority=5,
    queue_position=1, pending_reason=HELD, created_by="alice",
    logs=[LogEntry(timestamp=QUEUE.runs[0].waiting_since, level="INFO", seq=1,
                   stream="system", message="Run created"),
          LogEntry(timestamp=QUEUE.runs[0].waiting_since, level="INFO", seq=2,
                   stream="system", message=HELD)],
    container="qwen2.5-14b-instruct_xpytorch_full_sft", workdir="/KTIP_Release_2.1.0/train/llm")


# Three runs compared: the live one, the paused one it resumed (slower, lr 1e-5), the
# failed first try (a few steps).
COMPARED_CURVES = {
    RUN_ID: {s: loss_at(s) for s in range(5, STEP + 1, 5)},
    "run_5f04e27efcd6": {s: round(2.3 + 1.3 * math.exp(-s / 70), 4) for s in range(5, 45, 5)},
    "run_1d2e3f4a5b6c": {5: 3.4981},
}


def comparison(run_ids: list[str]) -> Comparison:
    steps = sorted({s for rid in run_ids for s in COMPARED_CURVES[rid]})
    runs = []
    for rid in run_ids:
        run = next(r for r in RUNS if r.id == rid)
        curve = COMPARED_CURVES[rid]
        final_step = max(curve)
        best_step = min(curve, key=lambda s: (curve[s], s))
        ended = run.completed_at or NOW
        runs.append(ComparedRun(
            id=rid, project_id=PROJECT_ID, status=run.status, exit_code=run.exit_code,
            start_command=run.start_command, created_at=run.created_at, steps=final_step,
            duration_seconds=(ended - (run.started_at or NOW)).total_seconds(),
            gpu_hours=None, config_name="seal-train.yaml",
            metrics={"loss": MetricSummary(final=curve[final_step], final_step=final_step,
                                           goal="min", best=curve[best_step],
                                           best_step=best_step)}))
    rates = {RUN_ID: "2e-05", "run_5f04e27efcd6": "1e-05", "run_1d2e3f4a5b6c": "1e-05"}
    ranks = {RUN_ID: "16", "run_5f04e27efcd6": "16", "run_1d2e3f4a5b6c": "8"}

    def changed(key: str, values: list[str | None]) -> ValueDiff:
        shown = " -> ".join("(unset)" if v is None else v for v in values)
        return ValueDiff(key=key, values=values, text=f"{key}: {shown}")

    resume = DETAIL.env["TRAINYARD_RESUME_FROM"]
    return Comparison(
        runs=runs,
        series={"loss": AlignedSeries(steps=steps, values=[
            [COMPARED_CURVES[rid].get(s) for s in steps] for rid in run_ids])},
        differences=Differences(command=None, env=[changed(
            "TRAINYARD_RESUME_FROM", [resume if rid == RUN_ID else None for rid in run_ids])],
            config=[changed("learning_rate", [rates[rid] for rid in run_ids]),
                    changed("lora.rank", [ranks[rid] for rid in run_ids])]))


class FrozenApi:
    """The :class:`tui.api.Api` methods over the data above; writes are refused."""

    def __init__(self, gpus: list[GpuSnapshot] | None = None,
                 api_version: int | None = API_VERSION) -> None:
        self._gpus = gpus if gpus is not None else gpu_samples()
        self.api_version = api_version
        self.token = "frozen"

    async def list_projects(self, **filters: str | None) -> list[ProjectSummary]:
        if filters.get("owner") == "me":  # the frozen user is LL
            return [p for p in PROJECTS if p.owner == "LL"]
        return list(PROJECTS)

    async def get_project(self, ref: str) -> Project:
        summary = next(p for p in PROJECTS if ref in (p.id, p.name))
        runs = list(RUNS) if summary.id == PROJECT_ID else []
        return Project(**{f: getattr(summary, f) for f in summary.__struct_fields__},
                       runs=runs)

    async def get_run(self, project: str, run_id: str) -> RunDetail:
        if run_id == RUN_ID:
            return DETAIL
        if run_id == WAITING.id:
            return WAITING
        run = next(r for r in RUNS if r.id == run_id)
        return RunDetail(**{f: getattr(run, f) for f in run.__struct_fields__},
                         metrics={"loss": LOSSES[run_id]})

    async def logs(self, project: str, run_id: str, *, after: int = 0,
                   limit: int = 1000) -> LogPage:
        logs = WAITING.logs if run_id == WAITING.id else LOGS
        entries = [e for e in logs if e.seq > after][:limit]
        return LogPage(run_id=run_id, entries=entries,
                       next_after=entries[-1].seq if entries else after, has_more=False)

    async def metrics(self, project: str, run_id: str, *, keys: list[str] | None = None,
                      after_step: int = -1) -> MetricSeries:
        return MetricSeries(run_id=run_id, series={
            k: [p for p in v if p[0] > after_step] for k, v in SERIES.items()
            if keys is None or k in keys})

    async def gpus(self) -> GpuSnapshot:
        return self._gpus[-1]

    async def queue(self) -> Queue:
        return QUEUE

    async def compare(self, run_ids: list[str], *, keys: list[str] | None = None
                      ) -> Comparison:
        return comparison(run_ids)

    async def events(self, path: str, *, last_event_id: str | None = None
                     ) -> AsyncIterator[ServerEvent]:
        if path == "/gpus/events" and last_event_id is None:
            for sample in self._gpus:
                yield ServerEvent("gpus", None, msgspec.to_builtins(sample))
        elif path == "/events":  # as a server does for an id it never issued
            yield ServerEvent("reset", None, {"reason": "fetch the list again"})
        await asyncio.Event().wait()  # open, and quiet, until the app ends

    def run_events(self, project: str, run_id: str, *, last_event_id: str | None = None
                   ) -> AsyncIterator[ServerEvent]:
        return self.events(f"/projects/{project}/runs/{run_id}/events",
                           last_event_id=last_event_id)

    async def ping(self) -> None:
        return None

    async def server_api(self) -> int | None:
        return self.api_version

    def use_token(self, token: str) -> None:
        self.token = token

    async def aclose(self) -> None:
        return None

    async def create_project(self, data: ProjectCreate) -> Project:
        raise NotImplementedError

    async def update_project(self, ref: str, data: ProjectUpdate) -> Project:
        raise NotImplementedError

    async def start_run(self, project: str, data: RunCreate) -> RunDetail:
        raise NotImplementedError

    async def cancel(self, project: str, run_id: str, *, grace_seconds: float | None = None,
                     pause: bool = False) -> RunDetail:
        raise NotImplementedError

    async def resume(self, project: str, run_id: str, *, source_artifact_id: str | None = None,
                     start_command: str | None = None) -> RunDetail:
        raise NotImplementedError

    async def resume_with(self, project: str, run_id: str, request: ResumeRequest, *,
                          source_artifact_id: str | None = None) -> RunDetail:
        raise NotImplementedError
