"""Keeping secrets out of what the server says: API answers and its own log.

- A run's ``env`` values whose names look secret (``*TOKEN*``, ``*SECRET*``, ``*KEY*``,
  ``*PASSWORD*`` by default; ``TRAINYARD_SECRET_ENV_PATTERNS``, shell-style patterns,
  case-insensitive) are shown as :data:`REDACTED`. They are stored and still reach the
  run (and a resumed run); only what the API shows changes.
- ``access_token=`` in a URL (the event streams take the token there for browsers'
  EventSource) is scrubbed from the access log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

__all__ = ["REDACTED", "AccessTokenFilter", "redact_env", "scrub_url"]

REDACTED = "***"
_TOKEN_IN_URL = re.compile(r"(?i)(access_token=)[^&#\s\"]*")


def redact_env(env: Mapping[str, str], patterns: Iterable[str]) -> dict[str, str]:
    """``env`` with the values of secret-looking names replaced by :data:`REDACTED`."""
    upper = [p.upper() for p in patterns]
    return {name: REDACTED if any(fnmatchcase(name.upper(), p) for p in upper) else value
            for name, value in env.items()}


def scrub_url(text: str) -> str:
    return _TOKEN_IN_URL.sub(r"\1" + REDACTED, text) if "access_token" in text.lower() \
        else text


class AccessTokenFilter(logging.Filter):
    """Scrubs ``access_token=...`` from a record's message and arguments (uvicorn's access
    log passes the path with its query string as an argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub_url(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub_url(a) if isinstance(a, str) else a for a in record.args)
        return True
