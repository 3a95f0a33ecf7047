"""Time, injectable: every wait in the action goes through a `Clock`, so tests use a fake one."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A monotonic clock with an interruptible sleep."""

    def now(self) -> float:
        """Monotonic seconds."""

    def wall(self) -> float:
        """Wall-clock seconds since the epoch (for timestamps shown to people)."""

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> bool:
        """Sleep up to `seconds`; return True at once when `wake` is or becomes set."""


class SystemClock:
    """The real clock. `sleep` waits on the event, so a signal handler that sets it wakes us."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> bool:
        if wake is None:
            time.sleep(max(0.0, seconds))
            return False
        return wake.wait(max(0.0, seconds))


class FakeClock:
    """A clock for tests and simulations: `sleep` advances time instantly."""

    def __init__(self, start: float = 1000.0, wall_start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep."""
        self._now += seconds

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> bool:
        if wake is not None and wake.is_set():
            return True
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self._now += seconds
        return wake is not None and wake.is_set()
