"""``trainyard`` client commands for scripts and people: ``ls``, ``runs``, ``run``,
``wait``, ``logs``, ``cancel``, ``pause``, ``resume``, ``compare``, ``completion``.

It talks HTTP/SSE only, through :mod:`common.client`; it imports neither the server nor
the TUI (tests/test_layers.py).
"""

from __future__ import annotations

from .main import CLIENT_COMMANDS, main

__all__ = ["CLIENT_COMMANDS", "main"]
