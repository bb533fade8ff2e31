"""A fast path for the hottest read: ``GET /projects`` with no filters.

List views and scripts poll it; its answer is cached as bytes until a write changes a
project (see ``ProjectRepository.list_encoded``). Litestar's per-request work (routing,
dependency injection, four validated query parameters, middleware) then costs most of the
time, so this plain ASGI wrapper serves exactly that request itself: same token check,
same bytes, same headers. Anything else (a query string, another method, a bad token)
goes to the Litestar app unchanged, which also answers every error.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.types import Receive

from .auth import authorization
from .errors import Unauthorized
from .storage.projects import ProjectFilter

__all__ = ["with_fast_paths"]

_NO_FILTERS = ProjectFilter()


def with_fast_paths(app: Litestar) -> Any:
    services = app.state.services

    async def asgi(scope: dict[str, Any], receive: Receive, send: Any) -> None:
        if (scope["type"] == "http" and scope["path"] == "/projects"
                and scope["method"] == "GET" and not scope["query_string"]):
            try:
                await services.auth.check(authorization(scope))  # type: ignore[arg-type]
            except Unauthorized:
                pass  # Litestar answers with the one error shape
            else:
                body = await services.projects.list_encoded(_NO_FILTERS)
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)  # type: ignore[arg-type]

    return asgi
