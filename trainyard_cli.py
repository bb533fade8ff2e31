"""The ``trainyard`` command: the one place that knows every side.

``trainyard serve`` and ``trainyard token`` run the server (server/cli.py); ``trainyard
tui`` runs the terminal UI (tui/cli.py); the client commands (``ls``, ``runs``, ``run``,
``wait``, ``logs``, ...) live in cli/. Each side is imported only when asked for, so the
server never loads Textual and the client commands load neither.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

OVERVIEW = """\
usage: trainyard COMMAND [options]

server:   serve, token            (trainyard serve --help)
terminal: tui                     (trainyard tui --help)
scripts:  ls, runs, run, resume, wait, logs, cancel, pause, compare, completion
          (trainyard run --help; docs/cli.md)
"""


def _command_of(args: list[str]) -> str | None:
    """The command word, past the client options that may come before it."""
    words = iter(args)
    for word in words:
        if word in ("--url", "--token"):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(OVERVIEW)
        return 0 if args else 2
    if args[0] == "tui":
        from tui.cli import main as tui_main

        return tui_main(args[1:])
    from cli import CLIENT_COMMANDS

    if _command_of(args) in CLIENT_COMMANDS:
        from cli import main as cli_main

        return cli_main(args)
    from server.cli import main as server_main

    return server_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
