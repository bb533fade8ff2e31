"""The one place that records a run's artifacts: what its output directory holds that the
run wrote, and the exact metrics its newest checkpoint's trainer state gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from common.models import Artifact

from ..executors.base import Executor
from ..storage.runs import RunRepository, RunRow
from .artifacts import scan_output_dir
from .intake.run_telemetry import points_from_trainer_state
from .names import new_id
from .recorder import RunRecorder

__all__ = ["RunArtifacts"]


@dataclass
class RunArtifacts:
    runs: RunRepository
    recorder: RunRecorder
    executor: Executor

    async def scan(self, run: RunRow) -> list[Artifact]:
        """Record the artifacts now in the run's output directory; return all of them.

        Only what appeared after the run was created is its own: trainers reuse an output
        directory across resumes, and what predates this run belongs to an earlier one
        (one live run per output directory makes the rest unambiguous)."""
        if run.output_dir:
            files = self.executor.files(run.container)
            since = datetime.fromisoformat(run.created_at)
            found = [f for f in await scan_output_dir(files, run.output_dir)
                     if f.created_at >= since]
            new = await self.runs.add_artifacts(run, [
                Artifact(id=new_id("ckpt" if f.type == "checkpoint" else "art"), name=f.name,
                         type=f.type, path=f.path, step=f.step, created_at=f.created_at,
                         tags=[], run_id=run.id)
                for f in found
            ])
            if new:
                await self.recorder.record(run.id, events=[("artifact", a) for a in new])
                await self._exact_metrics(run, [a for a in new if a.type == "checkpoint"])
        return await self.runs.artifacts(run.id)

    async def _exact_metrics(self, run: RunRow, checkpoints: list[Artifact]) -> None:
        """A dict line carries no step, so it was stored at the step the bar showed; the
        newest checkpoint's trainer_state.json says exactly, and replaces the guesses."""
        newest = max(checkpoints, key=lambda a: a.step or 0, default=None)
        if newest is None or newest.step is None:
            return
        files = self.executor.files(run.container)
        raw = await files.read(f"{newest.path}/trainer_state.json", 0, 16 << 20)
        points, _ = points_from_trainer_state(raw or b"")
        if points:
            keys = sorted({key for key, _, _ in points})
            await self.runs.replace_metric_points(run.id, newest.step, keys, points)
