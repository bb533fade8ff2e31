"""``trainyard`` command: ``serve`` runs the API server, ``token`` rotates the API token."""

from __future__ import annotations

import argparse
import asyncio
import sys

from .config import ConfigError, Settings

__all__ = ["main"]


def _serve(settings: Settings) -> int:
    import uvicorn

    from .app import create_app

    app = create_app(settings)
    print(f"trainyard: serving on http://{settings.host}:{settings.port} "
          f"(executor {settings.executor}, data in {settings.data_dir})", file=sys.stderr)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                access_log=settings.access_log, timeout_graceful_shutdown=5)
    return 0


def _token(settings: Settings) -> int:
    from .auth import rotate_token
    from .storage.db import Database

    async def rotate() -> str:
        db = Database(settings.db_path, readers=0)
        await db.open()
        try:
            return await rotate_token(db)
        finally:
            await db.close()

    token = asyncio.run(rotate())
    print(token)
    print("trainyard: new API token above (shown once); the old one stops working within "
          "5 s on a running server.", file=sys.stderr)
    if settings.token:
        print("trainyard: note: TRAINYARD_TOKEN is set, and a server started with it accepts "
              "only that token.", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trainyard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the API server (configured by TRAINYARD_* variables)")
    sub.add_parser("token", help="generate a new API token, replacing the stored one")
    sub.add_parser("tui", help="the terminal UI (trainyard tui --help)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "serve":
            from .preflight import preflight

            preflight(settings)
    except ConfigError as exc:
        print(f"trainyard: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(settings)
    return _token(settings)


if __name__ == "__main__":
    raise SystemExit(main())
