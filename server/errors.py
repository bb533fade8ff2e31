"""The one error tree, and its one mapping to HTTP.

::

    TrainyardError                 500 internal
    ├── InvalidRequest             400 invalid_request / validation_failed / unsafe_name
    │   └── ResourcesMissing       400 resources_missing (details: missing items, places looked)
    ├── Unauthorized               401 unauthorized
    ├── Forbidden                  403 forbidden (details: the role needed, the caller's)
    ├── NotFound                   404 project_not_found / run_not_found / artifact_not_found
    ├── Conflict                   409 project_exists / project_archived / run_finished / ...
    ├── LaunchFailed               500 launch_failed (the command could not start)
    └── ExecutorUnavailable        503 executor_unavailable (the run cannot be reached now)

Every response body is :class:`common.models.ErrorBody`. Litestar's own HTTP errors
(malformed JSON, unknown route, wrong method) and anything unexpected are mapped to the
same shape in :func:`to_response`.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec.inspect as mi
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from common.models import ErrorBody
from common.validation import words

__all__ = [
    "Conflict",
    "ExecutorUnavailable",
    "Forbidden",
    "InvalidRequest",
    "LaunchFailed",
    "NotFound",
    "ResourcesMissing",
    "TrainyardError",
    "Unauthorized",
    "to_response",
]

log = logging.getLogger("trainyard")


class TrainyardError(Exception):
    status_code = 500
    code = "internal"

    def __init__(self, message: str, *, code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidRequest(TrainyardError):
    status_code = 400
    code = "invalid_request"


class ResourcesMissing(InvalidRequest):
    code = "resources_missing"


class Unauthorized(TrainyardError):
    status_code = 401
    code = "unauthorized"


class Forbidden(TrainyardError):
    status_code = 403
    code = "forbidden"


class NotFound(TrainyardError):
    status_code = 404
    code = "not_found"


class Conflict(TrainyardError):
    status_code = 409
    code = "conflict"


class LaunchFailed(TrainyardError):
    status_code = 500
    code = "launch_failed"


class ExecutorUnavailable(TrainyardError):
    status_code = 503
    code = "executor_unavailable"


_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _body(status: int, code: str, message: str, details: dict[str, Any] | None) -> ErrorBody:
    if status == 400 and not (details or {}).get("errors"):
        # Every 400 lists what is wrong in ``details.errors``, one entry per field.
        field = (details or {}).get("field")
        details = {**(details or {}), "errors": [{"field": field, "message": message}]}
    return ErrorBody(status_code=status, code=code, message=message, detail=message,
                     details=details)


def _param_type(request: Request[Any, Any, Any], name: str) -> mi.Type | None:
    try:
        parameter = request.route_handler.parsed_fn_signature.parameters.get(name)
        return mi.type_info(parameter.annotation) if parameter is not None else None
    except (TypeError, ValueError):
        return None


def _from_validation(request: Request[Any, Any, Any], exc: ValidationException) -> ErrorBody:
    """Litestar's parameter errors (it collects every one), worded by ``common.validation``."""
    errors: list[dict[str, Any]] = []
    said: list[str] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = item.get("key")
            field = None if key in (None, "data") else str(key)
            text = str(item.get("message", ""))
            text = words(text, _param_type(request, field) if field else None)
            errors.append({"field": field, "source": item.get("source"), "message": text})
            said.append(f"`{field}` {text}" if field else text)
    message = "; ".join(said) or str(exc.detail)
    return _body(400, "validation_failed", message, {"errors": errors} if errors else None)


def to_response(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """Map any exception raised while serving ``request`` to one JSON error response."""
    headers: dict[str, str] | None = None
    if isinstance(exc, TrainyardError):
        body = _body(exc.status_code, exc.code, exc.message, exc.details)
        if isinstance(exc, LaunchFailed):
            log.warning("launch failed: %s", exc.message)
    elif isinstance(exc, ValidationException):
        body = _from_validation(request, exc)
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        status = exc.status_code
        body = _body(status, _HTTP_CODES.get(status, f"http_{status}"), str(exc.detail), None)
        headers = exc.headers
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = _body(500, "internal", "internal server error; see the server log", None)
    if body.status_code == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="trainyard"'}
    return Response(body, status_code=body.status_code, headers=headers,
                    media_type=MediaType.JSON)
