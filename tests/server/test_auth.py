"""Token auth: every route but /healthz and the docs needs the bearer token."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ..conftest import REPO, TOKEN, Server


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/projects"), ("POST", "/projects"), ("GET", "/projects/x"),
    ("PATCH", "/projects/x"), ("POST", "/projects/x/runs"), ("GET", "/projects/x/runs/r"),
    ("POST", "/projects/x/runs/r/cancel"), ("POST", "/projects/x/runs/r/resume"),
])
def test_routes_need_a_token(server: Server, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-000000000"},
                    {"Authorization": TOKEN}):
        response = httpx.request(method, server.url + path, headers=headers, json={})
        assert response.status_code == 401, (headers, response.text)
        body = response.json()
        assert body["code"] == "unauthorized" and body["message"]
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_health_and_docs_are_open(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
    schema = httpx.get(f"{server.url}/schema/openapi.json")
    assert schema.status_code == 200
    ops = schema.json()["paths"]["/projects/{project_reference}/runs"]["post"]
    assert {"400", "401", "404", "409", "500"} <= ops["responses"].keys()
    assert httpx.get(f"{server.url}/schema/swagger").status_code == 200


def test_first_start_generates_a_token_stores_only_its_hash_and_rotates(
        tmp_path: Path, workspace: Path) -> None:
    srv = Server(data_dir=tmp_path / "data", workspace=workspace,
                 env_extra={"TRAINYARD_TOKEN": ""})
    srv.start()
    try:
        printed = [line.strip() for line in srv.output().splitlines()
                   if line.strip().startswith("ty_")]
        assert len(printed) == 1
        token = printed[0]
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{srv.url}/projects", headers=auth).status_code == 200
        db = (tmp_path / "data" / "trainyard.db").read_bytes()
        assert token.encode() not in db
        rows = sqlite3.connect(tmp_path / "data" / "trainyard.db").execute(
            "SELECT name, role FROM api_tokens").fetchall()
        assert rows == [("admin", "admin")]

        rotated = subprocess.run(
            [sys.executable, "-m", "server", "token"], env=srv.env, cwd=REPO,
            capture_output=True, text=True, check=True)
        new_token = rotated.stdout.strip()
        assert new_token.startswith("ty_") and new_token != token
        time.sleep(5.2)  # running servers re-read tokens within 5 s
        new_auth = {"Authorization": f"Bearer {new_token}"}
        assert httpx.get(f"{srv.url}/projects", headers=new_auth).status_code == 200
        assert httpx.get(f"{srv.url}/projects", headers=auth).status_code == 401
    finally:
        srv.stop()
    # A restart does not print a token again: it already exists.
    srv.start()
    srv.stop()
    assert sum(line.strip().startswith("ty_") for line in srv.output().splitlines()) == 1


@pytest.mark.parametrize(("variable", "value"), [
    ("TRAINYARD_PORT", "eighty"), ("TRAINYARD_EXECUTOR", "kubernetes"),
    ("TRAINYARD_HOST", "not a host"), ("TRAINYARD_WORKSPACE_ROOT", "relative/path"),
    ("TRAINYARD_TOKEN", "short"),
])
def test_bad_configuration_stops_with_one_line_naming_the_variable(
        variable: str, value: str) -> None:
    env = {**os.environ, variable: value}
    result = subprocess.run([sys.executable, "-m", "server", "serve"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0]
