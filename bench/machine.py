"""Facts about this machine and per-process CPU/RSS readings from ``/proc``.

CPU is read as utime+stime of the whole process (all its threads, aiosqlite's included),
so "% of one core" can exceed 100 when several threads run at once.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import time
from dataclasses import dataclass
from importlib import metadata

__all__ = ["CpuMeter", "MachineMeter", "cpu_seconds", "header_lines", "load_average",
           "machine_busy", "rss_mib"]

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def header_lines() -> list[str]:
    """A few lines saying what machine and software produced the table."""
    cores = len(os.sched_getaffinity(0))
    return [
        f"machine: nproc {cores}, CPU {_cpu_model()}, Python {platform.python_version()}",
        f"software: uvicorn {_version('uvicorn')} (uvloop {_version('uvloop')}, httptools "
        f"{_version('httptools')}), litestar {_version('litestar')}, SQLite "
        f"{sqlite3.sqlite_version}",
    ]


def _cpu_jiffies() -> list[int]:
    """user, nice, system, idle, iowait, irq, softirq, steal: all CPUs since boot."""
    with open("/proc/stat", encoding="utf-8") as handle:
        return [int(v) for v in handle.readline().split()[1:9]]


def machine_busy(seconds: float = 1.0) -> float:
    """% of all CPUs busy over the next ``seconds`` (anyone's work: before we start,
    that is other people's load, which makes every figure noisier)."""
    meter = MachineMeter().start()
    time.sleep(seconds)
    return meter.read()[0]


def load_average() -> str:
    with open("/proc/loadavg", encoding="utf-8") as handle:
        return " ".join(handle.read().split()[:3])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    # After the ")" field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    return (int(fields[11]) + int(fields[12])) / _TICK


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class CpuMeter:
    """CPU share of one process between :meth:`start` and :meth:`percent`."""

    pid: int
    _cpu: float = 0.0
    _wall: float = 0.0

    def start(self) -> CpuMeter:
        self._cpu, self._wall = cpu_seconds(self.pid), time.perf_counter()
        return self

    def percent(self) -> float:
        """% of one core used since :meth:`start`."""
        wall = time.perf_counter() - self._wall
        return 100.0 * (cpu_seconds(self.pid) - self._cpu) / wall if wall > 0 else 0.0


@dataclass
class MachineMeter:
    """All CPUs between :meth:`start` and :meth:`read`: how busy, and how much of the time
    the hypervisor gave to someone else (steal). On a small shared VM both explain a
    latency tail that the code under test does not."""

    _start: list[int] | None = None

    def start(self) -> MachineMeter:
        self._start = _cpu_jiffies()
        return self

    def read(self) -> tuple[float, float]:
        """(% busy, % stolen) of all CPUs since :meth:`start`."""
        assert self._start is not None, "start() first"
        delta = [b - a for a, b in zip(self._start, _cpu_jiffies(), strict=True)]
        total = max(1, sum(delta))
        return 100.0 * (total - delta[3] - delta[4]) / total, 100.0 * delta[7] / total
