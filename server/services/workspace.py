"""Checking, on the host, that a project's dataset and training YAML are in the workspace.

Datasets: in each dataset folder (default ``data/`` then the root), a file or folder named
``dataset_name``, with or without a data-file extension, or a key of
``data/dataset_info.json`` (LLaMA-Factory) whose file exists. YAMLs: in each YAML folder
(default the root, then ``configs/``), the name as given or with ``.yaml``/``.yml``.
Names are checked to be plain names before any path is built from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from common.models import ProjectSummary

from ..errors import ResourcesMissing
from .names import check_plain_name

__all__ = ["Resolved", "resolve_resources"]

DATA_EXTENSIONS = ("", ".json", ".jsonl", ".csv", ".parquet", ".txt", ".arrow", ".tsv")
YAML_EXTENSIONS = ("", ".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class Resolved:
    dataset: Path
    training_yaml: Path
    yaml_text: str
    yaml_output_dir: str | None


def _candidates(root: Path, folders: tuple[str, ...], name: str,
                extensions: tuple[str, ...]) -> list[Path]:
    return [(root / folder / f"{name}{ext}").resolve() for folder in folders for ext in extensions]


def _from_dataset_info(root: Path, name: str, looked: list[str]) -> Path | None:
    info_path = root / "data" / "dataset_info.json"
    looked.append(f"{info_path} (key {name!r})")
    try:
        info = json.loads(info_path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    entry = info.get(name) if isinstance(info, dict) else None
    file_name = entry.get("file_name") if isinstance(entry, dict) else None
    if not isinstance(file_name, str) or not file_name:
        return None
    path = (root / "data" / file_name).resolve()
    looked.append(str(path))
    inside = path.is_relative_to(root.resolve())
    return path if inside and path.exists() else None


def _output_dir(text: str) -> str | None:
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    value = data.get("output_dir") if isinstance(data, dict) else None
    return str(value) if value else None


def resolve_resources(project: ProjectSummary, *, root: Path, dataset_dirs: tuple[str, ...],
                      yaml_dirs: tuple[str, ...]) -> Resolved:
    """Find the project's dataset and YAML, or raise listing each missing item and where
    it was looked for."""
    check_plain_name("dataset_name", project.dataset_name)
    check_plain_name("training_yaml_name", project.training_yaml_name)
    missing: list[dict[str, Any]] = []

    data_paths = _candidates(root, dataset_dirs, project.dataset_name, DATA_EXTENSIONS)
    dataset = next((p for p in data_paths if p.exists()), None)
    looked = [str(p) for p in data_paths]
    if dataset is None:
        dataset = _from_dataset_info(root, project.dataset_name, looked)
    if dataset is None:
        missing.append({"item": "dataset", "name": project.dataset_name, "looked_in": looked})

    yaml_paths = _candidates(root, yaml_dirs, project.training_yaml_name, YAML_EXTENSIONS)
    training_yaml = next((p for p in yaml_paths if p.is_file()), None)
    if training_yaml is None:
        missing.append({"item": "training_yaml", "name": project.training_yaml_name,
                        "looked_in": [str(p) for p in yaml_paths]})

    if missing or dataset is None or training_yaml is None:
        names = ", ".join(f"{m['item']} {m['name']!r}" for m in missing)
        raise ResourcesMissing(f"not found under the workspace root {root}: {names}",
                               details={"workspace_root": str(root), "missing": missing})
    text = training_yaml.read_text("utf-8", errors="replace")
    return Resolved(dataset, training_yaml, text, _output_dir(text))
