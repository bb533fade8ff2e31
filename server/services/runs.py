"""Run use cases: launch, read, page logs, cancel/pause, resume."""

from __future__ import annotations

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
from ..errors import Conflict, LaunchFailed, NotFound
from ..executors.base import Executor, ExecutorError, Launch
from ..redaction import redact_env
from ..storage.db import now_iso
from ..storage.projects import ProjectRepository
from ..storage.runs import RunRepository, RunRow
from .artifacts import newest_checkpoint
from .names import new_id
from .projects import require_project
from .recorder import TERMINAL, RunRecorder
from .streams import parse_event_id, run_stream
from .supervisor import Supervisor
from .workspace import resolve_resources

__all__ = ["RunService"]

DETAIL_LOG_LINES = 50
LOG_PAGE_CHARS = 4 << 20  # a log page holds about this much text at most (has_more says)


@dataclass
class RunService:
    settings: Settings
    projects: ProjectRepository
    runs: RunRepository
    executor: Executor
    supervisor: Supervisor
    recorder: RunRecorder

    # -- reading ----------------------------------------------------------------------
    async def require_run(self, project_ref: str, run_id: str) -> RunRow:
        project = await require_project(self.projects, project_ref)
        run = await self.runs.get(run_id)
        if run is None or run.project_id != project.id:
            raise NotFound(f"project {project_ref!r} has no run {run_id!r}",
                           code="run_not_found", details={"run": run_id})
        return run

    async def detail(self, run: RunRow) -> RunDetail:
        summary = run.summary()
        return RunDetail(
            **{f: getattr(summary, f) for f in summary.__struct_fields__},
            metrics={k: v for k, v in run.metrics.items() if isinstance(v, int | float)},
            artifacts=await self.runs.artifacts(run.id),
            logs=await self.runs.logs_tail(run.id, DETAIL_LOG_LINES),
            env=redact_env(run.env, self.settings.secret_env_patterns),
            container=run.container, workdir=run.workdir,
            kept_artifact_id=run.kept_artifact_id,
            progress_info=msgspec.convert(run.progress_info, ProgressInfo),
            gpu=await self._gpu(run),
        )

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
                     resume_from: Artifact | None = None,
                     parent: RunRow | None = None) -> RunDetail:
        project = await require_project(self.projects, project_ref)
        if project.status != "active":
            raise Conflict(f"project {project.name!r} is archived; unarchive it to start runs",
                           code="project_archived", details={"project": project.id})
        resolved = resolve_resources(project, root=self.settings.workspace_root,
                                     dataset_dirs=self.settings.dataset_dirs,
                                     yaml_dirs=self.settings.yaml_dirs)
        env = dict(data.env)
        command = data.start_command
        if resume_from is not None:
            env["TRAINYARD_RESUME_FROM"] = resume_from.path
            command = command.replace("{resume_from}", shlex.quote(resume_from.path))
        if project.save_signal:
            env.setdefault("TRAINYARD_SAVE_SIGNAL", project.save_signal)
        run_id = new_id("run")
        workdir = project.workdir or self.settings.workdir
        container = (project.container or self.settings.container
                     if self.executor.kind == "docker" else None)
        now = now_iso()
        run = RunRow(
            id=run_id, project_id=project.id, status="pending", start_command=command, env=env,
            executor=self.executor.kind, container=container, workdir=workdir, run_dir="",
            output_dir=None, pgid=None, wrapper_pid=None, exit_code=None, status_message=None,
            stop_request=None, progress=0.0, metrics={}, progress_info={}, gpu={},
            host_pid=None, jsonl_offset=0, command_template=data.start_command,
            resume_source_artifact_id=resume_from.id if resume_from else None,
            parent_run_id=parent.id if parent else None, kept_artifact_id=None,
            stdout_offset=0, stderr_offset=0, last_seq=0, created_at=now, updated_at=now,
            started_at=None, completed_at=None,
        )
        await self.runs.insert(run)
        self.recorder.project_of[run_id] = project.id
        await self.recorder.status(run_id, "pending", "Run created")
        await self.recorder.log(
            run_id, f"dataset {project.dataset_name!r} found at {resolved.dataset}; "
                    f"training YAML {project.training_yaml_name!r} at {resolved.training_yaml}")
        await self._snapshot_config(run, resolved.training_yaml)
        where = f"container {container!r}" if container else "this host"
        on_where = f"in {where}" if container else f"on {where}"
        try:
            started = await self.executor.start(Launch(
                run_id=run_id, command=command, env=env, container=container, workdir=workdir,
                save_signal=project.save_signal))
        except ExecutorError as exc:
            message = f"could not start the command {on_where}: {exc}"
            await self.recorder.status(run_id, "failed", message, level="ERROR",
                                       completed_at=now_iso())
            raise LaunchFailed(message, details={"run_id": run_id, "container": container}
                               ) from exc
        output_dir = project.output_dir or resolved.yaml_output_dir
        if output_dir:
            output_dir = str(Path(started.workdir, output_dir))
        await self.recorder.status(
            run_id, "running", f"started {on_where}, workdir {started.workdir}: {command} "
                               f"(process group {started.pgid})",
            run_dir=started.run_dir, workdir=started.workdir, output_dir=output_dir,
            pgid=started.pgid, wrapper_pid=started.wrapper_pid, host_pid=started.host_pid,
            started_at=now_iso())
        if not output_dir:
            await self.recorder.log(run_id, "the training YAML sets no output_dir: "
                                            "checkpoints will not be tracked", "WARNING")
        elif others := await self.runs.live_sharing_output(output_dir, run_id):
            await self.recorder.log(
                run_id, f"run(s) {', '.join(others)} also write to {output_dir}: their "
                        "checkpoints and this run's will be hard to tell apart", "WARNING")
        fresh = await self.runs.get(run_id)
        assert fresh is not None
        self.supervisor.follow(fresh)
        return await self.detail(fresh)

    async def _snapshot_config(self, run: RunRow, training_yaml: Path) -> None:
        folder = self.settings.runs_dir / run.id
        folder.mkdir(parents=True, exist_ok=True)
        copy = (folder / f"config-{training_yaml.name}").resolve()
        shutil.copyfile(training_yaml, copy)
        await self.runs.add_artifacts(run, [Artifact(
            id=new_id("art"), name=training_yaml.name, type="config", path=str(copy),
            created_at=datetime.now(UTC), tags=["launch"], run_id=run.id)])

    # -- stopping and resuming --------------------------------------------------------
    async def stop(self, project_ref: str, run_id: str, *, kind: str,
                   grace: float) -> RunDetail:
        run = await self.require_run(project_ref, run_id)
        project = await require_project(self.projects, run.project_id)
        await self.supervisor.stop(run, kind=kind, grace=grace, save_signal=project.save_signal)
        fresh = await self.runs.get(run.id)
        assert fresh is not None
        return await self.detail(fresh)

    async def resume(self, project_ref: str, run_id: str, *, artifact_id: str | None,
                     start_command: str | None, env: dict[str, str] | None) -> RunDetail:
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
        data = RunCreate(start_command=start_command or template,
                         env={**base_env, **(env or {})})
        return await self.launch(parent.project_id, data, resume_from=source, parent=parent)
