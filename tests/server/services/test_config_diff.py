"""Flattening and diffing training YAMLs key by key."""

from __future__ import annotations

import yaml

from server.services.compare import goal_of
from server.services.config_diff import diff, flatten


def test_nested_keys_flatten_to_dotted_paths() -> None:
    config = yaml.safe_load("a: {b: 1, c: [x, {d: true}]}\ne: null\nf: []\ng: 2.0e-5\n")
    assert flatten(config) == {"a.b": "1", "a.c[0]": "x", "a.c[1].d": "true", "e": "null",
                               "f": "[]", "g": "2e-05"}


def test_only_keys_that_differ_are_listed_and_a_missing_table_takes_no_part() -> None:
    changed = diff([{"lr": "1e-05", "same": "1"}, {"lr": "2e-05", "same": "1"}, None])
    assert [d.text for d in changed] == ["lr: 1e-05 -> 2e-05 -> (unset)"]
    assert changed[0].values == ["1e-05", "2e-05", None]
    assert diff([{"k": "v"}, {"k": "v"}]) == []


def test_losses_are_best_low_accuracies_high_and_settings_have_no_best() -> None:
    assert goal_of("loss") == goal_of("eval_loss") == goal_of("eval/ppl") == "min"
    assert goal_of("eval_accuracy") == goal_of("rouge-l") == "max"
    assert goal_of("learning_rate") is None and goal_of("epoch") is None
    assert goal_of("grad_norm") is None
