"""Error responses in the OpenAPI document, all with the one error shape."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from common.models import ErrorBody

__all__ = ["responses"]

_WHY = {
    400: "Invalid request: `details.errors` lists every bad field at once, each as "
         "`{field, source, message}` (`field` null: the body as a whole)",
    401: "Missing or invalid bearer token",
    403: "The token's user lacks the role this route needs (`details.role_needed`)",
    404: "Unknown project, run or artifact",
    409: "Conflicts with the current state (duplicate name, archived project, finished run)",
    500: "The command could not start (container missing or stopped, Docker unreachable)",
    503: "The run cannot be reached now (container paused, Docker engine down); nothing "
         "was changed",
}


def responses(*codes: int) -> dict[int, ResponseSpec]:
    """Error responses; a route that takes a token (401) may also refuse its role (403)."""
    if 401 in codes:
        codes = (*codes, 403)
    return {code: ResponseSpec(data_container=ErrorBody, description=_WHY[code])
            for code in codes}
