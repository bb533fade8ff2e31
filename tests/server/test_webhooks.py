"""Webhooks: signed, retried, per-platform, never lost to a kill -9, and a dead or slow
endpoint never holds up a live one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import httpx
import pytest

from ..conftest import TOKEN, Server, free_port
from ..gpu_replay import eight_gpus
from .receiver import Receiver

ADMIN = {"Authorization": f"Bearer {TOKEN}"}
TRAIN = "python3 tiny_trainer.py --config configs/tiny.yaml"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    live = Receiver().start()
    yield live
    live.stop()


def hook(server: Server, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/webhooks", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json())


def project(server: Server, name: str = "sft") -> None:
    body = {"name": name, "objective": "o", "task_type": "t", "owner": "o",
            "dataset_name": "tiny_corpus", "training_yaml_name": "tiny.yaml"}
    assert httpx.post(f"{server.url}/projects", json=body, headers=ADMIN).status_code == 201


def launch(server: Server, name: str = "sft") -> str:
    response = httpx.post(f"{server.url}/projects/{name}/runs", json={"start_command": TRAIN},
                          headers=ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def deliveries(server: Server, hook_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/webhooks/{hook_id}/deliveries", headers=ADMIN)
    assert response.status_code == 200
    return list(response.json())


def wait_state(server: Server, hook_id: str, state: str, timeout: float = 30.0
               ) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = deliveries(server, hook_id)
        if found and all(d["state"] == state for d in found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (docs/team.md shows the same five lines)."""
    expected = hmac.new(secret.encode(), headers["X-Trainyard-Timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", headers["X-Trainyard-Signature"])


def test_json_deliveries_are_signed_and_say_what_happened(
        server: Server, receiver: Receiver) -> None:
    project(server)
    project(server, "other")
    hook(server, url=receiver.url, events=["run.started", "run.completed"], project="other")
    made = hook(server, url=receiver.url, events=["run.started", "run.completed"],
                secret="s3cret-value", project="sft")
    assert made["has_secret"] and "secret" not in made
    run_id = launch(server)
    [started, completed] = receiver.wait(2)
    for got, event in ((started, "run.started"), (completed, "run.completed")):
        assert got.headers["X-Trainyard-Event"] == event
        assert verify("s3cret-value", got.headers, got.body)
        assert not verify("other-secret", got.headers, got.body)
    body = json.loads(completed.body)
    assert body["event"] == "run.completed" and body["run"]["id"] == run_id
    assert body["project"]["name"] == "sft" and body["run"]["exit_code"] == 0
    assert body["run"]["created_by"] == "admin" and body["delivery"] == completed.headers[
        "X-Trainyard-Delivery"]
    assert "sft: run" in body["message"] and "loss" in body["message"]
    assert started.headers["X-Trainyard-Delivery"] != completed.headers["X-Trainyard-Delivery"]
    done = wait_state(server, made["id"], "delivered")
    assert [a["status_code"] for d in done for a in d["attempts"]] == [200, 200]
    assert len(receiver.received) == 2  # the hook of project "other" heard nothing


def test_5xx_is_retried_other_4xx_is_not(server: Server) -> None:
    flaky = Receiver(fail_first=2).start()
    gone = Receiver(status=404).start()
    try:
        project(server)
        retried = hook(server, url=flaky.url, events=["run.completed"])
        refused = hook(server, url=gone.url, events=["run.completed"])
        launch(server)
        [done] = wait_state(server, retried["id"], "delivered")
        assert [a["status_code"] for a in done["attempts"]] == [500, 500, 200]
        [failed] = wait_state(server, refused["id"], "failed")
        assert [a["status_code"] for a in failed["attempts"]] == [404]
        assert len(gone.received) == 1
    finally:
        flaky.stop()
        gone.stop()


def test_a_dead_and_a_slow_endpoint_do_not_hold_up_a_live_one(
        server: Server, receiver: Receiver) -> None:
    slow = Receiver(delay=12.0).start()
    try:
        project(server)
        dead = hook(server, url=f"http://127.0.0.1:{free_port()}/x", events=["run.completed"])
        hook(server, url=slow.url, events=["run.completed"])
        hook(server, url=receiver.url, events=["run.completed"])
        launch(server)
        [got] = receiver.wait(1)
        slow.wait(1)
        assert len(slow.received) == 1  # still waiting for its answer: the live one was not
        # The API answers meanwhile.
        assert httpx.get(f"{server.url}/projects", headers=ADMIN, timeout=2).status_code == 200
        [refused] = deliveries(server, dead["id"])
        assert refused["state"] == "pending" and refused["attempts"][0]["status_code"] is None
        assert "Connect" in refused["attempts"][0]["error"]
        assert json.loads(got.body)["event"] == "run.completed"
    finally:
        slow.stop()


def test_a_kill_9_with_a_delivery_in_flight_still_delivers_after_restart(
        server: Server) -> None:
    slow = Receiver(delay=30.0).start()
    try:
        project(server)
        made = hook(server, url=slow.url, events=["run.completed"])
        launch(server)
        [first] = slow.wait(1)  # sent; its answer will never come
        server.stop(signal.SIGKILL)
        slow.delay = 0.0
        server.start()
        [done] = wait_state(server, made["id"], "delivered")
        again = slow.wait(2)[1]
        assert again.headers["X-Trainyard-Delivery"] == first.headers["X-Trainyard-Delivery"]
        assert done["attempts"][-1]["status_code"] == 200
    finally:
        slow.stop()


def test_chat_platform_formats_and_signing(server: Server, receiver: Receiver) -> None:
    for fmt, secret in (("feishu", "fs-secret"), ("dingtalk", "SECdt"), ("wecom", None),
                        ("slack", None)):
        made = hook(server, url=receiver.url + "?access_token=abc", events=["run.failed"],
                    format=fmt, **({"secret": secret} if secret else {}))
        tested = httpx.post(f"{server.url}/webhooks/{made['id']}/test", headers=ADMIN,
                            timeout=20)
        assert tested.status_code == 200 and tested.json()["state"] == "delivered"
    feishu, dingtalk, wecom, slack = (json.loads(r.body) | {"_path": r.path}
                                      for r in receiver.wait(4))
    assert feishu["msg_type"] == "text" and "test" in feishu["content"]["text"]
    key = f"{feishu['timestamp']}\nfs-secret".encode()
    assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()
                                              ).decode()
    query = parse_qs(urlsplit(dingtalk["_path"]).query)
    assert query["access_token"] == ["abc"] and dingtalk["msgtype"] == "text"
    stamp = query["timestamp"][0]
    mac = hmac.new(b"SECdt", f"{stamp}\nSECdt".encode(), hashlib.sha256).digest()
    assert unquote_plus(query["sign"][0]) == base64.b64encode(mac).decode() or \
        query["sign"][0] == base64.b64encode(mac).decode()
    assert wecom["msgtype"] == "text" and wecom["text"]["content"]
    assert "sign" not in parse_qs(urlsplit(wecom["_path"]).query)
    assert set(slack) == {"text", "_path"}


def test_bad_webhooks_are_refused_and_listed_ones_can_go(server: Server,
                                                          receiver: Receiver) -> None:
    for body, code in (({"url": "ftp://x/y", "events": ["run.failed"]}, 400),
                       ({"url": "http://[", "events": ["run.failed"]}, 400),
                       ({"url": receiver.url, "events": ["run.exploded"]}, 400),
                       ({"url": receiver.url, "events": []}, 400),
                       ({"url": receiver.url, "events": ["run.failed"], "format": "icq"}, 400),
                       ({"url": receiver.url, "events": ["run.failed"], "project": "nope"},
                        404)):
        response = httpx.post(f"{server.url}/webhooks", json=body, headers=ADMIN)
        assert response.status_code == code, (body, response.text)
    assert httpx.get(f"{server.url}/webhooks", headers=ADMIN).json() == []
    made = hook(server, url=receiver.url, events=["run.failed"])
    assert [h["id"] for h in httpx.get(f"{server.url}/webhooks", headers=ADMIN).json()] == [
        made["id"]]
    assert httpx.delete(f"{server.url}/webhooks/{made['id']}", headers=ADMIN).status_code == 204
    assert httpx.delete(f"{server.url}/webhooks/{made['id']}",
                        headers=ADMIN).status_code == 404
    assert httpx.post(f"{server.url}/webhooks/wh_nope/test", headers=ADMIN).status_code == 404


def test_queued_and_canceled_runs_are_told_with_who_asked(tmp_path: Path, workspace: Path,
                                                          receiver: Receiver) -> None:
    replay = eight_gpus(tmp_path / "8.jsonl")
    srv = Server(data_dir=tmp_path / "data", workspace=workspace, env_extra={
        "TRAINYARD_GPU_SOURCE": f"replay:{replay}", "TRAINYARD_GPU_INTERVAL": "0.2"}).start()
    try:
        while len(httpx.get(f"{srv.url}/gpus", headers=ADMIN).json()["gpus"]) < 8:
            time.sleep(0.1)
        body = {"name": "big", "objective": "o", "task_type": "t", "owner": "o", "gpus": 8,
                "dataset_name": "tiny_corpus", "training_yaml_name": "tiny.yaml"}
        assert httpx.post(f"{srv.url}/projects", json=body, headers=ADMIN).status_code == 201
        hook(srv, url=receiver.url, events=["run.queued", "run.canceled"], format="wecom")
        runs = [httpx.post(f"{srv.url}/projects/big/runs", headers=ADMIN, json={
            "start_command": "sleep 30", "output_dir": f"o/{i}"}).json()["id"] for i in (1, 2)]
        receiver.wait(2)  # each entered the queue
        canceled = httpx.post(f"{srv.url}/projects/big/runs/{runs[1]}/cancel", headers=ADMIN,
                              timeout=60)
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        texts = [json.loads(r.body)["text"]["content"] for r in receiver.wait(3)]
        assert all(runs[i] in texts[i] and "queued" in texts[i] for i in (0, 1)), texts
        assert runs[1] in texts[2] and "canceled" in texts[2] and "by admin" in texts[2]
        httpx.post(f"{srv.url}/projects/big/runs/{runs[0]}/cancel", headers=ADMIN, timeout=60)
    finally:
        srv.stop()
