"""Users and tokens: one per person, hashes only, revoked everywhere within 5 s, and the
token of a database made before users existed keeps working as user ``admin``."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from ..conftest import REPO, TOKEN, Server

FIXTURES = REPO / "tests" / "fixtures" / "db"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_user(server: Server, name: str, role: str) -> str:
    response = httpx.post(f"{server.url}/users", json={"name": name, "role": role},
                          headers=ADMIN)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == name and body["role"] == role
    return str(body["token"])


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", *args], env=server.env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_a_database_made_before_users_keeps_its_token_as_admin(
        tmp_path: Path, workspace: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "main-3e162c5.db", data / "trainyard.db")
    old_token = (FIXTURES / "main-3e162c5.token").read_text().strip()
    srv = Server(data_dir=data, workspace=workspace, env_extra={"TRAINYARD_TOKEN": ""}).start()
    try:
        projects = httpx.get(f"{srv.url}/projects", headers=bearer(old_token))
        assert projects.status_code == 200
        assert [p["name"] for p in projects.json()] == ["legacy"]
        users = httpx.get(f"{srv.url}/users", headers=bearer(old_token)).json()
        assert [(u["name"], u["role"]) for u in users] == [("admin", "admin")]
        assert "ty_" not in srv.output()  # no new token was generated
    finally:
        srv.stop()


def test_users_are_added_rotated_and_revoked_over_http(server: Server) -> None:
    bob = add_user(server, "bob", "viewer")
    assert httpx.get(f"{server.url}/projects", headers=bearer(bob)).status_code == 200
    listed = httpx.get(f"{server.url}/users", headers=ADMIN).json()
    assert {"name": "bob", "role": "viewer"}.items() <= next(
        u for u in listed if u["name"] == "bob").items()
    assert all("token" not in u for u in listed)
    db = sqlite3.connect(server.data_dir / "trainyard.db")
    assert not db.execute("SELECT 1 FROM api_tokens WHERE token_hash = ?", (bob,)).fetchone()

    again = httpx.post(f"{server.url}/users", json={"name": "bob"}, headers=ADMIN)
    assert again.status_code == 409 and again.json()["code"] == "user_exists"
    bad = httpx.post(f"{server.url}/users", json={"name": "../x", "role": "root"},
                     headers=ADMIN)
    assert bad.status_code == 400

    rotated = httpx.post(f"{server.url}/users/bob/token", headers=ADMIN)
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    assert new != bob
    assert httpx.get(f"{server.url}/projects", headers=bearer(bob)).status_code == 401
    assert httpx.get(f"{server.url}/projects", headers=bearer(new)).status_code == 200

    assert httpx.delete(f"{server.url}/users/bob", headers=ADMIN).status_code == 204
    assert httpx.get(f"{server.url}/projects", headers=bearer(new)).status_code == 401
    gone = httpx.delete(f"{server.url}/users/bob", headers=ADMIN)
    assert gone.status_code == 404 and gone.json()["code"] == "user_not_found"


def test_cli_adds_a_user_once_and_a_revoke_stops_the_token_within_5s(server: Server) -> None:
    added = cli(server, "user", "add", "carol", "--role", "operator")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("ty_") and "shown once" in added.stderr
    assert token.encode() not in (server.data_dir / "trainyard.db").read_bytes()
    # A running server sees a user made by another process at its next look-up.
    assert httpx.get(f"{server.url}/projects", headers=bearer(token)).status_code == 200
    listed = cli(server, "user", "list")
    assert "carol\toperator" in listed.stdout
    twice = cli(server, "user", "add", "carol")
    assert twice.returncode == 1 and "exists" in twice.stderr

    assert cli(server, "user", "revoke", "carol").returncode == 0
    revoked_at = time.monotonic()
    trail = httpx.get(f"{server.url}/audit", params={"target": "/users/carol"},
                      headers=ADMIN).json()["entries"]
    assert [(e["action"], e["client"]) for e in trail] == [("createUser", "local"),
                                                           ("revokeUser", "local")]
    assert trail[0]["actor"].startswith("cli:")
    while httpx.get(f"{server.url}/projects", headers=bearer(token)).status_code == 200:
        assert time.monotonic() - revoked_at < 5.0, "the revoked token still works after 5 s"
        time.sleep(0.1)


def test_a_revoked_token_ends_its_open_stream(server: Server) -> None:
    dave = add_user(server, "dave", "viewer")
    lines: list[str] = []
    ended = threading.Event()

    def watch() -> None:
        with httpx.stream("GET", f"{server.url}/events", headers=bearer(dave),
                          timeout=30) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                lines.append(line)
        ended.set()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    time.sleep(0.5)
    assert not ended.is_set()
    assert httpx.delete(f"{server.url}/users/dave", headers=ADMIN).status_code == 204
    assert ended.wait(5.0), "the stream of a revoked token is still open after 5 s"
    assert "event: revoked" in lines


def test_token_command_on_a_pinned_server_says_so_and_changes_nothing(server: Server) -> None:
    before = sqlite3.connect(server.data_dir / "trainyard.db").execute(
        "SELECT name, token_hash FROM api_tokens").fetchall()
    result = cli(server, "token")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "TRAINYARD_TOKEN" in result.stderr and "pinned" in result.stderr
    after = sqlite3.connect(server.data_dir / "trainyard.db").execute(
        "SELECT name, token_hash FROM api_tokens").fetchall()
    assert after == before
    assert httpx.get(f"{server.url}/projects", headers=ADMIN).status_code == 200
