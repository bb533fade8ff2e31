"""The ``slurm`` executor: runs are Slurm batch jobs; Slurm places and queues them.

The batch script is ``wrapper.sh`` behind a short preamble (``slurm_job.sh``), written to
the run's folder on the shared filesystem and submitted with its arguments as sbatch's
script arguments: the run's files are written and followed exactly as on the other
executors. Options (never a shell string): ``--gres=gpu:N``, ``--nodes=N
--ntasks-per-node=1``, ``--nice`` for priority, ``--no-requeue`` (a requeued job would
find its run's claim taken and do nothing: a preempted job ends, and says so), then the
site's ``TRAINYARD_SLURM_ARGS``.

Signals go to every process carrying the run's marker, on every node of the job, through
``run_procs.sh`` in a step of the job's own allocation (``srun --jobid --overlap``):
``scancel --signal=SIG --full`` reaches only the batch script's process group, and the
wrapper starts the command in a session of its own (seen on Slurm 22.05 with
proctrack/linuxproc). The last resort, after SIGKILL, is a plain ``scancel``.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .base import (
    RUN_PROCS,
    WRAPPER,
    Executor,
    ExecutorError,
    Files,
    JobState,
    Launch,
    Prepared,
    ProcRef,
    Procs,
    parse_procs,
    trap_name,
)
from .host_files import HostFiles
from .slurm_client import SlurmClient
from .slurm_states import job_state

__all__ = ["SlurmExecutor", "node_command"]

PREAMBLE = (resources.files("server.executors") / "slurm_job.sh").read_text("utf-8")
NODE_SCRIPT = (resources.files("server.executors") / "slurm_node.sh").read_text("utf-8")
MASTER_PORT = 29500


def node_command(command: str, *, nodes: int, gpus: int | None, prefix: tuple[str, ...]
                 ) -> str:
    """The command the wrapper runs: as given on one node; with several, once per node
    through srun (one rank failing ends them all), with what torchrun and LLaMA-Factory's
    launcher read. Quoted with shlex: the command is an argument, never pasted."""
    if nodes <= 1:
        return shlex.join([*prefix, "bash", "-c", command]) if prefix else command
    return shlex.join(["srun", "--kill-on-bad-exit=1", f"--nodes={nodes}",
                       "--ntasks-per-node=1", *prefix, "bash", "-c", NODE_SCRIPT,
                       "trainyard-node", command, str(gpus or 1), str(MASTER_PORT)])


@dataclass
class SlurmExecutor(Executor):
    run_root: Path = Path("/tmp/trainyard/runs")
    workspace_root: Path = Path("/")
    partition: str | None = None
    account: str | None = None
    extra_args: tuple[str, ...] = ()
    prefix: tuple[str, ...] = ()
    client: SlurmClient = field(default_factory=SlurmClient)
    kind: str = field(init=False, default="slurm")
    schedules: bool = field(init=False, default=True)
    host: str = field(init=False, default_factory=lambda: socket.gethostname().split(".")[0])

    async def prepare(self, launch: Launch) -> Prepared:
        await self.client.ping()  # SlurmUnreachable: the launch is refused, nothing stored
        return Prepared(run_dir=str((self.run_root / launch.run_id).resolve()),
                        workdir=str((self.workspace_root / launch.workdir).resolve()))

    def options(self, launch: Launch, run_dir: str) -> list[str]:
        options = [f"--job-name=trainyard-{launch.run_id}", f"--output={run_dir}/slurm.out",
                   "--open-mode=append", "--no-requeue", "--export=ALL",
                   f"--nodes={launch.nodes}", "--ntasks-per-node=1"]
        if launch.gpus:
            options.append(f"--gres=gpu:{launch.gpus}")
        if launch.priority:
            options.append(f"--nice={-launch.priority}")  # see reprioritize
        if self.partition:
            options.append(f"--partition={self.partition}")
        if self.account:
            options.append(f"--account={self.account}")
        return [*options, *self.extra_args]

    async def submit(self, launch: Launch, prepared: Prepared) -> str:
        script = f"{prepared.run_dir}/job.sh"
        await asyncio.to_thread(_write_script, prepared.run_dir, script, PREAMBLE + WRAPPER)
        command = node_command(launch.command, nodes=launch.nodes, gpus=launch.gpus,
                               prefix=self.prefix)
        return await self.client.submit(
            self.options(launch, prepared.run_dir), script,
            [prepared.run_dir, prepared.workdir, command, trap_name(launch.save_signal)],
            env=launch.run_env)

    async def spawn(self, launch: Launch, prepared: Prepared) -> int | None:
        raise ExecutorError("Slurm runs are submitted, not spawned")

    async def job(self, ref: ProcRef, *, stopping: bool = False) -> JobState:
        if not ref.job_id:
            raise ExecutorError(f"run {ref.run_id} has no Slurm job")
        found = await self.client.job(ref.job_id)
        jobs = (await self.client.jobs()).values()
        return job_state(found, jobs, self.host, stopping=stopping)

    async def procs(self, ref: ProcRef, signum: int = 0) -> Procs:
        """While Slurm says the job runs (its batch shell, the wrapper, is alive), count
        and signal the run's processes on its nodes; once it says the job ended, none."""
        state = await self.job(ref, stopping=signum != 0)
        if state.phase != "started" or not ref.job_id:
            return Procs("gone", 0)
        if not signum:
            return Procs("alive", 0)
        out = await self.client.checked([
            "srun", f"--jobid={ref.job_id}", "--overlap", "--gres=none",
            f"--nodes={state.node_count}", "--ntasks-per-node=1", "--quiet",
            "bash", "-c", RUN_PROCS, "run-procs", ref.run_id, str(int(signum)),
            str(ref.wrapper_pid), ref.identity or ""])
        others = sum(parse_procs(line.encode()).others for line in out.splitlines()
                     if line.strip())
        if signum == signal.SIGKILL:
            await self.client.cancel(ref.job_id)  # and Slurm ends whatever is left
        return Procs("alive", others)

    async def reprioritize(self, ref: ProcRef, priority: int) -> None:
        if ref.job_id:
            await self.client.checked(["scontrol", "update", f"jobid={ref.job_id}",
                                       f"nice={-priority}"])

    async def withdraw(self, ref: ProcRef) -> None:
        if ref.job_id:
            await self.client.cancel(ref.job_id)

    def files(self, container: str | None) -> Files:
        return HostFiles()


def _write_script(run_dir: str, path: str, text: str) -> None:
    os.makedirs(run_dir, mode=0o700, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o700)
