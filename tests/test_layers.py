"""Imports point downwards only: common imports neither side, tui never imports server,
server never imports textual, and the client commands (cli) import only common."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = {"common": {"server", "tui", "textual", "cli"}, "tui": {"server", "cli"},
             "server": {"textual", "tui", "cli"}, "cli": {"server", "tui", "textual"}}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_layers(package: str) -> None:
    files = list((REPO / package).rglob("*.py"))
    assert files
    for path in files:
        bad = imported_roots(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


# Inside the server: routes -> services -> storage / executors / telemetry (adapters), and
# the adapters know nothing above them. Each entry: what a layer must not import.
_ABOVE_ADAPTERS = {"server.routes", "server.services", "server.app", "server.state",
                   "server.cli"}
SERVER_FORBIDDEN = {
    "server.routes": {"server.storage", "server.executors", "server.telemetry"},
    "server.services": {"server.routes", "server.app", "server.state", "server.cli"},
    "server.storage": _ABOVE_ADAPTERS | {"server.executors", "server.telemetry"},
    "server.executors": _ABOVE_ADAPTERS | {"server.storage", "server.telemetry"},
    "server.telemetry": _ABOVE_ADAPTERS | {"server.storage", "server.executors"},
}


def imported_modules(path: Path) -> set[str]:
    """Absolute names of what ``path`` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("layer", sorted(SERVER_FORBIDDEN))
def test_server_layers_import_downwards_only(layer: str) -> None:
    files = list((REPO / Path(*layer.split("."))).rglob("*.py"))
    assert files
    for path in files:
        bad = {m for m in imported_modules(path)
               for forbidden in SERVER_FORBIDDEN[layer]
               if m == forbidden or m.startswith(forbidden + ".")}
        assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"
