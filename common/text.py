"""Rules for the text a client sends: single lines, names, file names, tags.

Each rule returns ``None`` when the value is fine, or what is wrong with it in words a
person can act on (a bad character is named, e.g. ``U+202E RIGHT-TO-LEFT OVERRIDE``).
Names are refused, never silently trimmed or changed: the name stored is the name sent.
The wire Structs (``common.models``) attach these rules to their field types, so the
server, the TUI and the CLI apply the same ones.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

__all__ = [
    "ID_PREFIXES",
    "RULES",
    "SAVE_SIGNALS",
    "bad_character",
    "char_name",
    "file_name_problem",
    "line_problem",
    "project_name_problem",
    "save_signal_problem",
    "signal_name",
    "tag_problem",
]

# Ids look like ``proj_1a2b...``: a name shaped like one would shadow an id in URLs.
ID_PREFIXES = ("proj_", "run_", "art_", "ckpt_")

# C0 controls have no name in ``unicodedata``; these are their Unicode aliases.
_C0 = (
    "NULL", "START OF HEADING", "START OF TEXT", "END OF TEXT", "END OF TRANSMISSION",
    "ENQUIRY", "ACKNOWLEDGE", "BELL", "BACKSPACE", "CHARACTER TABULATION", "LINE FEED",
    "LINE TABULATION", "FORM FEED", "CARRIAGE RETURN", "SHIFT OUT", "SHIFT IN",
    "DATA LINK ESCAPE", "DEVICE CONTROL ONE", "DEVICE CONTROL TWO", "DEVICE CONTROL THREE",
    "DEVICE CONTROL FOUR", "NEGATIVE ACKNOWLEDGE", "SYNCHRONOUS IDLE",
    "END OF TRANSMISSION BLOCK", "CANCEL", "END OF MEDIUM", "SUBSTITUTE", "ESCAPE",
    "FILE SEPARATOR", "GROUP SEPARATOR", "RECORD SEPARATOR", "UNIT SEPARATOR",
)
_OTHER_CONTROLS = {0x7F: "DELETE", 0x85: "NEXT LINE"}
# Categories refused in a single line: controls, invisible format characters (bidi
# overrides, zero-width spaces and joiners, soft hyphen), line and paragraph separators.
_KINDS = {"Cc": "a control character", "Cf": "an invisible formatting character",
          "Zl": "a line separator", "Zp": "a paragraph separator",
          "Cs": "a lone surrogate"}
_URL_SPECIAL = {"/": "a path separator", "\\": "a path separator",
                "?": "it starts a URL query", "#": "it starts a URL fragment"}


def char_name(char: str) -> str:
    """``U+000A LINE FEED``, ``U+202E RIGHT-TO-LEFT OVERRIDE``, ``U+0023 NUMBER SIGN``."""
    code = ord(char)
    name = _C0[code] if code < 0x20 else (_OTHER_CONTROLS.get(code)
                                          or unicodedata.name(char, ""))
    return f"U+{code:04X} {name}".rstrip()


def bad_character(value: str) -> str | None:
    """The first control, format or separator character in ``value``, described."""
    for char in value:
        kind = _KINDS.get(unicodedata.category(char))
        if kind:
            return f"must not hold {char_name(char)} ({kind})"
    return None


def line_problem(value: str) -> str | None:
    """A single line of text: something visible, and no invisible or control characters."""
    if not value.strip():
        return "must not be blank"
    return bad_character(value)


def _trimmed_problem(value: str) -> str | None:
    problem = line_problem(value)
    if problem is None and value != value.strip():
        problem = f"must not start or end with a space (did you mean {value.strip()!r}?)"
    return problem


def project_name_problem(value: str) -> str | None:
    """A project name is used in URLs: no ``/ \\ ? #``, not ``.`` or ``..``, not id-shaped."""
    problem = _trimmed_problem(value)
    if problem:
        return problem
    if value in (".", ".."):
        return f"must not be {value!r} (it means a folder in URLs)"
    for char in value:
        if char in _URL_SPECIAL:
            return f"must not hold {char_name(char)} ({_URL_SPECIAL[char]})"
    if value.startswith(ID_PREFIXES):
        return f"must not start with an id prefix ({', '.join(ID_PREFIXES)})"
    return None


def file_name_problem(value: str) -> str | None:
    """A plain file or folder name under the workspace: no path, no ``..``."""
    problem = _trimmed_problem(value)
    if problem:
        return problem
    if value.startswith(("/", "\\")) or (len(value) > 1 and value[1] == ":"
                                         and value[0].isascii() and value[0].isalpha()):
        return "must be a plain file or folder name, not an absolute path"
    if value == "." or ".." in value:
        return "must be a plain file or folder name, without '.' or '..'"
    if "/" in value or "\\" in value:
        return "must be a plain file or folder name, without a path separator ('/' or '\\')"
    return None


def tag_problem(value: str) -> str | None:
    return _trimmed_problem(value)


def tags_problem(values: list[str]) -> str | None:
    seen: set[str] = set()
    for position, tag in enumerate(values, 1):
        problem = tag_problem(tag)
        if problem:
            return f"tag {position} ({tag!r}) {problem}"
        if tag in seen:
            return f"must not repeat a tag ({tag!r})"
        seen.add(tag)
    return None


def no_nul_problem(value: str) -> str | None:
    return "must not hold U+0000 NULL" if "\x00" in value else None


def command_problem(value: str) -> str | None:
    return "must not be blank" if not value.strip() else no_nul_problem(value)


SAVE_SIGNALS = ("SIGUSR1", "SIGUSR2", "SIGINT", "SIGHUP", "SIGQUIT", "SIGWINCH")


def signal_name(value: str) -> str:
    upper = value.strip().upper()
    return upper if upper.startswith("SIG") else f"SIG{upper}"


def save_signal_problem(value: str) -> str | None:
    if signal_name(value) not in SAVE_SIGNALS:
        return (f"must be one of {', '.join(SAVE_SIGNALS)} (a signal a trainer can catch, "
                f"not one used to stop it)")
    return None


def output_dir_problem(value: str) -> str | None:
    """A folder relative to the run's working directory, inside it."""
    if (found := line_problem(value)) is not None:
        return found
    if value.startswith("/") or ".." in value.split("/"):
        return "must be a folder relative to the run's working directory, without `..`"
    return None


# The rule a field type names in ``Meta(extra={"rule": ...})``.
RULES: dict[str, Callable[[str], str | None]] = {
    "output_dir": output_dir_problem,
    "line": line_problem,
    "name": _trimmed_problem,
    "project_name": project_name_problem,
    "file_name": file_name_problem,
    "no_nul": no_nul_problem,
    "command": command_problem,
    "save_signal": save_signal_problem,
}
LIST_RULES: dict[str, Callable[[list[str]], str | None]] = {"tags": tags_problem}
