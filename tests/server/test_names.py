"""Names a client sends are refused, never trimmed, when they would mislead or break a URL;
names stored before these rules still resolve."""

from __future__ import annotations

import sqlite3
from urllib.parse import quote

import httpx
import pytest

from ..conftest import TOKEN, Server

AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = {"name": "ok", "objective": "o", "task_type": "t", "owner": "me",
        "dataset_name": "tiny_corpus", "training_yaml_name": "tiny.yaml"}


@pytest.mark.parametrize(("name", "words"), [
    (".", "must not be '.'"),
    ("..", "must not be '..'"),
    ("what?#x", "U+003F QUESTION MARK"),
    ("a#b", "U+0023 NUMBER SIGN"),
    ("a\\b", "U+005C REVERSE SOLIDUS"),
    ("  padded  ", "must not start or end with a space (did you mean 'padded'?)"),
    ("evil\u202egnp.exe", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("zero\u200bwidth", "U+200B ZERO WIDTH SPACE"),
    ("join\u200dme", "U+200D ZERO WIDTH JOINER"),
    ("next\u0085line", "U+0085 NEXT LINE"),
    ("line\u2028sep", "U+2028 LINE SEPARATOR"),
    ("para\u2029sep", "U+2029 PARAGRAPH SEPARATOR"),
    ("soft\u00adhyphen", "U+00AD SOFT HYPHEN"),
    ("tab\there", "U+0009 CHARACTER TABULATION"),
    ("bom\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("proj_mine", "id prefix"),
])
def test_a_bad_project_name_is_refused_naming_the_character(server: Server, name: str,
                                                             words: str) -> None:
    response = httpx.post(f"{server.url}/projects", headers=AUTH, json={**GOOD, "name": name})
    assert response.status_code == 400, response.text
    [error] = response.json()["details"]["errors"]
    assert error["field"] == "name" and words in error["message"]
    assert httpx.get(f"{server.url}/projects", headers=AUTH).json() == []


@pytest.mark.parametrize(("field", "value", "words"), [
    ("tags", ["ok", "rtl\u202b"], "tag 2 ('rtl\\u202b') must not hold U+202B RIGHT-TO-LEFT "
                                  "EMBEDDING"),
    ("owner", "me\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("dataset_name", "data\u200b", "U+200B ZERO WIDTH SPACE"),
    ("training_yaml_name", " tiny.yaml", "must not start or end with a space"),
    ("container", "box\u2028", "U+2028 LINE SEPARATOR"),
])
def test_every_name_a_client_sends_follows_the_rules(server: Server, field: str,
                                                     value: object, words: str) -> None:
    response = httpx.post(f"{server.url}/projects", headers=AUTH, json={**GOOD, field: value})
    assert response.status_code == 400, response.text
    [error] = response.json()["details"]["errors"]
    assert error["field"] == field and words in error["message"]
    httpx.post(f"{server.url}/projects", headers=AUTH, json=GOOD).raise_for_status()
    patched = httpx.patch(f"{server.url}/projects/ok", headers=AUTH, json={field: value})
    assert patched.status_code == 400
    assert words in patched.json()["details"]["errors"][0]["message"]


def test_ordinary_names_in_any_script_are_kept_exactly(server: Server) -> None:
    for name in ("印章大模型", "Qwen2.5 SFT (v2)", "a.b-c_d", "...", "مشروع", "emoji 🚀"):
        response = httpx.post(f"{server.url}/projects", headers=AUTH, json={**GOOD, "name": name})
        assert response.status_code == 201, response.text
        assert response.json()["name"] == name
        got = httpx.get(f"{server.url}/projects/{quote(name, safe='')}", headers=AUTH)
        assert got.status_code == 200 and got.json()["name"] == name


def test_odd_names_stored_before_the_rules_still_resolve(server: Server) -> None:
    odd = ["  padded  ", "what?#x", "rtl\u202ename", ".."]
    ids = []
    for number in range(len(odd)):
        response = httpx.post(f"{server.url}/projects", headers=AUTH,
                              json={**GOOD, "name": f"plain{number}"})
        ids.append(response.json()["id"])
    server.stop()
    with sqlite3.connect(server.data_dir / "trainyard.db") as db:
        for project_id, name in zip(ids, odd, strict=True):
            db.execute("UPDATE projects SET name = ? WHERE id = ?", (name, project_id))
    server.start()
    listed = {p["id"]: p["name"] for p in httpx.get(f"{server.url}/projects",
                                                      headers=AUTH).json()}
    assert [listed[i] for i in ids] == odd
    for project_id, name in zip(ids, odd, strict=True):
        by_id = httpx.get(f"{server.url}/projects/{project_id}", headers=AUTH)
        assert by_id.status_code == 200 and by_id.json()["name"] == name
        if name != "..":  # clients normalise a '..' path segment away; the id still works
            by_name = httpx.get(f"{server.url}/projects/{quote(name, safe='')}", headers=AUTH)
            assert by_name.status_code == 200 and by_name.json()["id"] == project_id
        patched = httpx.patch(f"{server.url}/projects/{project_id}", headers=AUTH,
                              json={"owner": "still editable"})
        assert patched.status_code == 200, patched.text
