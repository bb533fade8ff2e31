"""The framework's floor for ``GET /projects``: Litestar with one route and nothing else.

The route answers with the bytes trainyard returned (``BENCH_BARE_BODY``, a file) the way
trainyard's listing does, as a small ASGI app the handler returns; there is no token
check, no dependency and no query parameter. Beside :mod:`bench.bare_asgi` it shows what
Litestar's own per-request path costs on this machine, so the ``GET /projects`` row can
tell the framework's share from trainyard's (auth, roles, services, filters).
"""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar, get
from litestar.types import ASGIApp, Receive, Scope, Send

_BODY = Path(os.environ["BENCH_BARE_BODY"]).read_bytes()
_HEAD = [(b"content-type", os.environ.get("BENCH_BARE_TYPE", "application/json").encode()),
         (b"content-length", str(len(_BODY)).encode())]


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": _HEAD})
    await send({"type": "http.response.body", "body": _BODY, "more_body": False})


@get("/projects")
async def projects() -> ASGIApp:
    return _answer


app = Litestar([projects], debug=False)
