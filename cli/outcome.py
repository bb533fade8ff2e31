"""Exit statuses, the one contract scripts rely on (documented in docs/cli.md)."""

from __future__ import annotations

__all__ = ["CANCELED", "COMPLETED", "FAILED", "STILL_RUNNING", "USAGE", "CliError",
           "exit_status"]

COMPLETED = 0  # the run completed (or the command did what it was asked)
FAILED = 1  # the run failed: its command exited non-zero or could not start
USAGE = 2  # a usage, connection or server error: nothing was learnt about the run
CANCELED = 3  # the run was canceled or paused
STILL_RUNNING = 4  # --timeout passed while the run was still live

_BY_STATUS = {"completed": COMPLETED, "failed": FAILED, "canceled": CANCELED,
              "paused": CANCELED}


def exit_status(run_status: str | None) -> int:
    """The exit status that tells a script how a run ended."""
    if run_status is None:
        return USAGE
    return _BY_STATUS.get(run_status, STILL_RUNNING)


class CliError(Exception):
    """A one-line message for stderr and the exit status to leave with."""

    def __init__(self, message: str, status: int = USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
