"""Key-by-key differences between runs' settings: env and training YAML snapshots.

Nested YAML is flattened to dotted keys (``optim.lr``, ``layers[0]``) so a diff names
the exact setting that changed: ``learning_rate: 1e-05 -> 2e-05``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from common.models import ValueDiff

__all__ = ["diff", "flatten", "load_flat_yaml", "scalar_text"]

ABSENT = "(unset)"


def scalar_text(value: Any) -> str:
    """A value as YAML would show it: ``true``, ``null``, ``2e-05``, ``text``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return value if isinstance(value, str) else repr(value)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested mappings and lists as ``{dotted.key[i]: text}``; an empty one keeps its key."""
    out: dict[str, str] = {}
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
    elif prefix:
        out[prefix] = scalar_text(value) if not isinstance(value, Mapping | list) else \
            ("{}" if isinstance(value, Mapping) else "[]")
    return out


def load_flat_yaml(path: Path) -> dict[str, str] | None:
    """A YAML file flattened, or None when it cannot be read or parsed."""
    try:
        return flatten(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def diff(tables: Sequence[Mapping[str, str] | None]) -> list[ValueDiff]:
    """The keys whose values are not all the same, in key order. A run with no table
    (None) takes no part: it has nothing to compare."""
    present = [t for t in tables if t is not None]
    keys = sorted({key for table in present for key in table})
    out = []
    for key in keys:
        values = [t.get(key) if t is not None else None for t in tables]
        if len({t.get(key) for t in present}) > 1:
            shown = " -> ".join(ABSENT if v is None else v for v in values)
            out.append(ValueDiff(key=key, values=values, text=f"{key}: {shown}"))
    return out
