"""The ``trainyard`` command: the one place that knows both sides.

``trainyard serve`` and ``trainyard token`` run the server (server/cli.py);
``trainyard tui`` runs the terminal UI (tui/cli.py). Each side is imported only when
asked for, so the server never loads Textual and the TUI never loads the server.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "tui":
        from tui.cli import main as tui_main

        return tui_main(args[1:])
    from server.cli import main as server_main

    return server_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
