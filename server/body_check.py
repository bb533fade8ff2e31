"""Check a JSON request body before Litestar decodes it, reporting every bad field at once.

Litestar (through msgspec) stops at the first error; this hook runs
:func:`common.validation.body_errors` on the decoded JSON of every handler whose ``data``
is a wire Struct, and answers 400 with ``details.errors`` naming each field.
"""

from __future__ import annotations

import typing
from typing import Any

from litestar import Request
from litestar.exceptions import SerializationException
from litestar.handlers import HTTPRouteHandler
from msgspec import Struct

from common.validation import body_errors

from .errors import InvalidRequest

__all__ = ["check_body"]

_BODY_TYPES: dict[HTTPRouteHandler, tuple[type[Struct] | None, bool]] = {}


def _body_type(handler: HTTPRouteHandler) -> tuple[type[Struct] | None, bool]:
    """The Struct a handler's ``data`` decodes to, and whether the body may be absent."""
    if handler not in _BODY_TYPES:
        found: type[Struct] | None = None
        optional = False
        field = handler.parsed_data_field
        if field is not None:
            for option in typing.get_args(field.annotation) or (field.annotation,):
                if isinstance(option, type) and issubclass(option, Struct):
                    found = option
                elif option is type(None):
                    optional = True
        _BODY_TYPES[handler] = (found, optional)
    return _BODY_TYPES[handler]


async def check_body(request: Request[Any, Any, Any]) -> None:
    """A ``before_request`` hook: raise :class:`InvalidRequest` listing every bad field."""
    struct_type, optional = _body_type(request.route_handler)
    if struct_type is None:
        return None
    try:
        body = await request.json()
    except SerializationException as error:
        message = f"the body is not valid JSON: {error.detail}"
        raise InvalidRequest(message, details={"errors": [
            {"field": None, "source": "body", "message": message}]}) from None
    if body is None and optional:
        return None
    errors = body_errors(struct_type, body)
    if errors:
        unsafe = all(e.rule == "file_name" for e in errors)
        message = "; ".join(f"`{e.field}` {e.message}" if e.field else e.message
                            for e in errors)
        raise InvalidRequest(message, code="unsafe_name" if unsafe else "validation_failed",
                             details={"errors": [{"field": e.field, "source": "body",
                                                  "message": e.message} for e in errors]})
    return None
