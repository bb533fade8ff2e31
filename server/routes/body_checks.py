"""Checks on a JSON request body before Litestar parses it for a handler.

- A body must say it is JSON (``Content-Type: application/json`` or ``...+json``): 415
  otherwise. Litestar parses whatever comes as JSON, so ``text/plain`` or a form post
  (curl ``-d`` without ``-H``) used to be taken silently.
- Nesting deeper than :data:`MAX_JSON_DEPTH` is a 400: none of our bodies nests more than
  two levels, and a 2 kB body of 1,000 nested lists made the decoder raise RecursionError
  (a 500).

The body is read once here (at most ``request_max_body_size``, else 413) and Litestar
reuses it for the handler.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException

from ..errors import InvalidRequest

__all__ = ["MAX_JSON_DEPTH", "check_json_body"]

MAX_JSON_DEPTH = 32


def _too_deep(value: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children: Iterable[object] = (item.values() if isinstance(item, dict)
                                      else item if isinstance(item, list) else ())
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json"))


async def check_json_body(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook, for a handler that takes ``data``: its body is JSON, and
    shallow enough."""
    body = await request.body()
    if not body:
        return  # an optional body left out; a required one fails validation as before
    content_type = request.content_type[0].lower()
    if not _is_json(content_type):
        raise HTTPException(
            status_code=415,
            detail=f"the body must be JSON, sent with Content-Type: application/json "
                   f"(got {content_type or 'no Content-Type'!r})")
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return  # Litestar answers malformed JSON with its own 400
    except RecursionError:
        deep = True
    else:
        deep = _too_deep(value, MAX_JSON_DEPTH)
    if deep:
        raise InvalidRequest(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels",
                             code="json_too_deep", details={"max_depth": MAX_JSON_DEPTH})
