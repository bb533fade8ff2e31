"""The API's version number, sent by ``GET /healthz`` as ``api``.

Bump it when a client needs something an older server lacks; a client compares it with
the lowest it can work with and says plainly when the server is too old, rather than
showing empty views. Servers from before this number existed send no ``api`` at all.
"""

from __future__ import annotations

__all__ = ["API_VERSION"]

API_VERSION = 2
