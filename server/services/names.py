"""Names that reach the filesystem or a shell must be plain names: checked before any I/O.

The rules themselves live in :mod:`common.text` (the wire Structs apply them to every
name a client sends); this module applies them again to stored names at launch, since a
project stored before a rule existed may still hold an odd name.
"""

from __future__ import annotations

import secrets

from common.text import file_name_problem

from ..errors import InvalidRequest

__all__ = ["check_plain_name", "new_id"]


def check_plain_name(field: str, value: str) -> None:
    """Refuse a name that is not a plain file or folder name (path, ``..``, bad character)."""
    reason = file_name_problem(value)
    if reason:
        raise InvalidRequest(
            f"`{field}` {reason}: {value!r}", code="unsafe_name",
            details={"field": field, "value": value, "reason": reason,
                     "errors": [{"field": field, "message": reason}]},
        )


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"
