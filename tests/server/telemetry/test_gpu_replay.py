"""GPU sampling on readings recorded from a real H100 (tests/fixtures/nvml-h100): idle,
a real bash -> launcher -> worker training tree, and after it exited."""

from __future__ import annotations

import json
from pathlib import Path

from server.services.gpu_sampler import attribute
from server.telemetry.gpu import NvmlReader, NvmlUnavailable, ReplayReader

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "nvml-h100" / "nvml_samples.jsonl"


def recorded_tree() -> list[dict[str, object]]:
    trees = [json.loads(line) for line in FIXTURE.read_text().splitlines()
             if json.loads(line)["kind"] == "tree"]
    return max(trees, key=lambda t: len(t["procs"]))["procs"]  # type: ignore[no-any-return]


def test_replay_gives_the_real_device_idle_training_and_after() -> None:
    reader = ReplayReader(FIXTURE)
    reader.open()
    samples = [reader.read() for _ in range(69)]
    assert reader.driver == "580.159.04"
    device = samples[0].devices[0]
    assert device.name == "NVIDIA H100 80GB HBM3" and device.memory_total == 85520809984
    busy = [s.devices[0] for s in samples if s.devices[0].processes]
    assert busy and max(d.utilization or 0 for d in busy) > 90
    assert not samples[-1].devices[0].processes  # after the run exited


def test_the_worker_is_attributed_to_the_run_through_its_launcher() -> None:
    reader = ReplayReader(FIXTURE)
    reader.open()
    procs = recorded_tree()
    launcher = next(p for p in procs if "worker" not in str(p["args"]))
    worker = next(p for p in procs if "worker" in str(p["args"]))
    gpu_pids = []
    for _ in range(69):
        sample = reader.read()
        gpu_pids = [pid for d in sample.devices for pid, _ in d.processes] or gpu_pids
    assert gpu_pids == [worker["pid"]]  # NVML names the worker, not the launcher
    owners = attribute(gpu_pids, sample.ppid, {int(launcher["pid"]): "run_a"})  # type: ignore[call-overload]
    assert owners == {worker["pid"]: "run_a"}
    assert attribute(gpu_pids, sample.ppid, {999999: "run_b"}) == {}


def test_no_nvml_here_is_a_reason_not_a_crash() -> None:
    reader = NvmlReader()
    try:
        reader.open()
    except NvmlUnavailable as exc:
        assert "NVML" in str(exc) or "nvidia" in str(exc).lower()
    else:  # a machine with a GPU: the real reader must read it
        assert reader.read().devices
        reader.close()
