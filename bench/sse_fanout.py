"""SSE fan-out rows: one run's log lines streamed to 1, 100 and 1,000 subscribers.

For each subscriber count, the reference first, then trainyard, on the same loopback,
read by the same client (:mod:`bench.sse_client`: one or two processes that follow the
HTTP chunking and count lines by sequence number, so reading costs next to nothing):

* Reference: :mod:`bench.sse_bare` on the same uvicorn with the same options. Its
  producer makes batches of :data:`REF_BATCH` log lines (the JSON trainyard sends, each
  message stamped with the time it was made), encodes each ONCE and hands the same bytes
  to every client, as fast as the clients' sockets take them: the fan-out ceiling of this
  uvicorn on this machine, and its latency at that ceiling.
* Trainyard: a run (local executor) whose command prints 120-character lines that start
  with the wall-clock time they were written, at :data:`OFFERED` (half) of the lines per
  second per subscriber that the reference delivered, paced evenly; the subscribers
  follow ``GET /projects/{p}/runs/{r}/events`` from the run's start. Why not "as fast as
  the run can print": a print loop writes ~10M lines/s, far beyond what ingest stores, and
  ingest in turn is far beyond what 1,000 clients can be sent (every line goes to each of
  them); latency would then be the age of an ever-growing backlog, whatever the fan-out
  does. The target is exactly "carry half the reference's throughput within 200 ms p99",
  so that is the load it gets: keeping up shows as delivered ≈ offered, falling behind
  as less delivered (its capacity) and a p99 that grows with the window.

Both are read by the same client processes, at nice :data:`CLIENT_NICE`: on a machine
with few cores they share them with the server they measure (at 1,000 subscribers the
server needs most of one core, the clients most of another), and a load generator that
preempts the server measures its own scheduling. Both servers get the same advantage,
and the reference's throughput sets trainyard's offered load.

Both: every subscriber connects (and is subscribed) before the first line is produced;
then :data:`WARMUP` s, then lines received during :data:`WINDOW` s are counted. Lines/s
is the total over all subscribers; latency is from the producer's write to the moment
the client has the whole write that carried the line, per line, from a sample of the
writes read whole (one in :func:`sample_every`), rounded up to 0.1 ms; each row also
gives the bound that counts every line of every write at its oldest line's age (see the
client's docstring). The server's poll interval (``TRAINYARD_POLL_INTERVAL``) is left at
its default: a follower that found new bytes reads again at once, so a steady producer
does not wait for it, but it bounds the latency of a line that arrives after a quiet
spell.

A server whose RSS passes :data:`RSS_LIMIT_MIB` while measured is stopped there and the
row says so (a fan-out that falls behind must not eat the machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import sys
import time
import traceback
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from common.client import TrainyardClient
from common.models import RunCreate

from . import interrupt
from .machine import CpuMeter, MachineMeter, rss_mib
from .servers import REPO, Process, Workspace, _base_env, _spawn, free_port, own_output_dir
from .sse_client import BUCKETS_PER_MS
from .table import Row

__all__ = ["SUBSCRIBERS", "measure"]

SUBSCRIBERS = (1, 100, 1000)
WARMUP = 1.0
WINDOW = 5.0
OFFERED = 0.5  # of the reference's lines/s
TARGET_RATIO = 0.5
TARGET_P99_MS = 200.0
KEPT_UP = 0.97  # delivered / offered that counts as "kept up" (window edges cost ~1%)
REF_BATCH = 1000  # lines per reference batch; each row says what trainyard's writes held
CLIENT_PROCESSES = 2
CLIENT_NICE = 10  # the load generator yields the CPU to the server it measures
CONNECT_TIMEOUT = 60.0
RSS_LIMIT_MIB = 4096.0
RUN_END_WAIT = 20.0
STEADY_RATE, STEADY_SUBSCRIBERS = 1000, 1000  # a chatty run, well within capacity
_READ_LIMIT = 64 << 20  # a client's result line (its latency histogram) can be long

# The run's command. It waits for the go file (so every subscriber is in place first),
# then writes lines of 119 characters + "\n" at RATE lines/s for SECONDS, each write
# holding the lines due by then, all stamped with the time of that write. It writes at
# most every 2 ms (~14 lines at 7k lines/s): polling every 0.5 ms it took 9% of a core
# at 7k lines/s, on the cores the server needs (2 ms: 3%); the follower reads every
# 20 ms anyway.
_PRODUCER = """\
import os, sys, time
go, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
pad = "x" * 120
out = sys.stdout.buffer
while not os.path.exists(go):
    time.sleep(0.005)
start = time.time()
end = start + seconds
written = 0
while True:
    now = time.time()
    if now >= end:
        break
    due = min(int(rate * (now - start)) - written, 50000)
    if due <= 0:
        time.sleep(0.002)
        continue
    out.write(((f"{now:.6f} " + pad)[:119] + "\\n").encode() * due)
    out.flush()
    written += due
"""


@dataclass
class Received:
    """What the subscribers got in the window, all client processes together."""

    lines: int
    window: float
    hist: dict[int, int]  # latency per line, the writes read whole
    bound: dict[int, int]  # every write, all its lines at its oldest line's age
    min_lines: int  # the least one subscriber got
    max_lines: int
    chunks: int
    closed: int
    gaps: int
    nbytes: int
    server_cpu: float = 0.0
    server_rss_mib: float = 0.0
    client_cpu: float = 0.0  # the client processes together
    machine_busy: float = 0.0  # % of all CPUs, anyone's work
    steal: float = 0.0  # % of all CPUs taken by the hypervisor

    @property
    def lines_per_s(self) -> float:
        return self.lines / self.window

    def percentile_ms(self, q: float, bound: bool = False) -> float:
        hist = self.bound if bound else self.hist
        total = sum(hist.values())
        seen = 0
        for bucket in sorted(hist):
            seen += hist[bucket]
            if seen >= q * total:
                return (bucket + 1) / BUCKETS_PER_MS
        return float("nan")

    @property
    def p99_ms(self) -> float:
        return self.percentile_ms(0.99)

    @property
    def latency(self) -> str:
        """p99 and p50 per line, and the p99 bound from every write."""
        return (f"p99 {self.p99_ms:,.0f} ms (p50 {self.percentile_ms(0.5):,.0f}; every "
                f"write at its oldest line's age: p99 {self.percentile_ms(0.99, True):,.0f}")

    @property
    def lines_per_write(self) -> float:
        return self.lines / self.chunks if self.chunks else 0.0


def sample_every(subscribers: int) -> int:
    """One write in how many, on each connection, that the client reads whole for the
    per-line latency: ~0.4 ms of its CPU each (450 lines), so ~150 a second at 1,000
    subscribers (~6% of a core), and ~650 in the window: ~300k lines."""
    return max(4, subscribers // 10)


@dataclass
class ClientGroup:
    """The ``bench.sse_client`` processes that hold the subscribers, 1 or 2."""

    procs: list[asyncio.subprocess.Process] = field(default_factory=list)

    @classmethod
    async def connect(cls, port: int, path: str, count: int) -> ClientGroup:
        group = cls()
        share = min(CLIENT_PROCESSES, count)
        try:
            for i in range(share):
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bench.sse_client", "127.0.0.1", str(port), path,
                    str(count // share + (i < count % share)), str(sample_every(count)),
                    cwd=REPO,
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                    limit=_READ_LIMIT)
                group.procs.append(proc)
                os.setpriority(os.PRIO_PROCESS, proc.pid, CLIENT_NICE)
            for proc in group.procs:
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), CONNECT_TIMEOUT)
                if line.strip() != b"ready":
                    code = await asyncio.wait_for(proc.wait(), 5.0)
                    raise RuntimeError(f"an SSE client exited ({code}) before its {count} "
                                       "subscribers were connected (see stderr)")
        except BaseException:
            await group.close()
            raise
        return group

    async def window(self, t0: float, t1: float) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(f"window {t0:.6f} {t1:.6f}\n".encode())
            await proc.stdin.drain()

    async def results(self, window: float) -> Received:
        found = []
        for proc in self.procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 30.0)
            if not line:
                raise RuntimeError("an SSE client exited without its result (see stderr)")
            try:
                found.append(json.loads(line))
            except ValueError as exc:  # seen once, at 100 subscribers, and not since
                at = getattr(exc, "pos", 0)
                raise RuntimeError(f"an SSE client's result is not JSON ({exc}): "
                                   f"{len(line):,} bytes, {line[max(0, at - 60):at + 60]!r} around "
                                   "the fault") from None
        hists: dict[str, dict[int, int]] = {"hist": {}, "bound": {}}
        for one in found:
            for name, hist in hists.items():
                for key, value in one[name].items():
                    hist[int(key)] = hist.get(int(key), 0) + value
        return Received(
            lines=sum(f["lines"] for f in found), window=window, hist=hists["hist"],
            bound=hists["bound"],
            min_lines=min(f["min_lines"] for f in found),
            max_lines=max(f["max_lines"] for f in found),
            chunks=sum(f["chunks"] for f in found), closed=sum(f["closed"] for f in found),
            gaps=sum(f["gaps"] for f in found), nbytes=sum(f["bytes"] for f in found),
            client_cpu=100.0 * sum(f["cpu_s"] for f in found) / window)

    async def close(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()


async def _measure(server: Process, group: ClientGroup) -> Received:
    """Tell the clients the window, watch the server through it, collect the counts."""
    t0 = time.time() + WARMUP
    t1 = t0 + WINDOW
    await group.window(t0, t1)
    rss = 0.0
    while time.time() < t0:
        interrupt.check()
        rss = max(rss, rss_mib(server.pid))
        await asyncio.sleep(0.05)
    meter, machine = CpuMeter(server.pid).start(), MachineMeter().start()
    while time.time() < t1:
        interrupt.check()
        rss = max(rss, rss_mib(server.pid))
        if rss > RSS_LIMIT_MIB:
            raise RuntimeError(f"{server.name}'s RSS passed {RSS_LIMIT_MIB:,.0f} MiB "
                               f"({rss:,.0f} MiB) {time.time() - t0 + WARMUP:.1f} s in; "
                               "stopped there")
        await asyncio.sleep(0.1)
    cpu, (busy, steal) = meter.percent(), machine.read()
    got = await group.results(WINDOW)
    got.server_cpu, got.server_rss_mib = cpu, rss
    got.machine_busy, got.steal = busy, steal
    if got.closed:
        raise RuntimeError(f"{server.name} ended {got.closed} of the streams during the window")
    if got.gaps:
        raise RuntimeError(f"{server.name}: {got.gaps} writes did not follow on from the "
                           "last sequence number received (lines lost or repeated)")
    return got


def start_sse_bare(ws: Workspace) -> Process:
    """``uvicorn bench.sse_bare:app`` with the options trainyard's ``uvicorn.run`` uses."""
    port = free_port()
    args = ["-m", "uvicorn", "bench.sse_bare:app", "--host", "127.0.0.1", "--port",
            str(port), "--no-access-log", "--log-level", "warning"]
    proc = _spawn("bare SSE app", args, _base_env(), ws.root / "sse-bare.log", port)
    proc.wait_ready("/")
    return proc


async def run_reference(bare: Process, count: int) -> Received:
    group = await ClientGroup.connect(bare.port, "/events", count)
    try:
        async with httpx.AsyncClient(base_url=bare.url) as http:
            started = await http.get("/start", params={
                "lines": REF_BATCH, "seconds": WARMUP + WINDOW + 0.5})
            started.raise_for_status()
            got = await _measure(bare, group)
        return got
    finally:
        await group.close()
        # The producer stops by itself; wait for it so the next count starts clean.
        with contextlib.suppress(httpx.HTTPError):
            async with httpx.AsyncClient(base_url=bare.url) as http:
                deadline = time.monotonic() + 5.0
                while time.monotonic() < deadline:
                    if (await http.get("/stats")).json().get("producing") is False:
                        break
                    await asyncio.sleep(0.05)


async def _run_ended(client: TrainyardClient, project: str, run_id: str) -> None:
    """Wait for the run to end, so the next measurement has the server to itself."""
    deadline = time.monotonic() + RUN_END_WAIT
    while time.monotonic() < deadline:
        interrupt.check()
        if (await client.get_run(project, run_id)).status != "running":
            return
        await asyncio.sleep(0.1)
    print(f"bench: warning: run {run_id} was still running {RUN_END_WAIT:g} s after its "
          "command's last line; the next figures may suffer", file=sys.stderr, flush=True)


async def run_trainyard(ws: Workspace, server: Process, client: TrainyardClient,
                        project: str, token: str, count: int, rate: float,
                        wait_end: bool) -> Received:
    go = ws.root / f"sse-go-{count}"
    go.unlink(missing_ok=True)  # left by an earlier measurement with as many subscribers
    command = (f"{shlex.quote(sys.executable)} -c {shlex.quote(_PRODUCER)} "
               f"{shlex.quote(str(go))} {rate:.3f} {WARMUP + WINDOW + 0.5:g}")
    run = await client.start_run(project, RunCreate(start_command=command,
                                                    output_dir=own_output_dir()))
    path = f"/projects/{project}/runs/{run.id}/events?access_token={token}"
    try:
        group = await ClientGroup.connect(server.port, path, count)
    except BaseException:
        go.touch()  # let the command finish (it is killed with the rest at the end anyway)
        raise
    try:
        go.touch()
        got = await _measure(server, group)
    finally:
        await group.close()
    if wait_end:
        await _run_ended(client, project, run.id)
    return got


@dataclass(frozen=True)
class Pair:
    count: int
    ref: Received
    ours: Received
    offered: float  # lines/s in total that trainyard's run was paced at (x subscribers)


def _label(count: int) -> str:
    return (f"SSE fan-out, one run to {count:,} subscriber{'s' if count > 1 else ''}: "
            f"lines/s delivered in total, p99 write → receipt ({WINDOW:g} s)")


def _machine(got: Received) -> str:
    return f"all CPUs {got.machine_busy:.0f}% busy, {got.steal:.1f}% stolen"


def _row(pair: Pair) -> Row:
    ref, ours, n = pair.ref, pair.ours, pair.count
    ratio = ours.lines_per_s / ref.lines_per_s
    kept = ours.lines_per_s / pair.offered
    behind = "" if kept >= KEPT_UP else \
        f"; **fell behind**: {kept:.0%} of the {pair.offered:,.0f} offered"
    text = (f"{ours.lines_per_s:,.0f} lines/s, {ours.latency}; run paced at {OFFERED:.0%} of the "
            f"reference: {pair.offered / n:,.0f} lines/s × {n:,}{behind}; slowest "
            f"subscriber {ours.min_lines / WINDOW:,.0f} lines/s; "
            f"{ours.lines_per_write:,.0f} lines per write; server CPU "
            f"{ours.server_cpu:.0f}%, RSS ≤ {ours.server_rss_mib:,.0f} MiB; "
            f"clients' CPU {ours.client_cpu:.0f}%; {_machine(ours)})")
    reference = (f"{ref.lines_per_s:,.0f} lines/s, {ref.latency}; bare ASGI app: batches of "
                 f"{REF_BATCH:,} lines encoded once, as fast as the sockets take them; "
                 f"server CPU {ref.server_cpu:.0f}%, clients' CPU {ref.client_cpu:.0f}%; "
                 f"{_machine(ref)})")
    if n != max(SUBSCRIBERS):
        return Row(_label(n), text, reference, f"{ratio:.0%}")
    met = ratio >= TARGET_RATIO * KEPT_UP and ours.p99_ms < TARGET_P99_MS
    return Row(_label(n), text, reference, f"{ratio:.0%}",
               f"≥ {TARGET_RATIO:.0%} with p99 < {TARGET_P99_MS:g} ms", met)


def _steady_label() -> str:
    return (f"SSE fan-out, one run printing {STEADY_RATE:,} lines/s to {STEADY_SUBSCRIBERS:,} "
            "subscribers: server CPU, p99 write → receipt")


async def _steady(ws: Workspace, server: Process, client: TrainyardClient, project: str,
                  token: str) -> Row:
    """What watching costs when the run is not a firehose: a client gets at most one write
    per round of the pump, so the server's CPU follows the lines, not the frames."""
    print(f"bench: SSE fan-out to {STEADY_SUBSCRIBERS:,} at {STEADY_RATE:,} lines/s",
          file=sys.stderr, flush=True)
    got = await run_trainyard(ws, server, client, project, token, STEADY_SUBSCRIBERS,
                              STEADY_RATE, wait_end=True)
    kept = got.lines_per_s / (STEADY_RATE * STEADY_SUBSCRIBERS)
    behind = "" if kept >= KEPT_UP else f"; **fell behind**: {kept:.0%} delivered"
    return Row(_steady_label(),
               f"server CPU {got.server_cpu:.0f}%, {got.latency}; "
               f"{got.lines_per_write:,.0f} lines per write; "
               f"clients' CPU {got.client_cpu:.0f}%; {_machine(got)}{behind})")


async def _one(ws: Workspace, server: Process, bare: Process, client: TrainyardClient,
               project: str, token: str, count: int) -> Row:
    print(f"bench: SSE fan-out to {count:,}: reference", file=sys.stderr, flush=True)
    ref = await run_reference(bare, count)
    rate = OFFERED * ref.lines_per_s / count
    print(f"bench: SSE fan-out to {count:,}: trainyard", file=sys.stderr, flush=True)
    ours = await run_trainyard(ws, server, client, project, token, count, rate,
                               wait_end=count != min(SUBSCRIBERS))
    return _row(Pair(count, ref, ours, rate * count))


async def _or_error(label: str, row: Coroutine[Any, Any, Row]) -> Row:
    """The row, or an error row saying why it could not be measured."""
    try:
        return await row
    except Exception as exc:
        interrupt.check()
        traceback.print_exc(file=sys.stderr)
        return Row.failed(label, exc)


async def measure(ws: Workspace, server: Process, client: TrainyardClient, project: str,
                  token: str) -> list[Row]:
    """The rows, fewest subscribers first, then the steady run; a count that fails gets an
    error row."""
    # First: the one-subscriber row, last, leaves a backlog behind (see below).
    steady = await _or_error(_steady_label(), _steady(ws, server, client, project, token))
    rows: dict[int, Row] = {}
    bare = start_sse_bare(ws)
    try:
        # Most subscribers first, one last: with one, trainyard's ingest (not the fan-out)
        # is what falls behind, and the backlog it leaves in the run's file is not waited
        # for (ingesting it would take the server's CPU from the next measurement).
        for count in sorted(SUBSCRIBERS, reverse=True):
            interrupt.check()
            rows[count] = await _or_error(_label(count), _one(
                ws, server, bare, client, project, token, count))
    finally:
        bare.stop()
    return [*(rows[count] for count in sorted(rows)), steady]


if __name__ == "__main__":
    from .standalone import run, with_server

    run(with_server(measure))
