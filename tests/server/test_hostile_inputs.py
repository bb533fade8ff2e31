"""Hostile inputs, each one a case a probe of the server found (issue 17): every one gets a
4xx with the usual error shape, none a 500, and none changes what is stored."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..conftest import TOKEN, Server, make_workspace

AUTH = {"Authorization": f"Bearer {TOKEN}"}
TOO_BIG = str(1 << 63)  # one past SQLite's INTEGER
PROJECT = {"name": "hostile", "objective": "o", "task_type": "t", "owner": "o",
           "dataset_name": "tiny_corpus", "training_yaml_name": "tiny.yaml"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    root = tmp_path_factory.mktemp("hostile")
    srv = Server(data_dir=root / "data", workspace=make_workspace(root / "workspace")).start()
    httpx.post(f"{srv.url}/projects", headers=AUTH, json=PROJECT).raise_for_status()
    run = httpx.post(f"{srv.url}/projects/hostile/runs", headers=AUTH,
                     json={"start_command": "echo hello"})
    run.raise_for_status()
    yield srv, run.json()["id"]
    srv.stop()


def _error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status_code"] == status and body["code"] and body["message"]
    if code is not None:
        assert body["code"] == code, body


def _projects(srv: Server) -> object:
    return httpx.get(f"{srv.url}/projects", headers=AUTH).json()


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/projects", '{"name": "deep", "objective": "o", "task_type": "t", "owner": "o", '
                          '"dataset_name": "d", "training_yaml_name": "y", "tags": '
                          + _deep(1000) + "}"),
    ("PATCH", "/projects/hostile", '{"tags": ' + _deep(1000) + "}"),
    ("POST", "/projects/hostile/runs", '{"start_command": "true", "env": '
                                       + "{\"a\": " * 1000 + "1" + "}" * 1001),
    ("POST", "/projects", _deep(100_000)),
])
def test_deeply_nested_json_is_400_and_changes_nothing(target: tuple[Server, str], method: str,
                                                       path: str, body: str) -> None:
    srv, _ = target
    before = _projects(srv)
    response = httpx.request(method, srv.url + path, content=body,
                             headers={**AUTH, "Content-Type": "application/json"})
    _error(response, 400, "json_too_deep")
    assert _projects(srv) == before


def test_json_nested_as_deep_as_allowed_is_validated_as_usual(
        target: tuple[Server, str]) -> None:
    srv, _ = target
    response = httpx.patch(f"{srv.url}/projects/hostile", headers=AUTH,
                           content='{"tags": ' + _deep(31) + "}")
    _error(response, 415)  # no Content-Type: refused before anything else
    response = httpx.patch(f"{srv.url}/projects/hostile", content='{"tags": ' + _deep(31) + "}",
                           headers={**AUTH, "Content-Type": "application/json"})
    _error(response, 400, "validation_failed")


@pytest.mark.parametrize("query", [
    f"logs?after={TOO_BIG}", f"logs?after={'9' * 40}", f"logs?limit={TOO_BIG}",
    f"metrics?after_step={TOO_BIG}", f"metrics?after_step=-{TOO_BIG}",
    f"metrics?limit={TOO_BIG}", "logs?after=%C2%B2", "logs?after=%D9%A3",
    f"events?last_id={TOO_BIG}", "events?last_id=%C2%B2", "events?last_id=%D9%A3",
    "events?last_id=-1", f"cancel?grace_seconds={'9' * 400}",
])
def test_integers_out_of_range_or_not_ascii_are_400(target: tuple[Server, str],
                                                    query: str) -> None:
    srv, run_id = target
    method = "POST" if query.startswith("cancel") else "GET"
    response = httpx.request(method, f"{srv.url}/projects/hostile/runs/{run_id}/{query}",
                             headers=AUTH, timeout=10)
    _error(response, 400)


@pytest.mark.parametrize("path", [f"/audit?after={TOO_BIG}", f"/audit?limit={TOO_BIG}",
                                  f"/runs?limit={TOO_BIG}", "/audit?after=%D9%A3"])
def test_integers_out_of_range_elsewhere_are_400(target: tuple[Server, str],
                                                 path: str) -> None:
    srv, _ = target
    _error(httpx.get(f"{srv.url}{path}", headers=AUTH, timeout=10), 400)


def _raw_get(srv: Server, path: str, header: bytes) -> bytes:
    """A request with raw header bytes (httpx would refuse to send some of them)."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                     b"Authorization: Bearer " + TOKEN.encode() + b"\r\n" + header + b"\r\n\r\n")
        data = b""
        while (chunk := sock.recv(65536)) and not data.startswith(b"HTTP/1.1 200"):
            data += chunk  # an error answer ends with the connection (Connection: close)
        return data


@pytest.mark.parametrize("value", [b"\xb2", TOO_BIG.encode(), "٣".encode(), b"1" * 99])
def test_a_bad_last_event_id_header_is_400_before_the_stream_starts(
        target: tuple[Server, str], value: bytes) -> None:
    srv, run_id = target
    answer = _raw_get(srv, f"/projects/hostile/runs/{run_id}/events",
                      b"Last-Event-ID: " + value)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b'"code":"invalid_event_id"' in answer or b'"code":"validation_failed"' in answer


def test_a_good_last_event_id_still_resumes(target: tuple[Server, str]) -> None:
    srv, run_id = target
    with httpx.stream("GET", f"{srv.url}/projects/hostile/runs/{run_id}/events",
                      headers={**AUTH, "Last-Event-ID": "2"}, timeout=10) as response:
        body = b"".join(response.iter_bytes())
    assert response.status_code == 200 and b"id: 1\n" not in body and b"event: end" in body


async def test_concurrent_creates_of_one_name_get_one_201_and_409s(
        target: tuple[Server, str]) -> None:
    srv, _ = target
    async with httpx.AsyncClient(base_url=srv.url, headers=AUTH, timeout=30) as api:
        answers = await asyncio.gather(*[
            api.post("/projects", json={**PROJECT, "name": "raced"}) for _ in range(50)])
    assert Counter(a.status_code for a in answers) == {201: 1, 409: 49}
    for answer in answers:
        if answer.status_code == 409:
            _error(answer, 409, "project_exists")
    names = [p["name"] for p in _projects(srv)]  # type: ignore[attr-defined]
    assert names.count("raced") == 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "", "application/jsonx", "multipart/form-data"])
def test_a_json_body_must_say_it_is_json(target: tuple[Server, str], content_type: str) -> None:
    srv, _ = target
    before = _projects(srv)
    headers = {**AUTH, "Content-Type": content_type} if content_type else AUTH
    response = httpx.post(f"{srv.url}/projects", headers=headers,
                          content=b'{"name": "typed", "objective": "o", "task_type": "t", '
                                  b'"owner": "o", "dataset_name": "d", "training_yaml_name": "y"}')
    _error(response, 415, "unsupported_media_type")
    assert _projects(srv) == before
    ok = httpx.post(f"{srv.url}/projects", json={**PROJECT, "name": "typed"},
                    headers={**AUTH, "Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code in (201, 409)


def test_server_log_has_no_unhandled_error(target: tuple[Server, str]) -> None:
    srv, _ = target
    assert "unhandled error" not in srv.output()
    assert Path(srv.data_dir).is_dir()
