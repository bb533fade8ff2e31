"""One error shape for every 400: ``details.errors`` lists each bad field, in words."""

from __future__ import annotations

import httpx
import pytest

from ..conftest import TOKEN, Server

AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = {"name": "ok", "objective": "o", "task_type": "t", "owner": "me",
        "dataset_name": "tiny_corpus", "training_yaml_name": "tiny.yaml"}


def errors_of(response: httpx.Response) -> dict[str | None, str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status_code"] == 400 and body["message"] == body["detail"]
    listed = body["details"]["errors"]
    assert all(set(e) >= {"field", "message"} for e in listed)
    return {e["field"]: e["message"] for e in listed}


def test_a_body_missing_four_fields_names_all_four_and_the_unknown_one(server: Server) -> None:
    response = httpx.post(f"{server.url}/projects", headers=AUTH,
                          json={"name": "x", "owner": "me", "colour": "red"})
    errors = errors_of(response)
    assert errors == {
        "objective": "is required", "task_type": "is required",
        "dataset_name": "is required", "training_yaml_name": "is required",
        "colour": errors["colour"],
    }
    assert "is not a field of this request" in errors["colour"]
    assert "training_yaml_name" in errors["colour"]  # it says which fields there are
    assert response.json()["code"] == "validation_failed"
    assert httpx.get(f"{server.url}/projects", headers=AUTH).json() == []


def test_type_length_and_rule_errors_come_together_without_regex_text(server: Server) -> None:
    response = httpx.post(f"{server.url}/projects", headers=AUTH, json={
        **GOOD, "name": "a\nb", "objective": 7, "tags": ["t"] * 21,
        "save_signal": "SIGKILL", "owner": "  "})
    errors = errors_of(response)
    assert errors == {
        "name": "must not hold U+000A LINE FEED (a control character)",
        "objective": "must be a string, not a whole number",
        "tags": "must hold at most 20 items",
        "save_signal": errors["save_signal"],
        "owner": "must not be blank",
    }
    assert "SIGUSR1" in errors["save_signal"]
    assert "regex" not in response.text and "\\\\x" not in response.text


def test_run_bodies_list_every_field_too(server: Server) -> None:
    httpx.post(f"{server.url}/projects", headers=AUTH, json=GOOD).raise_for_status()
    response = httpx.post(f"{server.url}/projects/ok/runs", headers=AUTH,
                          json={"start_command": " ", "env": {"1st": "x"}, "gpu_count": 2})
    errors = errors_of(response)
    assert errors["start_command"] == "must not be blank"
    assert errors["env"].startswith("must be a variable name") and "'1st'" in errors["env"]
    assert "is not a field" in errors["gpu_count"]
    long = httpx.post(f"{server.url}/projects/ok/runs", headers=AUTH,
                      json={"start_command": "x" * 8193})
    assert errors_of(long) == {"start_command": "must be at most 8,192 characters long"}
    assert httpx.get(f"{server.url}/projects/ok/runs", headers=AUTH).json() == []


@pytest.mark.parametrize("path", ["/projects?status=cancelled", "/projects/ok/runs?status=done"])
def test_an_enum_error_lists_the_allowed_values(server: Server, path: str) -> None:
    httpx.post(f"{server.url}/projects", headers=AUTH, json=GOOD).raise_for_status()
    errors = errors_of(httpx.get(f"{server.url}{path}", headers=AUTH))
    assert "use one of:" in errors["status"]
    allowed = "active, archived" if "runs" not in path else "canceled, completed, failed"
    assert allowed in errors["status"]


def test_every_bad_query_parameter_is_listed(server: Server) -> None:
    httpx.post(f"{server.url}/projects", headers=AUTH, json=GOOD).raise_for_status()
    response = httpx.get(f"{server.url}/projects/ok/runs/run_x/logs?after=-1&limit=0",
                         headers=AUTH)
    assert errors_of(response) == {"after": "must be a whole number at least 0",
                                   "limit": "must be a whole number at least 1"}


def test_malformed_json_and_a_missing_dataset_carry_errors_too(server: Server) -> None:
    response = httpx.post(f"{server.url}/projects", headers={**AUTH, "Content-Type":
                                                             "application/json"},
                          content=b"{nope")
    assert response.json()["code"] == "invalid_request"
    assert list(errors_of(response)) == [None]
    httpx.post(f"{server.url}/projects", headers=AUTH,
               json={**GOOD, "dataset_name": "absent"}).raise_for_status()
    missing = httpx.post(f"{server.url}/projects/ok/runs", headers=AUTH,
                         json={"start_command": "true"})
    assert missing.json()["code"] == "resources_missing"
    assert missing.json()["details"]["missing"]  # the specifics stay
    assert "absent" in errors_of(missing)[None]


def test_the_limits_are_in_the_openapi_document(server: Server) -> None:
    schemas = httpx.get(f"{server.url}/schema/openapi.json").json()["components"]["schemas"]
    run = schemas["RunCreate"]["properties"]
    assert run["start_command"]["maxLength"] == 8192
    assert "8,192" in run["start_command"]["description"]
    assert "128" in run["env"]["description"]
    project = schemas["ProjectCreate"]["properties"]
    assert project["name"]["maxLength"] == 100 and "#" in project["name"]["description"]
    assert project["tags"]["maxItems"] == 20 and "50" in project["tags"]["description"]
    assert project["description"]["maxLength"] == 4000
    assert project["dataset_name"]["maxLength"] == 255
