"""The commands, one coroutine each: ask the server, print, return the exit status."""

from __future__ import annotations

import argparse
import shlex
import sys

from common.client import TrainyardClient
from common.models import LogEntry, RunCreate, RunDetail, RunSummary

from .follow import follow_logs, print_entries, wait_for_end
from .outcome import COMPLETED, STILL_RUNNING, CliError, exit_status
from .output import emit_json, emit_table, moment, one_line

__all__ = ["COMMANDS"]


def _command_text(words: list[str]) -> str:
    """One word is taken as a shell command line as it is (``'make train && echo ok'``);
    several are quoted so each reaches the command as one argument."""
    if not words:
        raise CliError("no command to run: give it after `--`, e.g. "
                       "`trainyard run PROJECT -- python train.py`")
    return words[0] if len(words) == 1 else shlex.join(words)


def _env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--env takes KEY=VALUE, not {pair!r}")
        env[key] = value
    return env


def _ended_line(run: RunDetail) -> str:
    parts = [f"{run.id} {run.status}"]
    if run.exit_code is not None:
        parts.append(f"exit code {run.exit_code}")
    if run.kept_artifact_id:
        kept = next((a for a in run.artifacts if a.id == run.kept_artifact_id), None)
        parts.append(f"kept {run.kept_artifact_id}" + (f" ({kept.name})" if kept else ""))
    if run.status_message and run.status == "failed":
        parts.append(one_line(run.status_message))
    return "; ".join(parts)


async def ls(api: TrainyardClient, args: argparse.Namespace) -> int:
    projects = await api.list_projects(status=args.status)
    if args.json:
        emit_json(projects)
    elif args.quiet:
        sys.stdout.writelines(f"{p.name}\n" for p in projects)
    else:
        emit_table(["NAME", "ID", "STATUS", "RUNS", "OWNER", "TASK", "CREATED"],
                   [[p.name, p.id, p.status, str(p.runs_started), p.owner, p.task_type,
                     moment(p.created_at)] for p in projects])
    return COMPLETED


async def runs(api: TrainyardClient, args: argparse.Namespace) -> int:
    found: list[RunSummary] = []
    after: str | None = None
    while len(found) < args.limit:
        page = await api.list_all_runs(status=args.status, project=args.project,
                                       limit=min(1000, args.limit - len(found)), after=after)
        found.extend(page.runs)
        after = page.next_after
        if after is None:
            break
    if args.json:
        emit_json(found)
    elif args.quiet:
        sys.stdout.writelines(f"{r.id}\n" for r in found)
    else:
        emit_table(["ID", "STATUS", "PROGRESS", "EXIT", "CREATED", "COMMAND"],
                   [[r.id, r.status, f"{r.progress:.0%}",
                     "-" if r.exit_code is None else str(r.exit_code), moment(r.created_at),
                     one_line(r.start_command)[:60]] for r in found])
    return COMPLETED


async def _watch(api: TrainyardClient, args: argparse.Namespace, run: RunDetail) -> int:
    """After a launch: the run id, or with ``--wait`` its log and how it ended."""
    if not args.wait:
        if args.json:
            emit_json(run)
        else:
            print(run.id)
        return COMPLETED
    if args.json:  # one document: the final detail, no log on the way
        final, ended = await wait_for_end(api, run.id, within=args.timeout,
                                          retry_for=args.retry_for)
        emit_json(final)
        return exit_status(final.status) if ended else STILL_RUNNING
    sys.stderr.write(f"trainyard: started {run.id}\n")
    end = await follow_logs(api, run.id, since=0, retry_for=args.retry_for)
    final = await api.run(run.id)
    sys.stderr.write(f"trainyard: {_ended_line(final)}\n")
    return exit_status(end.get("status") or final.status)


async def run(api: TrainyardClient, args: argparse.Namespace) -> int:
    data = RunCreate(start_command=_command_text(args.command), env=_env(args.env),
                     gpus=args.gpus, priority=args.priority, output_dir=args.output_dir)
    return await _watch(api, args, await api.start_run(args.project, data))


async def resume(api: TrainyardClient, args: argparse.Namespace) -> int:
    command = _command_text(args.command) if args.command else None
    started = await api.resume_run(args.run, source_artifact_id=args.source,
                                   start_command=command)
    return await _watch(api, args, started)


async def wait(api: TrainyardClient, args: argparse.Namespace) -> int:
    final, ended = await wait_for_end(api, args.run, within=args.timeout,
                                      retry_for=args.retry_for)
    if args.json:
        emit_json(final)
    else:
        print(_ended_line(final) if ended else f"{final.id} still {final.status} after "
                                                  f"{args.timeout:g} s")
    return exit_status(final.status) if ended else STILL_RUNNING


async def logs(api: TrainyardClient, args: argparse.Namespace) -> int:
    if args.follow:
        if args.json:
            raise CliError("--json and -f do not mix: -f prints lines as they come")
        end = await follow_logs(api, args.run, since=args.since, retry_for=args.retry_for)
        return exit_status(end.get("status"))
    after: int = args.since
    entries: list[LogEntry] = []
    while True:
        page = await api.run_logs(args.run, after=after, limit=5000)
        if args.json:
            entries.extend(page.entries)
        else:
            print_entries(page.entries)
        after = page.next_after
        if not page.has_more:
            break
    if args.json:
        emit_json({"run_id": args.run, "entries": entries, "next_after": after})
    return COMPLETED


async def stop(api: TrainyardClient, args: argparse.Namespace) -> int:
    stopped = await api.stop_run(args.run, grace_seconds=args.grace,
                                 pause=args.name == "pause")
    if args.json:
        emit_json(stopped)
    else:
        print(_ended_line(stopped))
    return COMPLETED


COMMANDS = {"ls": ls, "runs": runs, "run": run, "resume": resume, "wait": wait, "logs": logs,
            "cancel": stop, "pause": stop}
