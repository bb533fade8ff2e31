"""Reading GPUs through NVML, and replaying recorded readings where there is no GPU.

Only the cheap reads run every sample (utilisation, memory, temperature, power,
compute processes: ~0.01-0.1 ms each on an H100); name, uuid and power limit are read
once. PCIe throughput blocks ~21 ms and process utilisation ~2 ms: never read here.
A call the device does not support is skipped from then on, not fatal.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["GpuReader", "NvmlReader", "NvmlUnavailable", "RawDevice", "RawSample",
           "ReplayReader", "host_ppid", "make_reader"]


class NvmlUnavailable(Exception):
    """No usable NVML here; ``str()`` says why."""


@dataclass(slots=True)
class RawDevice:
    index: int
    uuid: str
    name: str
    utilization: float | None = None
    memory_utilization: float | None = None
    memory_used: int | None = None
    memory_total: int | None = None
    temperature: float | None = None
    power_mw: float | None = None
    power_limit_mw: float | None = None
    processes: list[tuple[int, int | None]] = field(default_factory=list)  # (host pid, bytes)


@dataclass(slots=True)
class RawSample:
    devices: list[RawDevice]
    # The parent of a pid, for attribution. Live: /proc. Replay: the recorded tree.
    ppid: Callable[[int], int | None]


def host_ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


class GpuReader:
    driver: str | None = None

    def open(self) -> None:
        """Initialise; raise :class:`NvmlUnavailable` when there is nothing to read."""

    def read(self) -> RawSample:
        raise NotImplementedError

    def close(self) -> None:
        """Release the library."""


class NvmlReader(GpuReader):
    """The real thing. Every call blocks: the sampler runs it in a thread."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._handles: list[Any] = []
        self._static: list[dict[str, Any]] = []
        self._unsupported: set[str] = set()
        self._lock = threading.Lock()

    def open(self) -> None:
        try:
            import pynvml
        except ImportError as exc:
            raise NvmlUnavailable(f"nvidia-ml-py is not installed: {exc}") from exc
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            raise NvmlUnavailable(f"NVML could not start ({exc}): no NVIDIA driver on this "
                                  "host, or it is not visible to the server") from exc
        self._nvml = pynvml
        self.driver = _text(self._call("driver", pynvml.nvmlSystemGetDriverVersion))
        count = pynvml.nvmlDeviceGetCount()
        self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        self._static = [{
            "name": _text(self._call("name", pynvml.nvmlDeviceGetName, h)) or "GPU",
            "uuid": _text(self._call("uuid", pynvml.nvmlDeviceGetUUID, h)) or f"GPU-{i}",
            "power_limit": self._call("power_limit", pynvml.nvmlDeviceGetEnforcedPowerLimit, h),
            "memory_total": None,
        } for i, h in enumerate(self._handles)]

    def _call(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        if what in self._unsupported:
            return None
        try:
            return fn(*args)
        except self._nvml.NVMLError_NotSupported:
            self._unsupported.add(what)  # this device never will: stop asking
        except self._nvml.NVMLError:
            pass  # transient (NotFound while no process has samples, GPU lost, ...)
        return None

    def read(self) -> RawSample:
        nv = self._nvml
        devices = []
        with self._lock:
            for index, (handle, static) in enumerate(zip(self._handles, self._static,
                                                         strict=True)):
                util = self._call("utilization", nv.nvmlDeviceGetUtilizationRates, handle)
                memory = self._call("memory", nv.nvmlDeviceGetMemoryInfo, handle)
                temp = self._call("temperature", nv.nvmlDeviceGetTemperature, handle,
                                  nv.NVML_TEMPERATURE_GPU)
                power = self._call("power", nv.nvmlDeviceGetPowerUsage, handle)
                procs = self._call("processes", nv.nvmlDeviceGetComputeRunningProcesses,
                                   handle) or []
                devices.append(RawDevice(
                    index=index, uuid=static["uuid"], name=static["name"],
                    utilization=float(util.gpu) if util is not None else None,
                    memory_utilization=float(util.memory) if util is not None else None,
                    memory_used=int(memory.used) if memory is not None else None,
                    memory_total=int(memory.total) if memory is not None else None,
                    temperature=float(temp) if temp is not None else None,
                    power_mw=float(power) if power is not None else None,
                    power_limit_mw=_float(static["power_limit"]),
                    processes=[(int(p.pid), _int(p.usedGpuMemory)) for p in procs],
                ))
        return RawSample(devices, host_ppid)

    def close(self) -> None:
        if self._nvml is not None:
            self._nvml.nvmlShutdown()
            self._nvml = None


class ReplayReader(GpuReader):
    """Replays readings recorded from a real device (``shared/fixtures/nvml-h100``), in
    order and then again, with the recorded process tree for attribution."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._samples: list[tuple[RawSample, dict[int, int]]] = []
        self._cursor: Iterator[tuple[RawSample, dict[int, int]]] | None = None

    def open(self) -> None:
        try:
            lines = self.path.read_text().splitlines()
        except OSError as exc:
            raise NvmlUnavailable(f"cannot read the GPU replay file {self.path}: {exc}") from exc
        tree: dict[int, int] = {}
        by_time: dict[float, list[RawDevice]] = {}
        for line in lines:
            record = json.loads(line)
            if record["kind"] == "meta":
                self.driver = record.get("driver")
            elif record["kind"] == "tree":
                tree.update({p["pid"]: p["ppid"] for p in record["procs"]})
            elif record["kind"] == "sample":
                by_time.setdefault(record["t"], []).append(_replayed_device(record))
        self._samples = [(RawSample(devices, tree.get), tree) for _, devices in
                         sorted(by_time.items())]
        if not self._samples:
            raise NvmlUnavailable(f"the GPU replay file {self.path} holds no samples")

    def read(self) -> RawSample:
        if self._cursor is None:
            self._cursor = iter(self._samples)
        try:
            return next(self._cursor)[0]
        except StopIteration:
            self._cursor = iter(self._samples)
            return next(self._cursor)[0]


def _replayed_device(record: dict[str, Any]) -> RawDevice:
    reading = record["reading"]
    util = reading.get("utilization") or {}
    memory = reading.get("memory") or {}
    return RawDevice(
        index=record["index"], uuid=reading.get("uuid", ""), name=reading.get("name", "GPU"),
        utilization=_float(util.get("gpu")), memory_utilization=_float(util.get("memory")),
        memory_used=_int(memory.get("used")), memory_total=_int(memory.get("total")),
        temperature=_float(reading.get("temperature_gpu")),
        power_mw=_float(reading.get("power_mw")),
        power_limit_mw=_float(reading.get("power_limit_mw")),
        processes=[(int(p["pid"]), _int(p.get("usedGpuMemory")))
                   for p in reading.get("compute_procs") or []],
    )


def make_reader(source: str) -> GpuReader:
    """``nvml`` (default), ``none``, or ``replay:PATH`` (recorded readings, for tests/demos)."""
    if source.startswith("replay:"):
        return ReplayReader(Path(source.removeprefix("replay:")))
    if source == "none":
        return _Disabled()
    return NvmlReader()


class _Disabled(GpuReader):
    def open(self) -> None:
        raise NvmlUnavailable("GPU sampling is turned off (TRAINYARD_GPU_SOURCE=none)")


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value) if value is not None else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) else None
