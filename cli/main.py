"""Parsing ``trainyard <client command> ...`` and running it against the server."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import httpx

from common.client import ApiError, TrainyardClient

from .commands import COMMANDS
from .completion import SHELLS, Spec, script
from .follow import RETRY_FOR
from .outcome import USAGE, CliError
from .output import err

__all__ = ["CLIENT_COMMANDS", "main", "parser"]

DEFAULT_URL = "http://127.0.0.1:8000"
EXIT_NOTE = ("exit status: 0 completed, 1 failed, 3 canceled or paused, "
             "4 still running at --timeout, 2 usage, connection or server error")


def _options() -> argparse.ArgumentParser:
    """Options every command takes, before or after its name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS,
                        help=f"the server (default: $TRAINYARD_URL or {DEFAULT_URL})")
    common.add_argument("--token", default=argparse.SUPPRESS,
                        help="the API token (default: $TRAINYARD_TOKEN)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON document (the API's field names) instead")
    return common


def _waiting(p: argparse.ArgumentParser, *, wait_flag: bool) -> None:
    if wait_flag:
        p.add_argument("--wait", action="store_true",
                       help="print the log as it is written; exit with the run's outcome")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="stop waiting after S seconds (exit status 4)")
    p.add_argument("--retry-for", type=float, default=RETRY_FOR, metavar="S",
                   help="keep reconnecting to a server that went away for S s "
                        "(default %(default)g)")


def parser() -> argparse.ArgumentParser:
    common = _options()
    top = argparse.ArgumentParser(prog="trainyard", parents=[common], epilog=EXIT_NOTE,
                                  description="Drive Trainyard training runs from a shell.")
    sub = top.add_subparsers(dest="name", required=True, metavar="COMMAND")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help, description=help,
                              epilog=EXIT_NOTE)

    p = add("ls", "list projects")
    p.add_argument("--status", choices=["active", "archived"])
    p.add_argument("-q", "--quiet", action="store_true", help="names only")
    p = add("runs", "list runs, newest first (of one project, or of all)")
    p.add_argument("project", nargs="?", help="project name or id")
    p.add_argument("--status", choices=["pending", "running", "completed", "failed",
                                        "canceled", "paused"])
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("-q", "--quiet", action="store_true", help="run ids only")
    p = add("run", "start a run: trainyard run PROJECT [--gpus N] [--priority P] "
                   "[--env K=V]... [--wait] -- COMMAND...")
    p.add_argument("project", help="project name or id")
    p.add_argument("--gpus", type=int, metavar="N",
                   help="GPUs the run needs: it waits in the queue until they are free "
                        "(default: the project's)")
    p.add_argument("--priority", type=int, default=0, metavar="P",
                   help="higher starts first among waiting runs (default 0)")
    p.add_argument("--output-dir", metavar="DIR",
                   help="the run's own output directory, relative to its working directory")
    p.add_argument("--env", action="append", default=[], metavar="K=V",
                   help="an environment variable for the command (repeatable)")
    _waiting(p, wait_flag=True)
    p = add("resume", "start a new run from a run's checkpoint [-- COMMAND...]")
    p.add_argument("run", help="run id")
    p.add_argument("--from", dest="source", metavar="ARTIFACT",
                   help="the checkpoint's artifact id (default: the newest complete one)")
    _waiting(p, wait_flag=True)
    p = add("wait", "wait until a run ends; exit with its outcome")
    p.add_argument("run", help="run id")
    _waiting(p, wait_flag=False)
    p = add("logs", "print a run's log (stdout and stderr; Trainyard's notes on stderr)")
    p.add_argument("run", help="run id")
    p.add_argument("-f", "--follow", action="store_true",
                   help="keep printing lines as they are written, until the run ends")
    p.add_argument("--since", type=int, default=0, metavar="SEQ",
                   help="only what came after this sequence number")
    p.add_argument("--retry-for", type=float, default=RETRY_FOR, metavar="S",
                   help="with -f, keep reconnecting for S s (default %(default)g)")
    for name, what in (("cancel", "cancel"), ("pause", "pause (resumable)")):
        p = add(name, f"{what} a run: SIGTERM, grace period, SIGKILL; keeps its checkpoint")
        p.add_argument("run", help="run id")
        p.add_argument("--grace", type=float, default=None, metavar="S",
                       help="seconds between SIGTERM and SIGKILL (server default 30)")
    p = add("compare", "compare runs: metrics, summary and what differs")
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("--keys", help="comma-separated metric names (default: all)")
    p = add("completion", "print a shell completion script: eval \"$(trainyard completion "
                          "bash)\"")
    p.add_argument("shell", choices=SHELLS)
    return top


def _spec(top: argparse.ArgumentParser) -> Spec:
    """Each command's help and options, for the completion scripts."""
    [sub] = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {choice.dest: choice.help or "" for choice in sub._choices_actions}
    return {name: (helps.get(name, ""), sorted(o for a in p._actions for o in a.option_strings
                                              if o.startswith("--")))
            for name, p in sub.choices.items()}


CLIENT_COMMANDS = frozenset({"ls", "runs", "run", "resume", "wait", "logs", "cancel",
                             "pause", "compare", "completion"})


def _split_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """The words after the first ``--`` are the command to run, taken as they are
    (argparse would drop any ``--`` among them)."""
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1:]
    return argv, []


def _connection(args: argparse.Namespace) -> tuple[str, str]:
    url = (getattr(args, "url", None) or os.environ.get("TRAINYARD_URL") or DEFAULT_URL)
    token = getattr(args, "token", None) or os.environ.get("TRAINYARD_TOKEN")
    if not url.startswith(("http://", "https://")):
        raise CliError(f"--url must start with http:// or https://, not {url!r}")
    if not token:
        raise CliError("no API token: pass --token or set TRAINYARD_TOKEN (the server "
                       "printed it on its first start; 'trainyard token' makes a new one)")
    return url.rstrip("/"), token


def _api_error(exc: ApiError, url: str) -> CliError:
    message = exc.body.message
    if exc.status_code == 401:
        message += (f" (from {url}; a server started with TRAINYARD_TOKEN set accepts only "
                    "that token)")
    return CliError(f"{message} [{exc.code}]")


async def _run(args: argparse.Namespace) -> int:
    url, token = _connection(args)
    async with TrainyardClient(url, token) as api:
        try:
            if args.name == "compare":
                from .compare import compare

                return await compare(api, args)
            return await COMMANDS[args.name](api, args)
        except ApiError as exc:
            raise _api_error(exc, url) from None
        except httpx.TransportError as exc:
            raise CliError(f"cannot reach the server at {url}: {exc or type(exc).__name__}"
                           ) from None


def main(argv: list[str]) -> int:
    words, command = _split_command(argv)
    args = parser().parse_args(words)
    args.json = getattr(args, "json", False)
    args.command = command
    if command and args.name not in ("run", "resume"):
        err(f"{args.name} takes no command after `--`")
        return USAGE
    if args.name == "completion":
        sys.stdout.write(script(args.shell, _spec(parser())))
        return 0
    try:
        return asyncio.run(_run(args))
    except CliError as exc:
        err(exc.message)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `trainyard logs RUN | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
