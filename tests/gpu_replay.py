"""Replay files of an 8-GPU server, built from readings recorded on a real H100
(tests/fixtures/nvml-h100): each idle reading becomes eight devices, and a process outside
Trainyard can be put on one of them."""

from __future__ import annotations

import json
from pathlib import Path

RECORDED = Path(__file__).resolve().parent / "fixtures" / "nvml-h100" / "nvml_samples.jsonl"
FOREIGN_PID = 4242
FOREIGN_BYTES = int(20.1 * (1 << 30))


def eight_gpus(path: Path, *, foreign_on: int | None = None,
               planted: tuple[int, int, int] | None = None) -> Path:
    """Write the replay file to ``path`` and return it. ``planted``: (GPU index, pid, its
    parent pid), a process on that GPU whose parent is a real process of this machine (a
    run's wrapper), so the sampler attributes it to that run."""
    records = [json.loads(line) for line in RECORDED.read_text().splitlines()]
    out = [next(r for r in records if r["kind"] == "meta") | {"count": 8}]
    for record in records:
        if record["kind"] != "sample" or record["phase"] == "training":
            continue  # the recorded trainer's pid is no process of this machine
        for index in range(8):
            reading = dict(record["reading"])
            reading["uuid"] = f"{reading['uuid'][:-2]}{index:02d}"
            reading["compute_procs"] = []
            if index == foreign_on:
                reading["compute_procs"] = [{"pid": FOREIGN_PID,
                                             "usedGpuMemory": FOREIGN_BYTES}]
            if planted and index == planted[0]:
                reading["compute_procs"] = [{"pid": planted[1], "usedGpuMemory": 1 << 30}]
            out.append(record | {"index": index, "reading": reading})
    if planted:
        out.append({"kind": "tree", "t": 0, "procs": [{"pid": planted[1], "ppid": planted[2]}]})
    path.write_text("".join(json.dumps(r) + "\n" for r in out))
    return path
