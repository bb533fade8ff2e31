"""``trainyard tui``'s arguments and environment."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO
from tui.cli import DEFAULT_URL, parse


def test_url_and_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINYARD_URL", "http://gpu01:9000")
    monkeypatch.setenv("TRAINYARD_TOKEN", "ty_secret_0123456789")
    args = parse([])
    assert (args.url, args.token, args.ansi) == ("http://gpu01:9000", "ty_secret_0123456789",
                                                 False)
    assert parse(["--url", "http://x:1", "--token", "t" * 16, "--ansi"]).ansi


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAINYARD_URL", raising=False)
    monkeypatch.delenv("TRAINYARD_TOKEN", raising=False)
    args = parse([])
    assert (args.url, args.token) == (DEFAULT_URL, None)


def test_no_token_is_refused_before_the_screen_opens() -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    done = subprocess.run([sys.executable, "-m", "trainyard_cli", "tui"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "TRAINYARD_TOKEN" in done.stderr
