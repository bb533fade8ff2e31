"""What Slurm's job states and pending reasons mean for a run, in plain words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from .base import JobState
from .slurm_client import SlurmJob

__all__ = ["job_state", "queue_position", "waiting_words"]

WAITING = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"})
STARTED = frozenset({"RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "STOPPED",
                     "SIGNALING", "STAGE_OUT", "RESIZING"})
FAILED = {
    "FAILED": "the job's batch script failed",
    "TIMEOUT": "the job reached its time limit",
    "OUT_OF_MEMORY": "the job ran out of memory",
    "NODE_FAIL": "a node of the job failed",
    "BOOT_FAIL": "a node of the job failed to boot",
    "DEADLINE": "the job reached its deadline",
    "PREEMPTED": "the job was preempted by another (resume it from its newest checkpoint)",
}

# Slurm's reason codes (squeue's %r), in words; others are shown as Slurm says them.
REASONS = {
    "Resources": "waiting for resources",
    "Priority": "held by priority: jobs ahead of it in the partition start first",
    "PartitionNodeLimit": "asks for more nodes than the partition allows or has",
    "PartitionConfig": "asks for more than the partition is configured to give",
    "PartitionDown": "its partition is down",
    "PartitionInactive": "its partition is inactive",
    "PartitionTimeLimit": "asks for more time than the partition allows",
    "ReqNodeNotAvail": "a node it needs is not available",
    "NodeDown": "a node it needs is down",
    "BadConstraints": "its constraints cannot be met",
    "Dependency": "waiting for the jobs it depends on",
    "DependencyNeverSatisfied": "the jobs it depends on will never let it run",
    "BeginTime": "waiting for its start time",
    "JobHeldUser": "held by its user (scontrol release)",
    "JobHeldAdmin": "held by an administrator",
    "Reservation": "waiting for its reservation",
    "QOSMaxGRESPerUser": "the QOS allows this user no more GPUs now",
    "AssocGrpGRES": "the account's GPU limit is reached",
    "AssocGrpCpuLimit": "the account's CPU limit is reached",
    "QOSGrpGRES": "the QOS's GPU limit is reached",
    "launch failed requeued held": "its launch failed; Slurm requeued and held it",
    "None": "waiting to be scheduled",
}


def _gpus(gres: str) -> int | None:
    found = re.search(r"gpu(?::[^:,]+)?:(\d+)", gres)
    return int(found.group(1)) if found else None


def waiting_words(job: SlurmJob) -> str:
    """Why Slurm holds the job, in plain words, with Slurm's own code after."""
    words = REASONS.get(job.reason, job.reason)
    if job.reason == "Resources":
        gpus = _gpus(job.gres)
        asked = [f"{gpus} GPU{'s' if gpus != 1 else ''}" if gpus else None,
                 f"{job.node_count} nodes" if job.node_count > 1 else None]
        if any(asked):
            words = f"{words}: {', '.join(a for a in asked if a)}"
    elif job.reason in ("PartitionNodeLimit", "PartitionConfig") and job.node_count > 1:
        words = f"{words} ({job.node_count} nodes)"
    return f"{words} [Slurm: {job.state} {job.reason}]"


def queue_position(job: SlurmJob, jobs: Iterable[SlurmJob]) -> int:
    """1-based place among the partition's pending jobs, in Slurm's priority order."""
    pending = sorted((j for j in jobs if j.state == "PENDING" and j.partition == job.partition),
                     key=lambda j: (-j.priority, j.submit_time, int(j.job_id or 0)))
    return next((i for i, j in enumerate(pending, 1) if j.job_id == job.job_id), len(pending))


def job_state(job: SlurmJob | None, jobs: Iterable[SlurmJob], host: str,
              stopping: bool = False) -> JobState:
    """Our view of a Slurm job. ``None`` (Slurm has forgotten it) counts as ended."""
    if job is None:
        return JobState("ended", "UNKNOWN", verdict=None)
    here = bool(job.nodes) and job.nodes.split(",")[0] == host
    nodes = job.nodes or None
    if job.state in WAITING:
        return JobState("waiting", job.state, waiting_words(job), queue_position(job, jobs))
    if job.state in STARTED:
        return JobState("started", job.state, nodes=nodes, here=here,
                        node_count=max(1, job.node_count))
    verdict: tuple[Literal["failed", "canceled"], str] | None = None
    if job.state == "CANCELLED" and not stopping:
        verdict = ("canceled", f"canceled outside Trainyard: Slurm job {job.job_id} was "
                               "cancelled (scancel or an administrator)")
    elif job.state in FAILED:
        verdict = ("failed", f"failed: Slurm job {job.job_id} {job.state}: "
                             f"{FAILED[job.state]}")
    return JobState("ended", job.state, nodes=nodes, here=here, verdict=verdict)
