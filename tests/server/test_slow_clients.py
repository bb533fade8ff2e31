"""Bounded per client (a soak test at a small size; ``make bench`` runs the big one):
stream clients that never read, on a run with megabytes of stored history, hold a page or
two each, not the history; they are cut off once stalled, and a cut-off client resumes by
Last-Event-ID with no gap and no duplicate. A normal client meanwhile gets everything."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

from common.models import RunCreate

from ..conftest import TOKEN, Server, make_workspace, project_body
from ..helpers import wait_until
from .test_streams import collect, seqs_of

LINES, WIDTH, STALLERS, STALL_S = 4000, 2000, 20, 4
PRINTER = f"""\
import sys, time
for i in range(1, {LINES} + 1):
    print(f"line-{{i}} " + "x" * {WIDTH})
sys.stdout.flush()
for i in range({LINES} + 1, {LINES} + 81):  # then slowly, so the run stays live a while
    print(f"line-{{i}} tail", flush=True)
    time.sleep(0.1)
"""


def _rss_mib(srv: Server) -> float:
    assert srv.proc is not None
    status = Path(f"/proc/{srv.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("VmRSS:"))) / 1024


def _stalled_client(srv: Server, path: str, headers: str = "") -> socket.socket:
    """A client that asks for the stream and reads nothing (with a small receive buffer,
    so the server's writes back up at once, as on a real slow link)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", srv.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {TOKEN}\r\n"
                 f"{headers}\r\n".encode())
    return sock


def _events(raw: bytes) -> list[tuple[str, dict[str, object] | None]]:
    """(id, data) of every complete event in a chunked SSE body (a cut tail is dropped)."""
    body = raw.partition(b"\r\n\r\n")[2]
    unchunked, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        if not size_line:
            break
        size = int(size_line, 16)
        unchunked += rest[:size]
        rest = rest[size + 2:]
    found = []
    for block in unchunked.decode(errors="replace").split("\n\n")[:-1]:
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "id" in fields:
            found.append((fields["id"], json.loads(fields["data"]) if "data" in fields else None))
    return found


async def test_clients_that_never_read_hold_little_and_are_cut_off(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    (workspace / "printer.py").write_text(PRINTER)
    srv = Server(data_dir=tmp_path / "data", workspace=workspace,
                 env_extra={"TRAINYARD_CLIENT_STALL_SECONDS": str(STALL_S),
                            "TRAINYARD_LOG_LEVEL": "info"}).start()
    try:
        async with srv.client() as api:
            await api.create_project(project_body("soak"))
            run = await api.start_run("soak", RunCreate("python3 printer.py"))
            path = f"/projects/soak/runs/{run.id}/events"

            async def stored() -> bool:
                page = await api.logs("soak", run.id, after=LINES, limit=1)
                return bool(page.entries)

            await wait_until(stored, timeout=60, what="the history to be stored")
            before = _rss_mib(srv)
            normal = asyncio.create_task(collect(api, "soak", run.id))
            stallers = [_stalled_client(srv, path) for _ in range(STALLERS)]
            await asyncio.sleep(STALL_S / 2)
            # ~8 MB of history each: the old whole-history write held 20 x 8 MB here.
            grown = _rss_mib(srv) - before
            assert grown < 40, f"RSS grew {grown:.0f} MiB for {STALLERS} clients that never read"

            # Stalled past the limit: cut off (the server closes), freeing what they held.
            await wait_until(lambda: _count_cut(srv, STALLERS), timeout=STALL_S * 6,
                             what="the stalled clients to be cut off")
            for sock in stallers:
                sock.close()

            events = await asyncio.wait_for(normal, 60)
            lines = [line["message"] for e in events if e.event == "log"
                     for line in e.data["lines"]]
            assert [m.split()[0] for m in lines if m.startswith("line-")] == [
                f"line-{i}" for i in range(1, LINES + 81)]
            assert seqs_of(events) == sorted(set(seqs_of(events)))
    finally:
        srv.stop()


async def _count_cut(srv: Server, count: int) -> bool:
    return srv.output().count("it read nothing for") >= count


async def test_a_cut_off_client_resumes_by_last_event_id_with_no_gap(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    (workspace / "printer.py").write_text(PRINTER)
    srv = Server(data_dir=tmp_path / "data", workspace=workspace,
                 env_extra={"TRAINYARD_CLIENT_STALL_SECONDS": "1",
                            "TRAINYARD_LOG_LEVEL": "info"}).start()
    try:
        async with srv.client() as api:
            await api.create_project(project_body("resume"))
            run = await api.start_run("resume", RunCreate("python3 printer.py"))
            path = f"/projects/resume/runs/{run.id}/events"
            # Read a little, then nothing: the server cuts the client off.
            sock = _stalled_client(srv, path)
            received = sock.recv(65536)
            deadline = time.monotonic() + 30
            while b"it read nothing" not in srv.output().encode():
                assert time.monotonic() < deadline, "never cut off"
                await asyncio.sleep(0.2)
            sock.settimeout(10)
            try:
                while chunk := sock.recv(1 << 20):  # what was in flight, then the close
                    received += chunk
            except (ConnectionResetError, TimeoutError):
                pass
            sock.close()
            first = _events(received)
            assert first and received.startswith(b"HTTP/1.1 200")
            assert b"retry: " in received  # the client knows when to come back
            last_id = first[-1][0]
            rest = await asyncio.wait_for(collect(api, "resume", run.id, last_event_id=last_id),
                                          60)
        seqs: list[int] = []
        for event_id, data in first:
            if isinstance(data, dict) and "lines" in data:
                seqs.extend(line["seq"] for line in data["lines"])  # type: ignore[attr-defined]
            else:
                seqs.append(int(event_id))
        seqs += seqs_of(rest)
        assert seqs == list(range(1, len(seqs) + 1)), "a gap or a duplicate"
        assert rest[-1].event == "end"
    finally:
        srv.stop()


async def test_clients_joining_mid_run_get_every_line_once(tmp_path: Path) -> None:
    # Commits of ~100 kB while clients join: their replay pages (128 KiB of text) end
    # inside a commit whose live frame they also hold, and they switch to live frames
    # as soon as those cover what comes next.
    workspace = make_workspace(tmp_path / "ws")
    (workspace / "bursts.py").write_text(
        "import time\n"
        "for i in range(1, 30001):\n"
        "    print(f'line-{i} ' + 'y' * 200)\n"
        "    if i % 500 == 0:\n"
        "        time.sleep(0.03)\n")
    srv = Server(data_dir=tmp_path / "data", workspace=workspace).start()
    try:
        async with srv.client() as api:
            await api.create_project(project_body("bursts"))
            run = await api.start_run("bursts", RunCreate("python3 bursts.py"))
            joiners = []
            for _ in range(6):
                await asyncio.sleep(0.25)
                joiners.append(asyncio.create_task(collect(api, "bursts", run.id)))
            for events in await asyncio.wait_for(asyncio.gather(*joiners), 120):
                seqs = seqs_of(events)
                assert seqs == list(range(1, len(seqs) + 1)), "a gap or a duplicate"
                lines = [line["message"].split()[0] for e in events if e.event == "log"
                         for line in e.data["lines"] if line["message"].startswith("line-")]
                assert lines == [f"line-{i}" for i in range(1, 30001)]
    finally:
        srv.stop()
