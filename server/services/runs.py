"""Run use cases: launch, read, page logs, cancel/pause, resume."""

from __future__ import annotations

import posixpath
import shlex
import shutil
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from common.models import (
    Artifact,
    GpuHistoryPoint,
    LogPage,
    MetricSeries,
    ProgressInfo,
    RunCreate,
    RunDetail,
    RunGpu,
    RunSummary,
)

from ..config import Settings
from ..errors import Conflict, ExecutorUnavailable, InvalidRequest, LaunchFailed, NotFound
from ..executors.base import (
    Executor,
    ExecutorError,
    ExecutorUnreachable,
    Launch,
    Prepared,
    ProcRef,
)
from ..redaction import redact_env
from ..storage.db import now_iso
from ..storage.projects import ProjectRepository
from ..storage.runs import Busy, RunRepository, RunRow, StopKind
from ..storage.tidying import notes_of
from .artifacts import newest_checkpoint
from .gpu_queue import GpuQueue
from .names import new_id
from .projects import require_project
from .recorder import TERMINAL, RunRecorder
from .streaming.streams import parse_event_id, run_stream
from .supervisor import Supervisor
from .waiting import wait_for_end
from .workspace import resolve_resources

__all__ = ["RunService"]

DETAIL_LOG_LINES = 50
LOG_PAGE_CHARS = 4 << 20  # a log page holds about this much text at most (has_more says)


def _busy_conflict(busy: Busy, output_dir: str | None) -> Conflict:
    if busy.reason == "output_dir":
        return Conflict(f"run {busy.run_id} is live and writes to {output_dir}: give this run "
                        "its own `output_dir`, or stop that run first", code="output_dir_busy",
                        details={"run_id": busy.run_id, "output_dir": output_dir})
    return Conflict(f"this run was already resumed as run {busy.run_id}, which is live",
                    code="already_resumed", details={"run_id": busy.run_id})


@dataclass
class RunService:
    settings: Settings
    projects: ProjectRepository
    runs: RunRepository
    executor: Executor
    supervisor: Supervisor
    recorder: RunRecorder
    queue: GpuQueue

    # -- reading ----------------------------------------------------------------------
    async def require_run(self, project_ref: str, run_id: str) -> RunRow:
        project = await require_project(self.projects, project_ref)
        run = await self.runs.get(run_id)
        if run is None or run.project_id != project.id:
            raise NotFound(f"project {project_ref!r} has no run {run_id!r}",
                           code="run_not_found", details={"run": run_id})
        return run

    async def project_of(self, run_id: str) -> str:
        """The id of the project a run belongs to, for the routes that name the run alone."""
        run = await self.runs.get(run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r}", code="run_not_found", details={"run": run_id})
        return run.project_id

    async def wait(self, project_ref: str, run_id: str,
                   seconds: float) -> tuple[RunDetail, bool]:
        """The run's detail once it has ended, or after ``seconds``; and whether it ended."""
        run = await self.require_run(project_ref, run_id)
        ended = await wait_for_end(self.runs, self.recorder.hub, run.id, seconds)
        fresh = await self.runs.get(run.id)
        return await self.detail(fresh or run), ended

    async def detail(self, run: RunRow) -> RunDetail:
        summary = run.summary()
        noted = await notes_of(self.runs.db, run.id)
        return RunDetail(
            **{f: getattr(summary, f) for f in summary.__struct_fields__},
            metrics={k: v for k, v in run.metrics.items() if isinstance(v, int | float)},
            artifacts=await self.runs.artifacts(run.id),
            logs=await self.runs.logs_tail(run.id, DETAIL_LOG_LINES),
            env=redact_env(run.env, self.settings.secret_env_patterns),
            container=run.container, workdir=run.workdir, output_dir=run.output_dir,
            kept_artifact_id=run.kept_artifact_id,
            progress_info=msgspec.convert(run.progress_info, ProgressInfo),
            gpu=await self._gpu(run), notes=noted.notes, tags=noted.tags,
            nodes=run.nodes, slurm_job_id=run.slurm_job_id, node_list=run.node_list,
            gpu_note=self._gpu_note(run), stop_requested_by=run.stop_requested_by,
            stalled_since=msgspec.convert(run.stalled_since, datetime | None),
        )

    def _gpu_note(self, run: RunRow) -> str | None:
        """GPUs are sampled on this host only: a run on another node says so, not zeros."""
        if run.node_list and run.host_pid is None:
            return (f"runs on {run.node_list}; GPU figures are sampled on this host only, so "
                    "they are not available here")
        return None

    async def _gpu(self, run: RunRow) -> RunGpu | None:
        if not run.gpu:
            return None
        gpu = msgspec.convert(run.gpu, RunGpu)
        gpu.history = [GpuHistoryPoint(*row) for row in await self.runs.gpu_history(run.id, 200)]
        return gpu

    async def metrics(self, project_ref: str, run_id: str, keys: list[str] | None,
                      after_step: int, limit: int) -> MetricSeries:
        run = await self.require_run(project_ref, run_id)
        series = await self.runs.metric_series(run.id, keys, after_step, limit)
        return MetricSeries(run_id=run.id, series=series)

    async def get(self, project_ref: str, run_id: str) -> RunDetail:
        return await self.detail(await self.require_run(project_ref, run_id))

    async def list(self, project_ref: str, status: str | None) -> list[RunSummary]:
        project = await require_project(self.projects, project_ref)
        return await self.runs.list_for_project(project.id, status)

    async def logs(self, project_ref: str, run_id: str, after: int, limit: int) -> LogPage:
        run = await self.require_run(project_ref, run_id)
        entries, has_more = await self.runs.logs_page(run.id, after, limit, LOG_PAGE_CHARS)
        return LogPage(run_id=run.id, entries=entries,
                       next_after=entries[-1].seq if entries else after, has_more=has_more)

    async def stream(self, project_ref: str, run_id: str,
                     last_event_id: str | None) -> AsyncGenerator[bytes, None]:
        after = parse_event_id(last_event_id)
        run = await self.require_run(project_ref, run_id)
        return run_stream(self.runs, self.recorder.hub, run.id, after,
                          terminal_status=run.status in TERMINAL)

    # -- launching --------------------------------------------------------------------
    async def launch(self, project_ref: str, data: RunCreate, *,
                     resume_from: Artifact | None = None, parent: RunRow | None = None,
                     default_output_dir: str | None = None, actor: str | None = None
                     ) -> RunDetail:
        project = await require_project(self.projects, project_ref)
        if project.status != "active":
            raise Conflict(f"project {project.name!r} is archived; unarchive it to start runs",
                           code="project_archived", details={"project": project.id})
        resolved = resolve_resources(project, root=self.settings.workspace_root,
                                     dataset_dirs=self.settings.dataset_dirs,
                                     yaml_dirs=self.settings.yaml_dirs)
        gpus = data.gpus if data.gpus is not None else project.gpus
        nodes = data.nodes or project.nodes or 1
        if nodes > 1 and not self.executor.schedules:
            raise InvalidRequest(f"the run asks for {nodes} nodes; the {self.executor.kind} "
                                 "executor runs on this host only (use TRAINYARD_EXECUTOR=slurm)",
                                 code="nodes_need_cluster", details={"asked": nodes})
        if gpus is not None and not self.executor.schedules:
            have, why = self.queue.count()
            if gpus > have:
                raise InvalidRequest(
                    f"the run asks for {gpus} GPUs and this server has {have}"
                    + (f" ({why})" if why else ""), code="not_enough_gpus",
                    details={"asked": gpus, "available": have})
        run_id = new_id("run")
        workdir = project.workdir or self.settings.workdir
        container = (project.container or self.settings.container
                     if self.executor.kind == "docker" else None)
        try:
            prepared: Prepared | None = await self.executor.prepare(Launch(
                run_id=run_id, command="", env={}, container=container, workdir=workdir))
        except ExecutorUnreachable as exc:  # nothing stored: try again when it answers
            raise ExecutorUnavailable(f"cannot launch now: {exc}",
                                      details={"executor": self.executor.kind}) from exc
        except ExecutorError as exc:
            prepared, failure = None, exc
        wanted = (data.output_dir or default_output_dir or project.output_dir
                  or resolved.yaml_output_dir)
        output_dir = (posixpath.normpath(posixpath.join(prepared.workdir, wanted))
                      if wanted and prepared else None)
        env = dict(data.env)
        command = data.start_command
        if resume_from is not None:
            env["TRAINYARD_RESUME_FROM"] = resume_from.path
            command = command.replace("{resume_from}", shlex.quote(resume_from.path))
        if output_dir:
            env["TRAINYARD_OUTPUT_DIR"] = output_dir
            command = command.replace("{output_dir}", shlex.quote(output_dir))
        if project.save_signal:
            env.setdefault("TRAINYARD_SAVE_SIGNAL", project.save_signal)
        now = now_iso()
        run = RunRow(
            id=run_id, project_id=project.id, status="pending", start_command=command, env=env,
            executor=self.executor.kind, container=container,
            workdir=prepared.workdir if prepared else workdir,
            run_dir=prepared.run_dir if prepared else "", output_dir=output_dir, pgid=None,
            wrapper_pid=None, exit_code=None, status_message=None, stop_request=None,
            progress=0.0, metrics={}, progress_info={}, gpu={}, host_pid=None, jsonl_offset=0,
            command_template=data.start_command,
            resume_source_artifact_id=resume_from.id if resume_from else None,
            parent_run_id=parent.id if parent else None, kept_artifact_id=None,
            stdout_offset=0, stderr_offset=0, last_seq=0, created_at=now, updated_at=now,
            started_at=None, completed_at=None, gpus=gpus, priority=data.priority, nodes=nodes,
            created_by=actor,
        )
        runs_started = await self.runs.insert(run)
        if isinstance(runs_started, Busy):
            raise _busy_conflict(runs_started, output_dir)
        self.recorder.project_of[run_id] = project.id
        created = "Run created" + (f" by {actor}" if actor else "")
        if parent is not None and resume_from is not None:
            created += f", resuming run {parent.id} from {resume_from.name}"
        await self.recorder.transition(
            run_id, "pending", created, guard="pending",
            project={"runs_started": runs_started, "updated_at": now})
        await self.recorder.log(
            run_id, f"dataset {project.dataset_name!r} found at {resolved.dataset}; "
                    f"training YAML {project.training_yaml_name!r} at {resolved.training_yaml}")
        await self._snapshot_config(run, resolved.training_yaml)
        if prepared is None:
            where = f"in container {container!r}" if container else "on this host"
            message = f"could not start the command {where}: {failure}"
            await self.supervisor.fail_launch(run_id, message)
            raise LaunchFailed(message, details={"run_id": run_id, "container": container})
        if not output_dir:
            await self.recorder.log(run_id, "the training YAML sets no output_dir: "
                                            "checkpoints will not be tracked", "WARNING")
        if gpus is not None and not self.executor.schedules:
            await self.recorder.log(run_id, f"asks for {gpus} GPU{'s' if gpus != 1 else ''} "
                                            f"(priority {data.priority}): queued")
            self.queue.poke()
            return await self.detail(run)
        await self.supervisor.launch(run, Launch(
            run_id=run_id, command=command, env=env, container=container, workdir=workdir,
            save_signal=project.save_signal, gpus=gpus, nodes=nodes, priority=data.priority),
            prepared)
        fresh = await self.runs.get(run_id)
        assert fresh is not None
        return await self.detail(fresh)

    async def _snapshot_config(self, run: RunRow, training_yaml: Path) -> None:
        folder = self.settings.runs_dir / run.id
        folder.mkdir(parents=True, exist_ok=True)
        copy = (folder / f"config-{training_yaml.name}").resolve()
        shutil.copyfile(training_yaml, copy)
        await self.runs.add_artifacts(run, [Artifact(
            id=new_id("art"), name=training_yaml.name, type="config", path=str(copy),
            created_at=datetime.now(UTC), tags=["launch"], run_id=run.id)])

    async def set_priority(self, run: RunRow, priority: int) -> None:
        """Reorder a run still waiting for GPUs (in Slurm's queue: Slurm first)."""
        if self.executor.schedules and run.slurm_job_id and run.status == "pending":
            try:  # Slurm orders its queue: tell it first
                await self.executor.reprioritize(
                    ProcRef(run.id, None, 0, None, run.slurm_job_id), priority)
            except ExecutorUnreachable as exc:
                raise ExecutorUnavailable(f"cannot change the priority of Slurm job "
                                          f"{run.slurm_job_id} now: {exc}",
                                          details={"run_id": run.id}) from exc
            except ExecutorError as exc:  # e.g. a negative nice, for operators only
                raise Conflict(f"Slurm refused the priority of job {run.slurm_job_id}: "
                               f"{exc}", code="slurm_refused",
                               details={"run_id": run.id}) from exc
        if not await self.runs.set_priority(run.id, priority):
            raise Conflict(f"run {run.id} is {run.status} and no longer waits for GPUs: "
                           "its priority cannot change", code="run_not_queued",
                           details={"status": run.status})
        await self.recorder.log(run.id, f"priority set to {priority}")
        self.queue.poke()

    # -- stopping and resuming --------------------------------------------------------
    async def stop(self, project_ref: str, run_id: str, *, kind: StopKind,
                   grace: float, actor: str | None = None) -> RunDetail:
        run = await self.require_run(project_ref, run_id)
        await self.supervisor.stop(run, kind=kind, grace=grace, by=actor)
        fresh = await self.runs.get(run.id)
        assert fresh is not None
        return await self.detail(fresh)

    async def resume(self, project_ref: str, run_id: str, *, artifact_id: str | None,
                     start_command: str | None, env: dict[str, str] | None,
                     output_dir: str | None = None, gpus: int | None = None,
                     priority: int | None = None, actor: str | None = None) -> RunDetail:
        parent = await self.require_run(project_ref, run_id)
        if parent.status in ("pending", "running"):
            raise Conflict(f"run {parent.id} is still {parent.status}: pause or cancel it "
                           "first, or two trainers would write the same output directory",
                           code="run_live", details={"status": parent.status})
        if artifact_id is None:
            source = newest_checkpoint(await self.runs.artifacts(parent.id))
            if source is None:
                raise Conflict(f"run {parent.id} has no complete checkpoint to resume from",
                               code="no_checkpoint", details={"run": parent.id})
        else:
            found = await self.runs.artifact(artifact_id)
            if found is None:
                raise NotFound(f"no artifact {artifact_id!r}", code="artifact_not_found",
                               details={"artifact": artifact_id})
            source, project_id = found
            if project_id != parent.project_id or source.type != "checkpoint":
                raise Conflict(f"artifact {artifact_id!r} is not a complete checkpoint of this "
                               "project", code="artifact_not_resumable",
                               details={"artifact": artifact_id, "type": source.type})
        base_env = {k: v for k, v in parent.env.items()
                    if k not in ("TRAINYARD_RESUME_FROM", "TRAINYARD_SAVE_SIGNAL")}
        template = parent.command_template or parent.start_command
        base_env = {k: v for k, v in base_env.items() if k != "TRAINYARD_OUTPUT_DIR"}
        base_env = {k: v for k, v in base_env.items()
                    if k not in ("CUDA_VISIBLE_DEVICES", "NPROC_PER_NODE", "TRAINYARD_GPU_IDS")}
        data = RunCreate(start_command=start_command or template,
                         env={**base_env, **(env or {})}, output_dir=output_dir,
                         gpus=gpus if gpus is not None else parent.gpus,
                         priority=priority if priority is not None else parent.priority,
                         nodes=parent.nodes)
        # The trainer resumes where the checkpoint is: the parent's output directory.
        return await self.launch(parent.project_id, data, resume_from=source, parent=parent,
                                 default_output_dir=parent.output_dir, actor=actor)
