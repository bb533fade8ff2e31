"""``GET /compare``: three real trainer runs with different training YAMLs."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from common.client import ApiError, TrainyardClient
from common.models import RunCreate

from ..conftest import TOKEN, Server, project_body
from ..helpers import wait_for_status

TRAIN = "python3 tiny_trainer.py --config configs/tiny.yaml"


async def test_three_runs_side_by_side(client: TrainyardClient, workspace: Path) -> None:
    await client.create_project(project_body("cmp"))
    yaml_path = workspace / "configs" / "tiny.yaml"
    original = yaml_path.read_text()
    variants = [original,
                original.replace("learning_rate: 0.1", "learning_rate: 0.05"),
                original.replace("learning_rate: 0.1", "learning_rate: 0.05")
                + "lora:\n  rank: 8\n  targets: [q, v]\n"]
    ids = []
    for index, text in enumerate(variants):
        yaml_path.write_text(text)
        env = {"SEED": "1"} if index < 2 else {"SEED": "2"}
        run = await client.start_run("cmp", RunCreate(TRAIN if index else f"{TRAIN} ", env=env))
        ids.append(run.id)
        await wait_for_status(client, "cmp", run.id, {"completed"})

    result = await client.compare(ids)
    assert [r.id for r in result.runs] == ids
    first = result.runs[0]
    assert first.status == "completed" and first.exit_code == 0 and first.steps == 60
    assert first.duration_seconds is not None and first.duration_seconds > 0
    assert first.config_name == "tiny.yaml"
    loss = first.metrics["loss"]
    assert loss.goal == "min" and loss.final_step >= 60
    assert loss.best is not None and loss.best <= loss.final
    assert "learning_rate" in first.metrics and first.metrics["learning_rate"].best is None
    # Series on common steps: every run logged loss at 5, 10, ..., 60.
    aligned = result.series["loss"]
    assert set(range(5, 61, 5)) <= set(aligned.steps) and aligned.steps == sorted(aligned.steps)
    logged = [aligned.steps.index(step) for step in range(5, 61, 5)]
    assert len(aligned.values) == 3
    assert all(values[i] is not None for values in aligned.values for i in logged)
    assert loss.final in aligned.values[0]
    # Lower learning rate, slower fall: the summary reads it.
    assert result.runs[1].metrics["loss"].best > loss.best
    # What differs: the command (a trailing space), env, and the YAML key by key.
    assert result.differences.command == [f"{TRAIN} ", TRAIN, TRAIN]
    assert [d.text for d in result.differences.env] == ["SEED: 1 -> 1 -> 2"]
    texts = [d.text for d in result.differences.config]
    assert "learning_rate: 0.1 -> 0.05 -> 0.05" in texts
    assert "lora.rank: (unset) -> (unset) -> 8" in texts
    assert "lora.targets[1]: (unset) -> (unset) -> v" in texts
    assert not any(t.startswith("max_steps") for t in texts)

    only_loss = await client.compare(ids[:2], keys=["loss"])
    assert list(only_loss.series) == ["loss"] and list(only_loss.runs[0].metrics) == ["loss"]


async def test_bad_comparisons_are_clear_400s_and_404s(server: Server,
                                                      client: TrainyardClient) -> None:
    await client.create_project(project_body("cmp"))
    run = await client.start_run("cmp", RunCreate("true"))
    with pytest.raises(ApiError) as err:
        await client.compare([run.id, "run_nope"])
    assert err.value.status_code == 404 and err.value.code == "run_not_found"
    with pytest.raises(ApiError) as err:
        await client.compare([run.id, run.id])
    assert err.value.status_code == 400 and "twice" in err.value.body.message
    too_many = ",".join(f"run_{i}" for i in range(21))
    response = httpx.get(f"{server.url}/compare", params={"runs": too_many},
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400 and "1 to 20" in response.json()["message"]
    assert httpx.get(f"{server.url}/compare", headers={"Authorization": f"Bearer {TOKEN}"}
                     ).status_code == 400
