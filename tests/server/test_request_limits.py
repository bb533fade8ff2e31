"""Limits on request heads and bodies: answered at once with the error shape, and a huge
header is never read into memory whole."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.http_limits import MAX_HEAD_BYTES, MAX_HEADERS, MAX_URL_BYTES

from ..conftest import TOKEN, Server, module_server

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def limits_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from module_server(tmp_path_factory, "limits")


def _rss_kib(srv: Server) -> int:
    assert srv.proc is not None
    status = Path(f"/proc/{srv.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("VmRSS:")))


def _send(srv: Server, head: bytes, *, extra: int = 0) -> tuple[int, dict[str, object]]:
    """Send ``head`` (then ``extra`` more header bytes, as long as the server reads them);
    return the status and JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as sock:
        sock.sendall(head)
        block = b"a" * (1 << 20)
        try:
            while extra > 0:
                sock.sendall(block)
                extra -= len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused: the server stopped reading and closed
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    head_part, _, body = answer.partition(b"\r\n\r\n")
    return int(head_part.split()[1]), json.loads(body)


def _get(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: t", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_a_100_mb_header_is_431_without_reading_it(limits_server: Server) -> None:
    before = _rss_kib(limits_server)
    status, body = _send(limits_server, _get("/healthz", {}) + b"X-Big: ", extra=100 << 20)
    assert status == 431 and body["code"] == "headers_too_large" and body["message"]
    assert _rss_kib(limits_server) - before < 20_000  # KiB: nowhere near 100 MB
    assert httpx.get(f"{limits_server.url}/healthz").status_code == 200


def test_heads_just_under_the_limits_are_served(limits_server: Server) -> None:
    fields = {f"X-F{i}": "v" for i in range(MAX_HEADERS - 10)}
    response = httpx.get(f"{limits_server.url}/healthz", headers=fields)
    assert response.status_code == 200
    big = httpx.get(f"{limits_server.url}/healthz", headers={"X-Big": "b" * (MAX_HEAD_BYTES // 2)})
    assert big.status_code == 200
    url = httpx.get(f"{limits_server.url}/healthz?pad={'q' * (MAX_URL_BYTES - 100)}")
    assert url.status_code == 200


@pytest.mark.parametrize(("head", "status", "code"), [
    (_get("/healthz", {f"X-F{i}": "v" for i in range(MAX_HEADERS + 1)}), 431, "too_many_headers"),
    (_get("/healthz", {"X-Big": "b" * (MAX_HEAD_BYTES + 1)}) + b"\r\n", 431, "headers_too_large"),
    (_get("/healthz?" + "u" * (MAX_URL_BYTES + 1), {}) + b"\r\n", 414, "url_too_long"),
], ids=["header-count", "header-bytes", "url-length"])
def test_heads_past_a_limit_are_refused(limits_server: Server, head: bytes, status: int,
                                        code: str) -> None:
    got, body = _send(limits_server, head + b"\r\n")
    assert got == status and body["code"] == code and body["status_code"] == status


def test_a_body_past_1_mib_is_413(limits_server: Server) -> None:
    response = httpx.post(f"{limits_server.url}/projects", headers=AUTH,
                          json={"name": "big", "description": "d" * (1 << 20)})
    assert response.status_code == 413 and response.json()["code"] == "body_too_large"
    assert httpx.get(f"{limits_server.url}/projects", headers=AUTH).json() == []


def test_pipelined_requests_on_one_connection_are_all_served(limits_server: Server) -> None:
    # Several heads in one read: each counts on its own, none against the next.
    one = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"p" * 20_000 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", limits_server.port), timeout=20) as sock:
        sock.sendall(one * 5 + b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.count(b"HTTP/1.1 200") == 6
