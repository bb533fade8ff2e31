"""The audit trail: every mutation with who, what, where from and how it ended; a flood
of refusals is one counted row per source; old rows go after TRAINYARD_AUDIT_DAYS."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import httpx

from ..conftest import TOKEN, Server

ADMIN = {"Authorization": f"Bearer {TOKEN}"}
PROJECT = {"name": "p1", "objective": "o", "task_type": "t", "owner": "o",
           "dataset_name": "tiny_corpus", "training_yaml_name": "tiny.yaml"}


def audit(server: Server, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/audit", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_for(server: Server, check: Any, **params: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        entries: list[dict[str, Any]] = audit(server, **params)["entries"]
        if check(entries):
            return entries
        assert time.monotonic() < deadline, entries
        time.sleep(0.2)


def test_mutations_and_refusals_are_recorded(server: Server) -> None:
    viewer = httpx.post(f"{server.url}/users", json={"name": "vic", "role": "viewer"},
                        headers=ADMIN).json()["token"]
    assert httpx.post(f"{server.url}/projects", json=PROJECT, headers=ADMIN).status_code == 201
    assert httpx.post(f"{server.url}/projects", json=PROJECT, headers=ADMIN).status_code == 409
    refused = httpx.patch(f"{server.url}/projects/p1", json={"owner": "x"},
                          headers={"Authorization": f"Bearer {viewer}"})
    assert refused.status_code == 403
    for _ in range(40):  # a flood of bad tokens
        httpx.delete(f"{server.url}/users/admin", headers={"Authorization": "Bearer nope"})

    mine = wait_for(server, lambda e: len(e) == 2, action="createProject")
    assert [(e["actor"], e["outcome"], e["status"], e["target"]) for e in mine] == [
        ("admin", "ok", 201, "/projects"), ("admin", "project_exists", 409, "/projects")]
    assert mine[0]["client"] == "127.0.0.1" and mine[0]["ts"].endswith("Z")

    [forbidden] = wait_for(server, lambda e: len(e) == 1, actor="vic")
    assert (forbidden["action"], forbidden["outcome"], forbidden["target"]) == (
        "updateProject", "forbidden", "/projects/p1")
    floods = wait_for(server, lambda e: any(x["count"] == 40 for x in e), action="revokeUser")
    assert len([e for e in floods if e["outcome"] == "unauthorized"]) == 1  # one row, counted
    # The admin user still exists: refusals change nothing.
    users = httpx.get(f"{server.url}/users", headers=ADMIN).json()
    assert [u["name"] for u in users] == ["vic"]  # pinned admin is not a stored row here

    page = audit(server, limit=2)
    assert len(page["entries"]) == 2 and page["has_more"]
    rest = audit(server, after=page["next_after"], limit=1000)
    assert rest["entries"][0]["id"] > page["entries"][-1]["id"]
    assert audit(server, target="p1")["entries"][0]["target"] == "/projects/p1"
    denied = httpx.get(f"{server.url}/audit", headers={"Authorization": f"Bearer {viewer}"})
    assert denied.status_code == 403 and "admin" in denied.json()["message"]


def test_entries_older_than_the_retention_are_removed(server: Server) -> None:
    assert httpx.post(f"{server.url}/projects", json=PROJECT, headers=ADMIN).status_code == 201
    wait_for(server, lambda e: len(e) == 1, action="createProject")
    server.stop()
    with sqlite3.connect(server.data_dir / "trainyard.db") as db:
        db.execute("INSERT INTO audit (ts, last_ts, actor, action, target, outcome, status, "
                   "client) VALUES ('2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', "
                   "'old', 'createProject', '/projects', 'ok', 201, '127.0.0.1')")
    server.env_extra["TRAINYARD_AUDIT_DAYS"] = "30"
    server.start()
    actors = [e["actor"] for e in audit(server)["entries"]]
    assert actors == ["admin"]
