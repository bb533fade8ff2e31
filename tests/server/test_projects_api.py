"""Projects API against a real server: the seed's contract, filters, changes, errors."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import httpx
import pytest

from common.client import ApiError, TrainyardClient
from common.models import ProjectUpdate

from ..conftest import TOKEN, Server, project_body

SEED_PROJECT_FIELDS = {
    "id", "name", "description", "status", "objective", "task_type", "owner", "dataset_name",
    "training_yaml_name", "created_at", "updated_at", "runs_started", "tags", "runs",
}
SEED_SUMMARY_FIELDS = SEED_PROJECT_FIELDS - {"runs"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_seed_create_example_works_and_returns_every_documented_field(server: Server) -> None:
    # The seed's curl example, byte for byte, plus the auth header.
    body = """{
          "name": "印章大模型",
          "description": "构建印章通用大模型",
          "objective": "初版模型训练",
          "task_type": "VL-Lora",
          "owner": "LL",
          "dataset_name": "seal-documents-v1",
          "training_yaml_name": "seal-train.yaml",
          "tags": ["VL", "通用印章"]
        }"""
    response = httpx.post(f"{server.url}/projects", content=body.encode(),
                          headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 201
    project = response.json()
    assert project.keys() >= SEED_PROJECT_FIELDS
    assert project["id"].startswith("proj_")
    assert project["status"] == "active"
    assert project["runs_started"] == 0 and project["runs"] == []
    assert project["tags"] == ["VL", "通用印章"]
    assert project["created_at"].endswith("Z")
    datetime.fromisoformat(project["created_at"])

    listing = httpx.get(f"{server.url}/projects", headers=AUTH)
    assert listing.status_code == 200
    [summary] = listing.json()
    assert summary.keys() >= SEED_SUMMARY_FIELDS
    assert summary["name"] == "印章大模型" and summary["owner"] == "LL"


async def test_duplicate_name_is_409_and_stores_nothing(client: TrainyardClient) -> None:
    await client.create_project(project_body("dup"))
    with pytest.raises(ApiError) as err:
        await client.create_project(project_body("dup", owner="someone else"))
    assert err.value.status_code == 409 and err.value.code == "project_exists"
    projects = await client.list_projects()
    assert [p.owner for p in projects] == ["LL"]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"name": "   "}, "name", "must not be blank"),
    ({"name": "x" * 101}, "name", "must be at most 100 characters long"),
    ({"objective": 7}, "objective", "must be a string, not a whole number"),
    ({"tags": ["a"] * 21}, "tags", "must hold at most 20 items"),
    ({"tags": ["a", "a"]}, "tags", "must not repeat a tag ('a')"),
    ({"dataset_name": "../secrets"}, "dataset_name", "plain file or folder name"),
    ({"training_yaml_name": "/etc/passwd"}, "training_yaml_name", "not an absolute path"),
    ({"name": "a/b"}, "name", "must not hold U+002F SOLIDUS"),
    ({"surprise": 1}, "surprise", "is not a field of this request"),
])
def test_bad_fields_are_400_naming_the_field(server: Server, body: dict[str, object],
                                             field: str, words: str) -> None:
    payload = {"name": "ok", "objective": "o", "task_type": "t", "owner": "me",
               "dataset_name": "d", "training_yaml_name": "y.yaml", **body}
    response = httpx.post(f"{server.url}/projects", json=payload, headers=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["status_code"] == 400 and error["code"] in ("validation_failed", "unsafe_name")
    assert words in error["message"] and field in error["message"]
    assert error["details"]["errors"] == [{"field": field, "source": "body",
                                           "message": error["details"]["errors"][0]["message"]}]
    assert words in error["details"]["errors"][0]["message"]
    assert httpx.get(f"{server.url}/projects", headers=AUTH).json() == []


def test_missing_required_field_and_malformed_json(server: Server) -> None:
    response = httpx.post(f"{server.url}/projects", json={"name": "x"}, headers=AUTH)
    assert response.status_code == 400
    assert "objective" in response.json()["message"]
    response = httpx.post(f"{server.url}/projects", content=b"{nope",
                          headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"


async def test_list_is_newest_first_and_filters(client: TrainyardClient) -> None:
    await client.create_project(project_body("alpha", owner="ann", tags=["nlp"],
                                             objective="summaries"))
    await client.create_project(project_body("beta", owner="bob", tags=["vision"]))
    await client.create_project(project_body("gamma", owner="ann", tags=["nlp", "vision"]))
    await client.update_project("beta", ProjectUpdate(status="archived"))

    assert [p.name for p in await client.list_projects()] == ["gamma", "beta", "alpha"]
    assert [p.name for p in await client.list_projects(owner="ann")] == ["gamma", "alpha"]
    assert [p.name for p in await client.list_projects(tag="vision")] == ["gamma", "beta"]
    assert [p.name for p in await client.list_projects(status="archived")] == ["beta"]
    assert [p.name for p in await client.list_projects(q="summar")] == ["alpha"]
    assert [p.name for p in await client.list_projects(q="100%")] == []


async def test_listing_names_its_etag_and_answers_304_until_something_changes(
        client: TrainyardClient, server: Server) -> None:
    await client.create_project(project_body("alpha", owner="ann"))
    first = httpx.get(f"{server.url}/projects", headers=AUTH)
    etag = first.headers["etag"]
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"

    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = httpx.get(f"{server.url}/projects", headers={**AUTH, "If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.content == b"" and again.headers["etag"] == etag
    stale = httpx.get(f"{server.url}/projects", headers={**AUTH, "If-None-Match": '"other"'})
    assert stale.status_code == 200 and stale.content == first.content

    # A filtered listing is other bytes, so another tag; a write changes both.
    filtered = httpx.get(f"{server.url}/projects", params={"owner": "bob"}, headers=AUTH)
    assert filtered.json() == [] and filtered.headers["etag"] != etag
    await client.create_project(project_body("beta", owner="bob"))
    changed = httpx.get(f"{server.url}/projects", headers={**AUTH, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert [p["name"] for p in changed.json()] == ["beta", "alpha"]

    # Without a token there is no listing and no tag: the check comes first.
    refused = httpx.get(f"{server.url}/projects", headers={"If-None-Match": "*"})
    assert refused.status_code == 401 and "etag" not in refused.headers


async def test_get_by_id_or_url_encoded_chinese_name(client: TrainyardClient,
                                                     server: Server) -> None:
    created = await client.create_project(project_body("中文摘要系统"))
    by_id = await client.get_project(created.id)
    raw = httpx.get(f"{server.url}/projects/{quote('中文摘要系统')}", headers=AUTH)
    assert raw.status_code == 200 and raw.json()["id"] == created.id == by_id.id
    with pytest.raises(ApiError) as err:
        await client.get_project("no such project")
    assert err.value.status_code == 404 and err.value.code == "project_not_found"


async def test_patch_changes_only_given_fields_and_archives(client: TrainyardClient,
                                                           server: Server) -> None:
    created = await client.create_project(project_body("patchme"))
    changed = await client.update_project("patchme", ProjectUpdate(
        owner="new owner", tags=["x"], dataset_name="other-set"))
    assert (changed.owner, changed.tags, changed.dataset_name) == ("new owner", ["x"],
                                                                  "other-set")
    assert changed.objective == created.objective
    assert changed.updated_at > created.updated_at
    archived = await client.update_project(created.id, ProjectUpdate(status="archived"))
    assert archived.status == "archived"
    again = await client.update_project(created.id, ProjectUpdate(status="active"))
    assert again.status == "active"
    refused = httpx.patch(f"{server.url}/projects/{created.id}", headers=AUTH,
                          json={"dataset_name": "a/../b"})
    assert refused.status_code == 400 and refused.json()["code"] == "unsafe_name"
    assert (await client.get_project(created.id)).dataset_name == "other-set"


async def test_projects_survive_a_server_restart(server: Server) -> None:
    async with server.client() as api:
        created = await api.create_project(project_body("durable"))
    server.stop()
    server.start()
    async with server.client() as api:
        again = await api.get_project("durable")
    assert again.id == created.id and again.tags == created.tags


def test_the_unfiltered_listing_fast_path_answers_like_the_framework(server: Server) -> None:
    for name in ("one", "two"):
        httpx.post(f"{server.url}/projects", headers=AUTH, json={
            "name": name, "objective": "o", "task_type": "t", "owner": "me",
            "dataset_name": "d", "training_yaml_name": "y"}).raise_for_status()
    fast = httpx.get(f"{server.url}/projects", headers=AUTH)
    framework = httpx.get(f"{server.url}/projects", params={"status": "active"}, headers=AUTH)
    assert fast.status_code == framework.status_code == 200
    assert fast.content == framework.content
    assert fast.headers["content-type"] == framework.headers["content-type"]
    refused = httpx.get(f"{server.url}/projects")
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    # A write shows at once, through either path.
    httpx.patch(f"{server.url}/projects/one", headers=AUTH, json={"owner": "you"})
    owners = {p["name"]: p["owner"] for p in httpx.get(f"{server.url}/projects",
                                                        headers=AUTH).json()}
    assert owners == {"one": "you", "two": "me"}
