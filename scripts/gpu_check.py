"""Checks Trainyard's GPU sampler against a real NVIDIA GPU (run on a GPU machine).

1. NvmlReader reads every GPU idle; unsupported calls are skipped, not fatal.
2. A real PyTorch process tree (bash -> launcher -> worker, like torchrun) trains on
   GPU 0; the real GpuSampler (real SQLite storage, a run whose root is that bash)
   samples at 1 s and must attribute the worker's GPU memory to the run.
3. The sampler's CPU cost at a 1 s interval, as a share of one core.

usage: python3 scripts/gpu_check.py [OUT_DIR]   (prints a JSON report; exit 1 on failure)
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.services.gpu_sampler import GpuSampler
from server.services.recorder import RunRecorder
from server.services.streaming.events import RingChannel
from server.services.streaming.fanout import RunHub
from server.storage.db import Database, now_iso
from server.storage.runs import RunRepository
from server.telemetry.gpu import NvmlReader

WORKER = r"""
import subprocess, sys, time, torch
if sys.argv[1:2] == ["worker"]:
    m = torch.nn.Sequential(*[torch.nn.Linear(4096, 4096) for _ in range(8)]).cuda()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
    x = torch.randn(512, 4096, device="cuda")
    end = time.time() + float(sys.argv[2])
    while time.time() < end:
        loss = m(x).pow(2).mean(); opt.zero_grad(); loss.backward(); opt.step()
    sys.exit(0)
sys.exit(subprocess.call([sys.executable, __file__, "worker", sys.argv[1]]))
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(out: Path) -> int:
    report: dict[str, object] = {}
    reader = NvmlReader()
    reader.open()
    idle = reader.read()
    report["driver"] = reader.driver
    report["idle"] = [{"index": d.index, "name": d.name, "util": d.utilization,
                       "mem_used": d.memory_used, "temp": d.temperature, "power_mw": d.power_mw,
                       "procs": d.processes} for d in idle.devices]

    tmp = Path(tempfile.mkdtemp())
    db = Database(tmp / "t.db")
    await db.open()
    runs = RunRepository(db)
    script = tmp / "train_gpu.py"
    script.write_text(WORKER)
    proc = subprocess.Popen(["bash", "-c", f"python3 {script} 25; true"],
                            start_new_session=True)
    now = now_iso()
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO projects (id, name, objective, task_type, owner, "
                         "dataset_name, training_yaml_name, created_at, updated_at) VALUES "
                         "('proj_1', 'p', 'o', 't', 'me', 'd', 'y', ?, ?)", (now, now))
        await tx.execute("INSERT INTO runs (id, project_id, status, start_command, executor, "
                         "workdir, run_dir, host_pid, created_at, updated_at) VALUES "
                         "('run_1', 'proj_1', 'running', 'x', 'local', '/', '/', ?, ?, ?)",
                         (proc.pid, now, now))
    sampler = GpuSampler(reader=reader, interval=1.0, runs=runs,
                         recorder=RunRecorder(runs, RunHub(), RingChannel()),
                         channel=RingChannel(), live_roots=lambda: {proc.pid: ("run_1", "proj_1")})
    cpu0, wall0 = cpu_seconds(), time.monotonic()
    await sampler.start()
    seen = []
    for _ in range(20):
        await asyncio.sleep(1.0)
        snap = sampler.snapshot
        seen.append({"t": snap.sampled_at, "gpus": [
            {"util": g.utilization, "mem": g.memory_used,
             "procs": [(p.pid, p.used_memory, p.run_id) for p in g.processes]}
            for g in snap.gpus]})
    cpu1, wall1 = cpu_seconds(), time.monotonic()
    await sampler.close()
    proc.wait(60)
    row = await runs.get("run_1")
    await db.close()
    report["samples"] = seen
    report["run_gpu"] = row.gpu if row else None
    report["sampler_cpu_percent_of_one_core"] = round(100 * (cpu1 - cpu0) / (wall1 - wall0), 3)
    attributed = [p for s in seen for g in s["gpus"] for p in g["procs"] if p[2] == "run_1"]
    ok = bool(attributed) and bool(row and row.gpu.get("peak_memory_used", 0) > 0)
    report["ok"] = ok
    text = json.dumps(report, indent=1, default=str)
    (out / "gpu_check.json").write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OUT", "."))
    target.mkdir(parents=True, exist_ok=True)
    raise SystemExit(asyncio.run(main(target)))
