"""Every route in the OpenAPI document declares its role, and each role gets exactly
what the issue grants it: viewer reads and streams; operator also changes projects and
runs; admin also manages users, webhooks and the audit trail. A route added without a
role shows up here as a failure, whatever its path."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from common.team import ROLES

from ..conftest import TOKEN, Server

ADMIN_ONLY = ("/users", "/audit", "/webhooks")
PUBLIC = {("get", "/healthz")}


def expected_role(method: str, path: str) -> str:
    if path.startswith(ADMIN_ONLY):
        return "admin"
    return "viewer" if method == "get" else "operator"


def operations(server: Server) -> list[tuple[str, str, dict[str, Any]]]:
    document = httpx.get(f"{server.url}/schema/openapi.json").json()
    found = [(method, path, op) for path, item in document["paths"].items()
             for method, op in item.items() if method in ("get", "post", "put", "patch", "delete")]
    assert len(found) > 20
    return found


def declared_role(op: dict[str, Any]) -> str | None:
    roles = [role for requirement in op.get("security") or []
             for role in requirement.get("BearerToken", [])]
    return roles[0] if len(roles) == 1 else None


def test_every_route_declares_the_role_the_rules_give_it(server: Server) -> None:
    for method, path, op in operations(server):
        if (method, path) in PUBLIC:
            continue
        assert declared_role(op) == expected_role(method, path), (method, path, op.get(
            "security"))
        assert "403" in op["responses"], (method, path)


def request(server: Server, method: str, path: str, token: str) -> httpx.Response:
    url = server.url + re.sub(r"\{[^}]+\}", "x", path)
    with httpx.stream(method.upper(), url, json={} if method != "get" else None,
                      headers={"Authorization": f"Bearer {token}"}, timeout=10) as response:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return response  # a live stream: its status is the answer
        response.read()
        return response


@pytest.fixture
def tokens(server: Server) -> dict[str, str]:
    made = {"admin": TOKEN}
    for role in ("viewer", "operator"):
        body = httpx.post(f"{server.url}/users", json={"name": f"u-{role}", "role": role},
                          headers={"Authorization": f"Bearer {TOKEN}"}).json()
        made[role] = body["token"]
    return made


def test_each_role_against_every_route(server: Server, tokens: dict[str, str]) -> None:
    for method, path, op in operations(server):
        if (method, path) in PUBLIC:
            continue
        needed = declared_role(op)
        assert needed is not None
        for role in ROLES:
            response = request(server, method, path, tokens[role])
            allowed = ROLES.index(role) >= ROLES.index(needed)
            where = (role, method, path, response.status_code)
            if allowed:
                assert response.status_code not in (401, 403), where
            else:
                assert response.status_code == 403, where
                body = response.json()
                assert body["code"] == "forbidden", where
                assert needed in body["message"] and body["details"]["role_needed"] == needed


def test_a_refused_request_changes_nothing_and_names_the_role(
        server: Server, tokens: dict[str, str]) -> None:
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    response = httpx.post(f"{server.url}/projects", headers=viewer, json={
        "name": "p", "objective": "o", "task_type": "t", "owner": "me",
        "dataset_name": "tiny_corpus", "training_yaml_name": "tiny.yaml"})
    assert response.status_code == 403
    assert response.json()["message"].startswith("this needs role operator")
    assert httpx.get(f"{server.url}/projects", headers=viewer).json() == []
