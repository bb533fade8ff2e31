"""Nothing is lost when the server dies: kill -9 mid-run, start again, compare."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

from common.models import RunCreate

from ..conftest import Server, make_workspace, project_body
from ..helpers import all_logs, group_members, wait_for_status, wait_until

TRAIN = "python3 tiny_trainer.py --config configs/tiny.yaml"


async def test_kill_9_mid_run_loses_and_repeats_no_line(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", max_steps=1000, save_steps=100,
                               step_delay=0.01)
    srv = Server(data_dir=tmp_path / "data", workspace=workspace).start()
    try:
        async with srv.client() as api:
            await api.create_project(project_body("crash"))
            run = await api.start_run("crash", RunCreate(f"{TRAIN} --lines-per-step 20"))

            async def some_lines() -> bool:
                return len(await all_logs(api, "crash", run.id)) > 200

            await wait_until(some_lines, what="log lines")
        for _ in range(3):  # die repeatedly while the run keeps writing
            srv.stop(signal.SIGKILL)
            await asyncio.sleep(0.4)
            srv.start()
            async with srv.client() as api:
                assert (await api.get_run("crash", run.id)).status == "running"
            await asyncio.sleep(0.3)
        async with srv.client() as api:
            done = await wait_for_status(api, "crash", run.id, {"completed", "failed"})
            logs = await all_logs(api, "crash", run.id)
        assert done.status == "completed" and done.exit_code == 0
        seqs = [e.seq for e in logs]  # strictly increasing: ordered, none repeated
        assert seqs == sorted(set(seqs))
        output = [e.message for e in logs if e.stream != "system"]
        # Every line the trainer printed to stdout is stored exactly once, in order.
        run_dir = tmp_path / "data" / "runs" / run.id
        printed = (run_dir / "stdout.log").read_text().splitlines()
        assert [e.message for e in logs if e.stream == "stdout"] == printed
        assert sum(m.startswith("{'loss':") for m in output) == 200
        assert sum("restarted" in e.message for e in logs if e.stream == "system") == 3
    finally:
        srv.stop()


async def test_run_that_vanished_while_the_server_was_down_is_failed(tmp_path: Path) -> None:
    srv = Server(data_dir=tmp_path / "data", workspace=make_workspace(tmp_path / "ws")).start()
    try:
        async with srv.client() as api:
            await api.create_project(project_body("vanish"))
            run = await api.start_run("vanish", RunCreate("sleep 600"))
        group = int(re.search(r"process group (\d+)",
                              " ".join(e.message for e in run.logs)).group(1))
        wrapper = int((tmp_path / "data" / "runs" / run.id / "wrapper.pid").read_text())
        srv.stop(signal.SIGKILL)
        os.kill(wrapper, signal.SIGKILL)  # the host "lost" the whole run
        os.killpg(group, signal.SIGKILL)
        await wait_until(_gone(group), what="the run's processes to die")
        srv.start()
        async with srv.client() as api:
            done = await wait_for_status(api, "vanish", run.id, {"failed"}, timeout=30)
        assert done.exit_code is None
        assert "vanished" in (done.status_message or "")
    finally:
        srv.stop()


def _gone(group: int):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        return group_members(group) == []

    return probe
