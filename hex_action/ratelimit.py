"""Client-side rate limits, so the action stays inside Hex's and never causes its own 429s.

Hex counts per user (per token): status and list reads share 30 a minute and 1,800 an
hour; run starts 20 a minute and 60 an hour (shared/hex-api.md, "Rate limits"). Hex's
window starts at the first request; a sliding window of the same size is stricter, so
keeping under it keeps under Hex's.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass
class _Window:
    limit: int
    period: float
    times: deque[float] = field(default_factory=deque)

    def earliest(self, now: float) -> float:
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()
        if len(self.times) < self.limit:
            return now
        return self.times[len(self.times) - self.limit] + self.period


class RateLimiter:
    """Several sliding windows over one kind of request, plus a shared pause after a 429.

    One limiter is shared by everything in the process that makes that kind of request
    (a pipeline's concurrent runs included), so together they stay under the limit.
    """

    def __init__(self, windows: list[tuple[int, float]]) -> None:
        self._windows = [_Window(limit, period) for limit, period in windows]
        self._paused_until = 0.0
        self.used = 0
        # Cancels run in worker threads, and their last looks are reads: keep the windows whole.
        self._lock = threading.Lock()

    def next_allowed(self, now: float) -> float:
        """The earliest time, at or after `now`, when one more request is allowed."""
        with self._lock:
            return max([now, self._paused_until, *(w.earliest(now) for w in self._windows)])

    def record(self, at: float) -> None:
        """Count a request sent at `at`."""
        with self._lock:
            self.used += 1
            for window in self._windows:
                window.times.append(at)

    def pause_until(self, until: float) -> None:
        """After a 429: no request of this kind before `until` (Hex's Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, until)


def status_read_limiter() -> RateLimiter:
    """Status and list reads: Hex's `hex-api` group allows 30 a minute (and 1,800 an hour).

    At most 6 in any 12 s: short bursts are allowed (several runs starting together each
    get their first reads), but the minute's budget cannot be spent in one burst that
    would leave every run unread for the rest of the minute, so a run ending then would go
    unnoticed. 29 a minute leaves one for the difference between our clock and Hex's
    window, and keeps under the hourly 1,800.
    """
    return RateLimiter([(6, 12.0), (29, 60.0)])


def run_start_limiter() -> RateLimiter:
    """Run starts: Hex's RunProject allows 20 a minute and 60 an hour.

    One less than each limit leaves room for clock differences. At most 5 in any 5 s: a
    small fan-out starts at once, while a large pipeline does not start its runs in one
    stampede.
    """
    return RateLimiter([(5, 5.0), (19, 60.0), (59, 3600.0)])
