"""A command that prints huge lines: stored cut to TRAINYARD_MAX_LINE_BYTES with a marker,
its own log file keeps them whole, and every answer about the run stays small."""

from __future__ import annotations

from pathlib import Path

import httpx

from common.client import TrainyardClient
from common.models import RunCreate
from server.services.intake.lines import cut_marker

from ..conftest import TOKEN, Server, project_body
from ..helpers import all_logs, wait_for_status

LIMIT = 64 << 10  # the default
PRINT_HUGE = ("python3 -c \"import sys; w = sys.stdout.write; w('x' * 3_000_000 + '\\n'); "
              "[w('y' * 100_000 + '\\n') for _ in range(80)]; w('short\\n'); "
              "w('z' * 2_000_000)\"")


async def test_huge_lines_are_stored_cut_and_the_run_file_keeps_them(
        server: Server, client: TrainyardClient) -> None:
    await client.create_project(project_body("huge"))
    run = await client.start_run("huge", RunCreate(PRINT_HUGE))
    run = await wait_for_status(client, "huge", run.id, {"completed", "failed"})
    assert run.status == "completed"

    lines = [e.message for e in await all_logs(client, "huge", run.id) if e.stream == "stdout"]
    assert lines == ["x" * LIMIT + cut_marker(3_000_000 - LIMIT),
                     *["y" * LIMIT + cut_marker(100_000 - LIMIT)] * 80,
                     "short",
                     "z" * LIMIT + cut_marker(2_000_000 - LIMIT)]
    # The run's own file has every byte.
    [stdout] = Path(server.data_dir, "runs", run.id).glob("stdout.log")
    assert stdout.stat().st_size == 3_000_001 + 80 * 100_001 + 6 + 2_000_000

    # The detail (last 50 lines) and a log page stay a few MB, however long the lines.
    headers = {"Authorization": f"Bearer {TOKEN}"}
    detail = httpx.get(f"{server.url}/projects/huge/runs/{run.id}", headers=headers)
    assert detail.status_code == 200 and len(detail.content) < 50 * (LIMIT + 200) + 20_000
    page = httpx.get(f"{server.url}/projects/huge/runs/{run.id}/logs",
                     params={"limit": 10_000}, headers=headers)
    body = page.json()
    assert page.status_code == 200 and len(page.content) < 5 << 20
    assert body["has_more"] and 0 < len(body["entries"]) < 82
    assert body["next_after"] == body["entries"][-1]["seq"]
