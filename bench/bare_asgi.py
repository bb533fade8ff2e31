"""The reference for ``GET /projects``: a raw ASGI callable, no framework at all.

It answers every HTTP request with the bytes trainyard returned for ``/projects`` (read
from ``BENCH_BARE_BODY``, a file) and the same ``content-type`` (``BENCH_BARE_TYPE``).
Served by the same uvicorn with the same options as trainyard, it is the ceiling the
framework, auth guard and SQLite read are compared with: the difference is exactly
trainyard's per-request work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_BODY = Path(os.environ["BENCH_BARE_BODY"]).read_bytes()
_HEADERS = [
    (b"content-type", os.environ.get("BENCH_BARE_TYPE", "application/json").encode()),
    (b"content-length", str(len(_BODY)).encode()),
]
_START = {"type": "http.response.start", "status": 200, "headers": _HEADERS}
_SEND_BODY = {"type": "http.response.body", "body": _BODY}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send(_START)
    await send(_SEND_BODY)
