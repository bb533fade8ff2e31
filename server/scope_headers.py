"""Reading one request header straight from the ASGI scope.

The token check and the cached listing read one header on every request; Litestar's
``Headers`` would first build a multidict of all of them.
"""

from __future__ import annotations

from litestar.types import Scope

__all__ = ["header"]


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower-case, as ASGI gives names), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
