"""``trainyard`` command: ``serve`` runs the API server, ``token`` rotates the admin's
token, ``user add|list|revoke`` manages users (on the server host, in its data folder)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any, TypeVar

from .config import ConfigError, Settings

__all__ = ["main"]

T = TypeVar("T")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def _user_name(raw: str) -> str:
    if not re.match(_NAME, raw):
        raise argparse.ArgumentTypeError(
            f"{raw!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return raw


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

    if not _private(settings):
        return 2

    if settings.token:
        print("trainyard: the admin token is pinned by TRAINYARD_TOKEN: a server started "
              "with it accepts that value as user 'admin', so a new token would not work. "
              "Change TRAINYARD_TOKEN instead, or unset it to use a stored token.",
              file=sys.stderr)
        return 1
    token = _with_db(settings, rotate_token)
    _audited(settings, "rotateUserToken", "/users/admin/token")
    print(token)
    print("trainyard: new token of user 'admin' above (shown once); the old one stops "
          "working within 5 s on a running server.", file=sys.stderr)
    return 0


def _with_db(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    from .storage.db import Database

    async def run() -> T:
        db = Database(settings.db_path, readers=1)
        await db.open()
        try:
            return await fn(db)
        finally:
            await db.close()

    return asyncio.run(run())


def _audited(settings: Settings, action: str, target: str) -> None:
    """A change made on the server host goes in the audit trail too, as ``cli:<login>``."""
    import getpass

    from .storage.audit import AuditRepository
    from .storage.db import now_iso

    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    _with_db(settings, lambda db: AuditRepository(db).add(
        now_iso(), f"cli:{login}", action, target, "ok", 0, "local"))


def _user(settings: Settings, args: argparse.Namespace) -> int:
    from .auth import generate_token, hash_token
    from .storage.users import UserRepository

    if not _private(settings):
        return 2
    if args.action == "list":
        for user in _with_db(settings, lambda db: UserRepository(db).list()):
            print(f"{user.name}\t{user.role}\t{user.created_at}")
        return 0
    if args.action == "revoke":
        if not _with_db(settings, lambda db: UserRepository(db).remove(args.name)):
            print(f"trainyard: no user {args.name!r}", file=sys.stderr)
            return 1
        _audited(settings, "revokeUser", f"/users/{args.name}")
        print(f"trainyard: revoked {args.name!r}; a running server refuses the token "
              "within 5 s, open streams included.", file=sys.stderr)
        return 0
    token = generate_token()
    added = _with_db(settings, lambda db: UserRepository(db).add(args.name, args.role,
                                                                 hash_token(token)))
    if added is None:
        print(f"trainyard: user {args.name!r} exists (revoke it first, or rotate its token "
              "with POST /users/NAME/token)", file=sys.stderr)
        return 1
    _audited(settings, "createUser", f"/users/{args.name}")
    print(token)
    print(f"trainyard: user {args.name!r} ({args.role}); token above, shown once.",
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trainyard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the API server (configured by TRAINYARD_* variables)")
    sub.add_parser("token", help="a new token for user 'admin', replacing the stored one")
    user = sub.add_parser("user", help="add, list or revoke users (prints a new token once)")
    actions = user.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a user and print their token once")
    add.add_argument("name", type=_user_name)
    add.add_argument("--role", choices=("viewer", "operator", "admin"), default="viewer")
    actions.add_parser("list", help="users and their roles")
    revoke = actions.add_parser("revoke", help="remove a user; their token stops working")
    revoke.add_argument("name")
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
    if args.command == "user":
        return _user(settings, args)
    return _token(settings)


if __name__ == "__main__":
    raise SystemExit(main())
