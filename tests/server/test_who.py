"""Who did it: a run records who launched it, who asked for its stop, who resumed it;
the projects list filters to the caller's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.models import RunCreate

from ..conftest import TOKEN, Server, make_workspace, project_body
from ..helpers import all_logs, wait_for_status, wait_until

TRAIN = "python3 tiny_trainer.py --config configs/tiny.yaml"


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[Server]:
    workspace = make_workspace(tmp_path / "ws", max_steps=400, save_steps=5, step_delay=0.05)
    srv = Server(data_dir=tmp_path / "data", workspace=workspace).start()
    yield srv
    srv.stop()


def user(server: Server, name: str, role: str) -> str:
    response = httpx.post(f"{server.url}/users", json={"name": name, "role": role},
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 201
    return str(response.json()["token"])


async def test_runs_record_who_launched_stopped_and_resumed_them(slow_server: Server) -> None:
    ann, ben = user(slow_server, "ann", "operator"), user(slow_server, "ben", "operator")
    async with slow_server.client(ann) as as_ann, slow_server.client(ben) as as_ben:
        await as_ann.create_project(project_body("sft", owner="ann"))
        run = await as_ann.start_run("sft", RunCreate(start_command=TRAIN))
        assert run.created_by == "ann"
        await wait_until(lambda: _has_checkpoint(as_ann, run.id), what="a checkpoint")
        paused = await as_ben.cancel("sft", run.id, grace_seconds=5, pause=True)
        assert paused.status == "paused" and paused.stop_requested_by == "ben"
        assert paused.created_by == "ann"
        messages = [e.message for e in await all_logs(as_ann, "sft", run.id)]
        assert any(m.startswith("pause requested by ben") for m in messages), messages
        assert any(m == "Run created by ann" for m in messages)

        resumed = await as_ben.resume("sft", run.id)
        assert resumed.created_by == "ben" and resumed.parent_run_id == run.id
        first = (await all_logs(as_ben, "sft", resumed.id))[0].message
        assert first.startswith(f"Run created by ben, resuming run {run.id}")
        canceled = await as_ann.cancel("sft", resumed.id, grace_seconds=5)
        assert canceled.stop_requested_by == "ann"
        listed = {r.id: r.created_by for r in await as_ann.list_runs("sft")}
        assert listed == {run.id: "ann", resumed.id: "ben"}
        await wait_for_status(as_ann, "sft", resumed.id, {"canceled"})


async def _has_checkpoint(api: object, run_id: str) -> bool:
    run = await api.get_run("sft", run_id)  # type: ignore[attr-defined]
    return any(a.type == "checkpoint" for a in run.artifacts)


def test_projects_list_filters_to_mine(server: Server) -> None:
    cat = user(server, "cat", "operator")
    headers = {"Authorization": f"Bearer {cat}"}
    for name, owner in (("a", "cat"), ("b", "dan"), ("c", "cat")):
        body = {"name": name, "objective": "o", "task_type": "t", "owner": owner,
                "dataset_name": "tiny_corpus", "training_yaml_name": "tiny.yaml"}
        assert httpx.post(f"{server.url}/projects", json=body, headers=headers).status_code == 201
    mine = httpx.get(f"{server.url}/projects", params={"owner": "me"}, headers=headers).json()
    assert sorted(p["name"] for p in mine) == ["a", "c"]
    admin_mine = httpx.get(f"{server.url}/projects", params={"owner": "me"},
                           headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert admin_mine == []


async def test_runs_across_projects_filter_by_who_launched_them(tmp_path: Path,
                                                                 workspace: Path) -> None:
    srv = Server(data_dir=tmp_path / "data", workspace=workspace).start()
    try:
        async with srv.client() as admin:
            await admin.create_project(project_body("shared"))
            token = (await admin.http.post("/users", json={"name": "ben",
                                                           "role": "operator"})).json()["token"]
            mine = await admin.start_run("shared", RunCreate("true", output_dir="o/a"))
        async with srv.client(token) as ben:
            theirs = await ben.start_run("shared", RunCreate("true", output_dir="o/b"))
            page = (await ben.http.get("/runs", params={"created_by": "me"})).json()
            assert [r["id"] for r in page["runs"]] == [theirs.id]
            page = (await ben.http.get("/runs", params={"created_by": "admin"})).json()
            assert [r["id"] for r in page["runs"]] == [mine.id]
    finally:
        srv.stop()
