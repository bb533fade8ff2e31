"""Progress, throughput and ETA, computed from the steps we see and when we saw them.

Trainers' own ETAs are wrong after a resume (they count from step 0), so the rate is
measured here over a sliding window of (time, step) observations; the trainer's rate is
only a fallback until enough has been seen.
"""

from __future__ import annotations

import time
from collections import deque

from common.models import ProgressInfo

__all__ = ["ProgressInfo", "ProgressTracker"]

WINDOW_SECONDS = 60.0
MIN_SPAN_SECONDS = 1.0


class ProgressTracker:
    def __init__(self, info: ProgressInfo | None = None) -> None:
        self.info = info or ProgressInfo()
        self._seen: deque[tuple[float, int]] = deque()
        self._opening = True  # the next interval is not trusted (see observe)
        self._trainer_rate: float | None = None

    def observe(self, *, step: int | None, total: int | None, rate: float | None, source: str,
                now: float | None = None, timed: bool = True) -> bool:
        """Record what a line said; True when the visible progress changed.

        ``timed=False`` means the line is old news (a backlog read after a restart): it
        moves the step but must not count toward the rate, so the window starts over.
        """
        now = time.monotonic() if now is None else now
        info = self.info
        before = (info.current_step, info.total_steps)
        if total is not None and total > 0:
            info.total_steps = total
        if step is not None and (info.current_step is None or step >= info.current_step
                                 or source != info.source):
            info.current_step = step
            info.source = source
            if not timed:
                self._seen.clear()
                self._opening = True
            elif self._opening and self._seen:
                # The first interval after the window opens may be a fast-forward (a resumed
                # bar going 0 -> 22) or the end of a catch-up, not speed: measure from here.
                self._seen[0] = (now, step)
                self._opening = False
            else:
                self._seen.append((now, step))
                while self._seen and now - self._seen[0][0] > WINDOW_SECONDS:
                    self._seen.popleft()
        if rate is not None:
            self._trainer_rate = rate
        self._recompute(now)
        return (info.current_step, info.total_steps) != before

    def _recompute(self, now: float) -> None:
        info = self.info
        rate, rate_source = None, None
        if len(self._seen) >= 2:
            (t0, s0), (t1, s1) = self._seen[0], self._seen[-1]
            if t1 - t0 >= MIN_SPAN_SECONDS and s1 > s0:
                rate, rate_source = (s1 - s0) / (t1 - t0), "measured over the last minute"
        if rate is None and self._trainer_rate:
            rate, rate_source = self._trainer_rate, "as the trainer reported it"
        info.steps_per_second = round(rate, 4) if rate else None
        info.rate_source = rate_source
        if info.total_steps and info.current_step is not None:
            info.progress = round(min(1.0, max(0.0, info.current_step / info.total_steps)), 4)
            left = max(0, info.total_steps - info.current_step)
            info.eta_seconds = round(left / rate, 1) if rate else None
        else:
            info.eta_seconds = None

    def finish(self, completed: bool) -> None:
        if completed and self.info.total_steps:
            self.info.current_step = max(self.info.current_step or 0, self.info.total_steps)
            self.info.progress = 1.0
        self.info.eta_seconds = None
