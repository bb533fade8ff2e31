"""Names that reach the filesystem or a shell must be plain names: checked before any I/O."""

from __future__ import annotations

import re

from ..errors import InvalidRequest

__all__ = ["check_plain_name", "new_id"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_plain_name(field: str, value: str) -> None:
    """Reject a name holding a path separator, ``..``, an absolute path or a control char."""
    reason = None
    if _CONTROL.search(value):
        reason = "holds a control character"
    elif value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value):
        reason = "is an absolute path"
    elif ".." in value or value == ".":
        reason = "holds '..'" if ".." in value else "is '.'"
    elif "/" in value or "\\" in value:
        reason = "holds a path separator"
    if reason:
        raise InvalidRequest(
            f"`{field}` must be a plain file or folder name: {value!r} {reason}",
            code="unsafe_name", details={"field": field, "value": value, "reason": reason},
        )


def new_id(prefix: str) -> str:
    import secrets

    return f"{prefix}_{secrets.token_hex(6)}"
