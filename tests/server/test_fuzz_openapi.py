"""No request a client can send yields a 500: schemathesis against our own OpenAPI.

Half the generated requests name a real project and a real (finished) run, so they reach
past "not found" into the handlers. The workspace is emptied once that run is made, so
no generated launch can find a dataset and start a command.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from server.app import create_app
from server.config import Settings

from ..conftest import TOKEN, Server, make_workspace


def _app_schema() -> dict[str, object]:
    # The app's own OpenAPI document, built in-process (no lifespan, no database).
    app = create_app(Settings(executor="local"))
    return app.openapi_schema.to_schema()


# The list-view and GPU streams never end by design: they are probed below instead.
schema = schemathesis.openapi.from_dict(_app_schema()).exclude(
    operation_id=["streamChanges", "streamGpus"])


REAL_IDS: dict[str, str] = {}  # path parameter -> a real id, once the fixture made them


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    real = {name: REAL_IDS[name] for name in path_parameters or {} if name in REAL_IDS}
    if not real:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, **real}])


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("fuzz")
    workspace = make_workspace(root / "workspace")
    srv = Server(data_dir=root / "data", workspace=workspace).start()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    httpx.post(f"{srv.url}/projects", headers=auth,
               json={"name": "fuzz", "objective": "o", "task_type": "t", "owner": "o",
                     "dataset_name": "tiny_corpus", "training_yaml_name": "tiny.yaml"}
               ).raise_for_status()
    run = httpx.post(f"{srv.url}/projects/fuzz/runs", headers=auth,
                     json={"start_command": "echo fuzz"})
    run.raise_for_status()
    run_id = run.json()["id"]
    deadline = time.monotonic() + 30
    while httpx.get(f"{srv.url}/projects/fuzz/runs/{run_id}", headers=auth
                    ).json()["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, "the fuzz run did not finish"
        time.sleep(0.05)
    for folder in ("data", "configs"):  # no generated launch can start a command now
        shutil.rmtree(workspace / folder)
    REAL_IDS.update(project_reference="fuzz", run_id=run_id)
    yield srv
    REAL_IDS.clear()
    srv.stop()


def test_served_document_is_the_one_fuzzed(fuzz_server: Server) -> None:
    served = httpx.get(f"{fuzz_server.url}/schema/openapi.json").json()
    assert served["paths"].keys() == _app_schema()["paths"].keys()  # type: ignore[attr-defined]


@schema.parametrize()
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_request_yields_a_server_error(case: schemathesis.Case, fuzz_server: Server) -> None:
    response = case.call(base_url=fuzz_server.url,
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert body["status_code"] == response.status_code
        assert body["code"] and body["message"]


@pytest.mark.parametrize("path", ["/events", "/gpus/events"])
@pytest.mark.parametrize("last_id", [b"", b"x", b"9" * 50, b"abc.def", "\u00e9t\u00e9".encode(),
                                     b"-1", b"1.2.3"])
def test_endless_streams_take_any_last_event_id(fuzz_server: Server, path: str,
                                                last_id: bytes) -> None:
    headers = {b"Authorization": f"Bearer {TOKEN}".encode(), b"Last-Event-ID": last_id}
    with httpx.stream("GET", fuzz_server.url + path, headers=headers, timeout=10) as response:
        assert response.status_code in (200, 400)
        if response.status_code == 200:
            first = next(response.iter_bytes())
            assert first.startswith(b"retry:")
