"""Ways the server can refuse this client, told apart from "the server is away".

A refused client must never look like a healthy one with nothing in it: the app shows a
:class:`Refusal` on the top line and on a screen of its own until it is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["MIN_SERVER_API", "Refusal"]

# The lowest server API (``/healthz`` ``api``) this TUI works with.
MIN_SERVER_API = 2


@dataclass(frozen=True, slots=True)
class Refusal:
    kind: Literal["token", "version"]
    reason: str  # the server's words, or what it reported

    @property
    def headline(self) -> str:
        if self.kind == "token":
            return f"✖ token refused ({self.reason})"
        return f"✖ server too old ({self.reason})"
