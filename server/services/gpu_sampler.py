"""The GPU sampler: one task owned by the app lifespan, reading NVML in a thread.

Each sample becomes the ``GET /gpus`` snapshot and a ``gpus`` event, and each GPU process
is mapped to the run whose process tree holds it: NVML reports host PIDs, so we walk up
their parents until we meet a run's wrapper (its host PID, recorded at launch).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import msgspec

from common.models import GpuDevice, GpuProcess, GpuSnapshot, RunGpu

from ..storage.db import now_iso
from ..storage.runs import RunRepository
from ..telemetry.gpu import GpuReader, NvmlUnavailable, RawSample
from .recorder import RunRecorder
from .streaming.events import RingChannel, encode_frame

__all__ = ["GpuSampler", "attribute"]

log = logging.getLogger("trainyard.gpu")

HISTORY_EVERY = 10  # samples between stored history points of a run
MAX_DEPTH = 64


def attribute(pids: list[int], ppid: Callable[[int], int | None],
              roots: dict[int, str]) -> dict[int, str]:
    """Map each pid to the run whose root process is it or one of its ancestors."""
    owners: dict[int, str] = {}
    for pid in pids:
        current: int | None = pid
        for _ in range(MAX_DEPTH):
            if current is None or current <= 1:
                break
            if current in roots:
                owners[pid] = roots[current]
                break
            current = ppid(current)
    return owners


class GpuSampler:
    def __init__(self, *, reader: GpuReader, interval: float, runs: RunRepository,
                 recorder: RunRecorder, channel: RingChannel,
                 live_roots: Callable[[], dict[int, tuple[str, str]]]) -> None:
        self.reader = reader
        self.interval = interval
        self.runs = runs
        self.recorder = recorder
        self.channel = channel
        self.live_roots = live_roots  # host pid -> (run id, project id)
        self.snapshot = GpuSnapshot(available=False, reason="GPU sampling has not started")
        self._task: asyncio.Task[None] | None = None
        self._run_state: dict[str, RunGpu] = {}
        self._given: dict[str, list[int] | None] = {}  # run -> GPUs the queue gave it
        self._samples = 0

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self.reader.open)
        except NvmlUnavailable as exc:
            self.snapshot = GpuSnapshot(available=False, reason=str(exc))
            log.info("GPU telemetry off: %s", exc)
            return
        self._task = asyncio.create_task(self._loop(), name="gpu-sampler")

    @property
    def off_reason(self) -> str | None:
        """Why there is no GPU telemetry (NVML could not start), once started."""
        return self.snapshot.reason if self._task is None else None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            await asyncio.to_thread(self.reader.close)

    def snapshot_frame(self) -> bytes:
        return encode_frame("gpus", None, msgspec.json.encode(self.snapshot))

    async def _loop(self) -> None:
        while True:
            try:
                raw = await asyncio.to_thread(self.reader.read)
                await self._publish(raw)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("GPU sample failed; trying again next interval")
            await asyncio.sleep(self.interval)

    async def _publish(self, raw: RawSample) -> None:
        roots = self.live_roots()
        pids = [pid for device in raw.devices for pid, _ in device.processes]
        owners = attribute(pids, raw.ppid, {pid: run for pid, (run, _) in roots.items()})
        projects = {run: project for run, project in roots.values()}
        now = now_iso()
        devices = []
        for d in raw.devices:
            procs = [GpuProcess(pid=pid, used_memory=used, run_id=owners.get(pid),
                                project_id=projects.get(owners.get(pid, "")))
                     for pid, used in d.processes]
            devices.append(GpuDevice(
                index=d.index, uuid=d.uuid, name=d.name, utilization=d.utilization,
                memory_utilization=d.memory_utilization, memory_used=d.memory_used,
                memory_total=d.memory_total, temperature=d.temperature,
                power_watts=d.power_mw / 1000 if d.power_mw is not None else None,
                power_limit_watts=d.power_limit_mw / 1000 if d.power_limit_mw else None,
                processes=procs))
        self.snapshot = GpuSnapshot(available=True, sampled_at=now, driver=self.reader.driver,
                                    gpus=devices)
        self.channel.publish("gpus", msgspec.json.encode(self.snapshot))
        self._samples += 1
        await self._per_run(devices, now)

    async def _per_run(self, devices: list[GpuDevice], now: str) -> None:
        usage: dict[str, RunGpu] = {}
        for device in devices:
            for proc in device.processes:
                if proc.run_id is None:
                    continue
                gpu = usage.setdefault(proc.run_id, RunGpu(sampled_at=now))
                if device.index not in gpu.gpus:
                    gpu.gpus.append(device.index)
                gpu.pids.append(proc.pid)
                gpu.memory_used += proc.used_memory or 0
        history: list[tuple[str, str, int, float | None, int]] = []
        for run_id, gpu in usage.items():
            utils = [d.utilization for d in devices
                     if d.index in gpu.gpus and d.utilization is not None]
            gpu.utilization = sum(utils) / len(utils) if utils else None
            previous = self._run_state.get(run_id)
            if previous is None:
                stored = await self.runs.get(run_id)
                peak = int(stored.gpu.get("peak_memory_used", 0)) if stored else 0
                self._given[run_id] = stored.gpu_ids if stored else None
            else:
                peak = previous.peak_memory_used
            await self._flag_strays(run_id, gpu.gpus)
            gpu.peak_memory_used = max(peak, gpu.memory_used)
            self._run_state[run_id] = gpu
            await self.recorder.record(run_id, events=[("gpu", gpu)],
                                       fields={"gpu": msgspec.structs.asdict(gpu)})
            if self._samples % HISTORY_EVERY == 1:
                history.extend((run_id, now, index, gpu.utilization, gpu.memory_used)
                               for index in gpu.gpus)
        if history:
            await self.runs.add_gpu_history(history)
        for gone in set(self._run_state) - set(usage):
            del self._run_state[gone]
            self._given.pop(gone, None)

    async def _flag_strays(self, run_id: str, using: list[int]) -> None:
        """Say once in the run's log when it uses a GPU the queue did not give it."""
        given = self._given.get(run_id)
        strays = sorted(set(using) - set(given)) if given is not None else []
        if strays:
            self._given[run_id] = None  # said once
            await self.recorder.log(
                run_id, f"uses GPU {', '.join(map(str, strays))}, which it was not given "
                        f"(given: {', '.join(map(str, given or [])) or 'none'}); other runs "
                        "may be placed there", "WARNING")
