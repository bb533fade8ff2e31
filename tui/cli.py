"""``trainyard tui``: the terminal UI, pointed at a server by URL and token."""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main"]

DEFAULT_URL = "http://127.0.0.1:8000"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="trainyard tui",
        description="Watch and drive Trainyard training runs from the terminal.")
    parser.add_argument("--url", default=os.environ.get("TRAINYARD_URL", DEFAULT_URL),
                        help="the server (default: $TRAINYARD_URL or %(default)s)")
    parser.add_argument("--token", default=os.environ.get("TRAINYARD_TOKEN"),
                        help="the API token (default: $TRAINYARD_TOKEN)")
    parser.add_argument("--ansi", action="store_true",
                        help="use the terminal's own 16-colour palette (and its background)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if not args.token:
        print("trainyard tui: no API token: pass --token or set TRAINYARD_TOKEN "
              "(the server printed it on its first start; 'trainyard token' makes a new one)",
              file=sys.stderr)
        return 2
    if not args.url.startswith(("http://", "https://")):
        print(f"trainyard tui: --url must start with http:// or https://, not {args.url!r}",
              file=sys.stderr)
        return 2
    from .api import HttpApi
    from .app import TrainyardApp

    url = args.url.rstrip("/")
    TrainyardApp(HttpApi(url, args.token), url=url, ansi=args.ansi).run()
    return 0
