"""Slurm's client commands, run as argv lists (no shell), off the event loop, with timeouts.

``squeue --json`` answers for every job at once, so one call, shared by every caller for
:data:`FRESH` seconds, tells the state of all of Trainyard's jobs however many there are
(22.05 ignores squeue's filters with ``--json``: we filter here). A job Slurm no longer
lists is looked up with ``scontrol show job -o``. ``sacct`` is not used: accounting is
often off (it is on the test cluster), and squeue keeps ended jobs for ``MinJobAge``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from .base import ExecutorError, ExecutorUnreachable

__all__ = ["SlurmClient", "SlurmJob", "SlurmUnreachable"]

TIMEOUT = 20.0  # seconds a client command may take (Slurm retries a lost controller itself)
FRESH = 0.25  # seconds one squeue answer serves every caller


class SlurmUnreachable(ExecutorUnreachable):
    """The Slurm controller does not answer; ``str()`` is Slurm's own message."""


@dataclass(frozen=True, slots=True)
class SlurmJob:
    job_id: str
    state: str  # PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ...
    reason: str  # Slurm's reason code: Resources, Priority, PartitionNodeLimit, None, ...
    partition: str
    priority: int
    submit_time: int
    nodes: str  # the node list ('' while pending)
    batch_host: str
    gres: str  # per node, e.g. 'gres:gpu:2'
    node_count: int
    exit_code: int | None


class _Jobs(msgspec.Struct):
    jobs: list[dict[str, Any]] = msgspec.field(default_factory=list)
    errors: list[dict[str, Any]] = msgspec.field(default_factory=list)


def _job(raw: Mapping[str, Any]) -> SlurmJob:
    exit_code = raw.get("exit_code")
    return SlurmJob(
        job_id=str(raw.get("job_id", "")), state=str(raw.get("job_state", "")).upper(),
        reason=str(raw.get("state_reason") or "None"), partition=str(raw.get("partition", "")),
        priority=int(raw.get("priority") or 0), submit_time=int(raw.get("submit_time") or 0),
        nodes=str(raw.get("nodes") or ""), batch_host=str(raw.get("batch_host") or ""),
        gres=str(raw.get("tres_per_node") or ""), node_count=int(raw.get("node_count") or 0),
        exit_code=exit_code if isinstance(exit_code, int) else None)


def parse_show_job(line: str) -> SlurmJob:
    """One line of ``scontrol show job -o``: ``Key=Value`` pairs (values have no spaces,
    except the last few, which we do not read)."""
    fields: dict[str, str] = {}
    for part in line.split(" "):
        key, sep, value = part.partition("=")
        if sep and key not in fields:
            fields[key] = value
    code = fields.get("ExitCode", "").split(":")[0]
    return SlurmJob(
        job_id=fields.get("JobId", ""), state=fields.get("JobState", "").upper(),
        reason=fields.get("Reason", "None"), partition=fields.get("Partition", ""),
        priority=int(fields.get("Priority", "0") or 0), submit_time=0,
        nodes="" if fields.get("NodeList") in (None, "(null)") else fields["NodeList"],
        batch_host=fields.get("BatchHost", ""), gres=fields.get("TresPerNode", ""),
        node_count=int((fields.get("NumNodes") or "0").split("-")[0] or 0),
        exit_code=int(code) if code.isdigit() else None)


def _unreachable(text: str) -> bool:
    words = text.lower()
    return any(w in words for w in ("unable to contact slurm controller", "connect failure",
                                    "connection refused", "socket timed out",
                                    "zero bytes were transmitted", "is down"))


class SlurmClient:
    def __init__(self, env: Mapping[str, str] | None = None, timeout: float = TIMEOUT) -> None:
        # The server's own settings (its token first of all) are not the jobs' business.
        self.env = {k: v for k, v in (env or os.environ).items()
                    if not k.startswith("TRAINYARD_")}
        self.timeout = timeout
        self._jobs: dict[str, SlurmJob] = {}
        self._read_at = -1e9
        self._reading: asyncio.Lock | None = None

    async def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
                  ) -> tuple[int, str, str]:
        """Exit code, stdout and stderr of a client command; :class:`SlurmUnreachable`
        when it does not come back in time."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=dict(env or self.env))
        except OSError as exc:
            raise ExecutorError(f"cannot run {argv[0]} (are Slurm's client commands "
                                f"installed?): {exc}") from exc
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise SlurmUnreachable(f"{argv[0]} did not answer within {self.timeout:g} s "
                                   "(is slurmctld up?)") from None
        return (proc.returncode or 0, out.decode("utf-8", "replace"),
                err.decode("utf-8", "replace").strip())

    async def checked(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
                      ) -> str:
        code, out, err = await self.run(argv, env=env)
        if code != 0:
            message = f"{argv[0]}: {err or out.strip() or f'exit code {code}'}"
            raise (SlurmUnreachable if _unreachable(err) else ExecutorError)(message)
        return out

    async def ping(self) -> None:
        """Whether the controller answers; :class:`SlurmUnreachable` with its words if not."""
        code, out, err = await self.run(["scontrol", "ping"])
        if code != 0 or " is UP" not in out:
            lines = [ln for ln in (out + "\n" + err).splitlines()
                     if ln.strip() and not ln.startswith("*")]
            raise SlurmUnreachable("; ".join(lines) or "scontrol ping failed")

    async def submit(self, options: Sequence[str], script: str, args: Sequence[str],
                     env: Mapping[str, str]) -> str:
        out = await self.checked(["sbatch", "--parsable", *options, script, *args],
                                 env={**self.env, **env})
        job_id = out.strip().split(";")[0]
        if not job_id.isdigit():
            raise ExecutorError(f"sbatch answered {out.strip()[:200]!r}, not a job id")
        self._read_at = -1e9  # the next look sees the new job
        return job_id

    async def jobs(self) -> dict[str, SlurmJob]:
        """Every job the controller lists, from one ``squeue --json`` shared for
        :data:`FRESH` seconds by every caller."""
        if self._reading is None:
            self._reading = asyncio.Lock()
        async with self._reading:
            if time.monotonic() - self._read_at < FRESH:
                return self._jobs
            code, out, err = await self.run(["squeue", "--json"])
            try:
                answer = msgspec.json.decode(out, type=_Jobs) if out.strip() else _Jobs()
            except msgspec.DecodeError as exc:
                raise ExecutorError(f"squeue --json answered what is not JSON: {exc}") from exc
            if code != 0 or answer.errors:
                said = "; ".join(str(e.get("description") or e.get("error") or e)
                                 for e in answer.errors)
                raise SlurmUnreachable(f"squeue: {err or said or f'exit code {code}'}")
            self._jobs = {job.job_id: job for job in map(_job, answer.jobs)}
            self._read_at = time.monotonic()
            return self._jobs

    async def job(self, job_id: str) -> SlurmJob | None:
        """The job as the controller knows it; None when it has forgotten it."""
        if (found := (await self.jobs()).get(job_id)) is not None:
            return found
        code, out, err = await self.run(["scontrol", "show", "job", "-o", job_id])
        if code != 0:
            if "invalid job id" in (err + out).lower():
                return None
            raise (SlurmUnreachable if _unreachable(err) else ExecutorError)(
                f"scontrol show job {job_id}: {err or out.strip()}")
        return parse_show_job(out.strip().splitlines()[0]) if out.strip() else None

    async def cancel(self, job_id: str) -> None:
        """``scancel`` the job: Slurm signals and then kills whatever of it is left."""
        await self.checked(["scancel", job_id])
        self._read_at = -1e9
