"""The GPU queue: runs that ask for GPUs wait here, in order, until enough are free.

A GPU is free when no live run was given it, the sampler can read it, and no process
outside Trainyard uses more than ``busy_mib`` of its memory. Order: priority, then
arrival. A run that fits may start ahead of a blocked one for the first
``backfill_seconds`` of that one's wait; after that, GPUs are held for the head of the
queue, so a stream of small runs never starves a large one. One task places runs, so no
GPU is handed out twice; the queue itself is the runs' rows, so it survives a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from common.models import GpuDevice, GpuHolder, GpuSnapshot, Queue, QueuedRun

from ..storage.runs import RunRepository, RunRow
from .streaming.events import RingChannel
from .supervisor import Supervisor

__all__ = ["GpuQueue", "gpu_ranges"]

log = logging.getLogger("trainyard.queue")

MIB = 1 << 20


def gpu_ranges(indices: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``0-2, 5``."""
    parts: list[str] = []
    for index in sorted(indices):
        if parts and parts[-1].split("-")[-1] == str(index - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{index}"
        else:
            parts.append(str(index))
    return ", ".join(parts)


def _process_name(pid: int) -> str | None:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip() or None
    return None


def _gib(used: int | None) -> str:
    return f"{(used or 0) / (1 << 30):.1f} GiB"


class GpuQueue:
    def __init__(self, *, runs: RunRepository, supervisor: Supervisor, changes: RingChannel,
                 snapshot: Callable[[], GpuSnapshot], busy_mib: int,
                 backfill_seconds: float, interval: float = 1.0) -> None:
        self.runs = runs
        self.supervisor = supervisor
        self.changes = changes
        self.snapshot = snapshot
        self.busy_bytes = busy_mib * MIB
        self.backfill = backfill_seconds
        self.interval = interval  # a look this often, for GPUs that processes outside free
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._waiting: dict[str, tuple[int, str]] = {}
        self._encoded: bytes | None = None  # GET /queue, until the queue changes
        self._holders: tuple[object, ...] = ()

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="gpu-queue")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def poke(self) -> None:
        """Something changed (a run asked, ended, or changed priority): look now."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            try:
                await self.schedule()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("placing queued runs failed; trying again")

    # -- what the server has ----------------------------------------------------------
    def count(self) -> tuple[int, str | None]:
        """How many GPUs this server can hand out at most, and why none when none."""
        snapshot = self.snapshot()
        if not snapshot.available:
            return 0, snapshot.reason or "GPU sampling is not available"
        return len(snapshot.gpus), None

    def _foreign(self, device: GpuDevice) -> list[str]:
        return [f"pid {p.pid} ({_process_name(p.pid) or 'unknown'}, {_gib(p.used_memory)})"
                for p in device.processes
                if p.run_id is None and (p.used_memory or 0) > self.busy_bytes]

    # -- placing ----------------------------------------------------------------------
    async def schedule(self) -> None:
        queued = await self.runs.queued()
        snapshot = self.snapshot()
        devices = {d.index: d for d in snapshot.gpus} if snapshot.available else {}
        held = await self.runs.held_gpus()
        foreign = {i: found for i, d in devices.items() if (found := self._foreign(d))}
        # Who holds what: when it changes (a run ended, an outside process came or went),
        # GET /queue and its event change too, even with no run waiting.
        holders = (tuple(sorted(held.items())),
                   tuple(sorted((i, tuple(p.pid for p in devices[i].processes))
                                for i in foreign)))
        if not queued and not self._waiting and holders == self._holders:
            return
        free = [i for i in sorted(devices) if i not in held and i not in foreign]
        now = datetime.now(UTC)
        waiting: list[RunRow] = []
        head: RunRow | None = None
        placed = False
        for run in queued:
            if run.stop_request:
                continue  # being canceled: it never starts
            gpus = run.gpus or 0
            held_for_head = head is not None and self._waited(head, now) >= self.backfill
            if len(free) >= gpus and not held_for_head:
                take = free[:gpus]
                uuids = [devices[i].uuid for i in take]
                if await self.supervisor.dispatch(run, take, uuids):
                    free = free[gpus:]
                    held.update(dict.fromkeys(take, run.id))
                    placed = True
                    continue
            head = head or run
            waiting.append(run)
        reasons = {run.id: (position, self._reason(run, head, held, foreign, free, devices,
                                                   snapshot, now))
                   for position, run in enumerate(waiting, 1)}
        changed = [(run_id, *now_) for run_id, now_ in reasons.items()
                   if self._waiting.get(run_id) != now_]
        if changed:
            await self.runs.set_waiting(changed)
        if placed or reasons != self._waiting or holders != self._holders:
            self._waiting = reasons
            self._holders = holders
            self._encoded = msgspec.json.encode(await self.view())
            self.changes.publish("queue", self._encoded)

    def _waited(self, run: RunRow, now: datetime) -> float:
        return (now - datetime.fromisoformat(run.created_at)).total_seconds()

    def _reason(self, run: RunRow, head: RunRow | None, held: dict[int, str],
                foreign: dict[int, list[str]], free: list[int], devices: dict[int, GpuDevice],
                snapshot: GpuSnapshot, now: datetime) -> str:
        gpus = run.gpus or 0
        if not snapshot.available:
            return f"waiting for {gpus} GPUs: none can be read ({snapshot.reason})"
        parts: list[str] = []
        by_run: dict[str, list[int]] = {}
        for index, holder in held.items():
            if index in devices:
                by_run.setdefault(holder, []).append(index)
        if by_run:
            ranges = "; ".join(f"{gpu_ranges(ids)} held by {holder}"
                               for holder, ids in sorted(by_run.items(), key=lambda x: min(x[1])))
            parts.append(f"GPU {ranges}")
        for index, found in sorted(foreign.items()):
            parts.append(f"GPU {index} used by {', '.join(found)} outside Trainyard")
        if head is not None and head.id != run.id and len(free) >= gpus:
            parts.append(f"the free GPUs are held for {head.id}, first in line for "
                         f"{self._waited(head, now) / 60:.0f} min")
        detail = "; ".join(parts) or f"only {len(free)} free"
        return f"waiting for {gpus} GPU{'s' if gpus != 1 else ''}: {detail}"

    # -- reading ----------------------------------------------------------------------
    async def encoded(self) -> bytes:
        """``GET /queue`` as JSON, built once per change of the queue."""
        if self._encoded is None:
            self._encoded = msgspec.json.encode(await self.view())
        return self._encoded

    async def view(self) -> Queue:
        queued = [run for run in await self.runs.queued() if not run.stop_request]
        snapshot = self.snapshot()
        held = await self.runs.held_gpus()
        runs = [QueuedRun(run_id=run.id, project_id=run.project_id,
                          position=run.queue_position or position, priority=run.priority,
                          gpus=run.gpus or 0, waiting_since=datetime.fromisoformat(run.created_at),
                          reason=run.pending_reason)
                for position, run in enumerate(queued, 1)]
        gpus = [GpuHolder(index=d.index, uuid=d.uuid, run_id=held.get(d.index),
                          foreign=self._foreign(d))
                for d in (snapshot.gpus if snapshot.available else [])]
        return Queue(runs=runs, gpus=gpus)
