"""Stopping the bench on Ctrl-C or SIGTERM, reliably.

The signal cancels the main task *and* sets a flag that every loop checks: a
``task.cancel()`` that lands inside an httpx request can be absorbed by its connection
pool, so the flag is what guarantees the bench stops at its next step (its ``finally``
blocks then stop the servers and runs it started).
"""

from __future__ import annotations

import asyncio
import signal

__all__ = ["Interrupted", "check", "install"]

_stopped = False


class Interrupted(BaseException):
    """Raised at the next step after Ctrl-C/SIGTERM (a BaseException, like Ctrl-C, so
    ``except Exception`` blocks let it through)."""


def check() -> None:
    if _stopped:
        raise Interrupted


def install(task: asyncio.Task[object]) -> None:
    def stop() -> None:
        global _stopped
        _stopped = True
        task.cancel()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # ignored when run with '&'
        loop.add_signal_handler(signal.SIGINT, stop)
