"""Tidying what users made: rename and delete projects, delete ended runs, note runs."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from common.client import ApiError, TrainyardClient
from common.models import ProjectUpdate, RunCreate

from ..conftest import TOKEN, Server, project_body
from ..helpers import wait_for_status

AUTH = {"Authorization": f"Bearer {TOKEN}"}
TRAIN = "python3 tiny_trainer.py --config configs/tiny.yaml"


async def test_rename_moves_the_name_and_keeps_the_id(client: TrainyardClient) -> None:
    first = await client.create_project(project_body("old-name"))
    await client.create_project(project_body("taken"))
    renamed = await client.update_project("old-name", ProjectUpdate(name="new-name"))
    assert renamed.id == first.id and renamed.name == "new-name"
    assert (await client.get_project("new-name")).id == first.id
    with pytest.raises(ApiError) as err:
        await client.get_project("old-name")
    assert err.value.code == "project_not_found"
    with pytest.raises(ApiError) as err:
        await client.update_project(first.id, ProjectUpdate(name="taken"))
    assert err.value.status_code == 409 and err.value.code == "project_exists"
    refused = await client.http.patch(f"/projects/{first.id}", json={"name": "proj_lookalike"})
    assert refused.status_code == 400
    assert (await client.get_project(first.id)).name == "new-name"  # refusals changed nothing
    same = await client.update_project(first.id, ProjectUpdate(name="new-name"))
    assert same.name == "new-name"


async def test_a_project_with_a_live_run_is_not_deleted(server: Server,
                                                        client: TrainyardClient) -> None:
    project = await client.create_project(project_body("doomed"))
    live = await client.start_run("doomed", RunCreate("sleep 60"))
    response = httpx.delete(f"{server.url}/projects/doomed", headers=AUTH)
    assert response.status_code == 409 and response.json()["code"] == "project_has_live_runs"
    assert response.json()["details"]["runs"] == [live.id]
    assert (await client.run(live.id)).status == "running"  # nothing went
    await client.stop_run(live.id, grace_seconds=1)
    ended = await client.start_run("doomed", RunCreate("echo bye"))
    await wait_for_status(client, "doomed", ended.id, {"completed"})
    [config] = [a for a in (await client.run(ended.id)).artifacts if a.type == "config"]
    snapshot = Path(config.path)

    assert httpx.delete(f"{server.url}/projects/doomed", headers=AUTH).status_code == 204
    for probe in (client.get_project(project.id), client.run(live.id), client.run(ended.id)):
        with pytest.raises(ApiError) as err:
            await probe
        assert err.value.status_code == 404
    assert (await client.list_all_runs()).runs == []
    assert snapshot.exists()  # files on disk are never touched
    again = await client.create_project(project_body("doomed"))  # the name is free again
    assert again.id != project.id and again.runs_started == 0


async def test_only_an_ended_run_without_resumes_is_deleted(server: Server,
                                                             client: TrainyardClient) -> None:
    await client.create_project(project_body("p"))
    live = await client.start_run("p", RunCreate("sleep 60"))
    response = httpx.delete(f"{server.url}/runs/{live.id}", headers=AUTH)
    assert response.status_code == 409 and response.json()["code"] == "run_live"
    await client.stop_run(live.id, grace_seconds=1)

    parent = await client.start_run("p", RunCreate(TRAIN))
    await wait_for_status(client, "p", parent.id, {"completed"})
    child = await client.resume_run(parent.id)
    await wait_for_status(client, "p", child.id, {"completed", "failed"})
    response = httpx.delete(f"{server.url}/projects/p/runs/{parent.id}", headers=AUTH)
    assert response.status_code == 409 and response.json()["code"] == "run_has_resumes"
    assert response.json()["details"]["runs"] == [child.id]

    assert httpx.delete(f"{server.url}/runs/{child.id}", headers=AUTH).status_code == 204
    assert httpx.delete(f"{server.url}/runs/{parent.id}", headers=AUTH).status_code == 204
    assert httpx.get(f"{server.url}/runs/{parent.id}/logs", headers=AUTH).status_code == 404
    assert [r.id for r in (await client.list_all_runs()).runs] == [live.id]


async def test_notes_and_tags_are_kept_on_a_run(server: Server, client: TrainyardClient) -> None:
    await client.create_project(project_body("p"))
    run = await client.start_run("p", RunCreate("true"))
    assert (run.notes, run.tags) == ("", [])
    url = f"{server.url}/runs/{run.id}"
    noted = httpx.patch(url, headers=AUTH, json={"notes": "lr 2e-5: best so far",
                                                 "tags": ["sweep", "keep"]})
    assert noted.status_code == 200
    assert noted.json()["notes"] == "lr 2e-5: best so far"
    retagged = httpx.patch(f"{server.url}/projects/p/runs/{run.id}", headers=AUTH,
                           json={"tags": ["sweep"]}).json()
    assert retagged["tags"] == ["sweep"] and retagged["notes"] == "lr 2e-5: best so far"
    detail = await client.run(run.id)
    assert (detail.notes, detail.tags) == ("lr 2e-5: best so far", ["sweep"])
    for bad in ({"tags": ["a", "a"]}, {"tags": [" "]}, {"status": "completed"},
                {"notes": "x" * 5000}):
        response = httpx.patch(url, headers=AUTH, json=bad)
        assert response.status_code == 400, bad
    assert (await client.run(run.id)).tags == ["sweep"]
