"""``trainyard`` command: ``serve`` runs the API server, ``token`` rotates the API token."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from types import FrameType

from .config import ConfigError, Settings

__all__ = ["main"]


def _private(settings: Settings) -> bool:
    """Files the server creates are its user's alone; fix what an older start left open."""
    from .storage.private import make_private

    os.umask(0o077)
    try:
        changed = make_private(settings.data_dir)
    except OSError as exc:
        print(f"trainyard: cannot make the data folder {settings.data_dir} private "
              f"(no group or other access): {exc}", file=sys.stderr)
        return False
    if changed:
        print(f"trainyard: took group and other access off {changed} paths in "
              f"{settings.data_dir} (it holds run env values and logs)", file=sys.stderr)
    return True


def _serve(settings: Settings) -> int:
    import logging

    import uvicorn

    from .app import create_app
    from .http_limits import limited_protocol
    from .redaction import AccessTokenFilter

    if not _private(settings):
        return 2
    logging.getLogger("uvicorn.access").addFilter(AccessTokenFilter())
    app = create_app(settings)
    stopping = app.state.services.stopping

    class Server(uvicorn.Server):
        """uvicorn, ending the app's event streams as soon as a stop signal arrives (they
        never finish by themselves, so it would wait out its timeout, then cancel them)."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            stopping.request()
            super().handle_exit(sig, frame)

    print(f"trainyard: serving on http://{settings.host}:{settings.port} "
          f"(executor {settings.executor}, data in {settings.data_dir})", file=sys.stderr)
    config = uvicorn.Config(app, host=settings.host, port=settings.port,
                            log_level=settings.log_level, access_log=settings.access_log,
                            timeout_graceful_shutdown=5,
                            http=limited_protocol(settings.client_stall_seconds))
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C once stopped
        Server(config).run()
    return 0


def _token(settings: Settings) -> int:
    from .auth import rotate_token
    from .storage.db import Database

    if not _private(settings):
        return 2

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
