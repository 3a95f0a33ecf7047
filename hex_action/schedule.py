"""When to read a run's status next: quick at first, backing off, and timed by run history.

Pure functions of elapsed time, so the properties (the 2 s floor, the cap, the use and
abandonment of a prediction) are tested directly and the same code is benchmarked with
a simulated clock.

Without history the gaps grow with the time already waited (half of it), from the 2 s
floor up to `poll-interval`: a short run, or a project that fails at once, is noticed
within seconds, and a long run costs one read per `poll-interval`.

With history (the durations of the project's recent completed API runs) the action
knows when the run will probably end. It reads sparsely until shortly before then (gaps
up to a tenth of the expected duration, so an early failure is still noticed), closes
in on the expected end, reads at the floor through a window around it, and falls back
to backing off when the run outlasts the window.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Hex allows 30 status reads a minute per user: never read one run more often than this.
FLOOR = 2.0
#: Plain strategy: the next gap is this share of the time already waited.
GROWTH = 0.5
#: With history, the longest gap before the expected end is this share of the expected duration.
HISTORY_GAP_SHARE = 0.1
#: Jitter applied to gaps above the floor, so parallel jobs do not read in lockstep.
JITTER = 0.1


@dataclass(frozen=True)
class Prediction:
    """Expected run time from trigger to end, and the window of floor-rate reads around it."""

    expected: float
    window_start: float
    window_end: float


def _median(values: list[float]) -> float:
    """The median of sorted `values` (statistics.median would import decimal and fractions at start-up)."""
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def predict(durations: list[float]) -> Prediction | None:
    """A prediction from recent run durations in seconds, or None without usable history."""
    usable = sorted(d for d in durations if d > 0)
    if not usable:
        return None
    expected = _median(usable)
    spread = expected - usable[0] if len(usable) > 1 else 0.05 * expected
    # Start the floor-rate window a little before the fastest likely end, but never more
    # than a tenth of the run early: that bounds the reads spent in the window.
    lead = min(max(3.0, 0.02 * expected, spread), max(3.0, 0.1 * expected))
    # End it after the slowest recent run, but no later than 15% past the expected end: one
    # slow outlier in the history must not keep a run at the floor rate for long.
    after = min(max(6.0, 0.05 * expected, usable[-1] - expected), max(6.0, 0.15 * expected))
    return Prediction(expected=expected, window_start=max(0.0, expected - lead), window_end=expected + after)


class PollSchedule:
    """The gap before the next status read of one run."""

    def __init__(
        self,
        poll_interval: float,
        prediction: Prediction | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.poll_interval = max(FLOOR, poll_interval)
        self.prediction = prediction
        self._rng = rng or random.Random()

    def next_delay(self, elapsed: float) -> float:
        """Seconds to wait after a read made `elapsed` seconds after the run was triggered."""
        p = self.prediction
        if p is None:
            return self._jitter(_backoff(elapsed, self.poll_interval), ceiling=self.poll_interval)
        if elapsed < p.window_start:
            cap = max(self.poll_interval, HISTORY_GAP_SHARE * p.expected)
            approach = (p.window_start - elapsed) / 2  # halve the distance: no read lands far inside the window
            delay = min(_backoff(elapsed, cap), max(FLOOR, approach))
            return self._jitter(delay, ceiling=min(cap, p.window_start - elapsed))
        if elapsed <= p.window_end:
            return FLOOR
        return self._jitter(_backoff(elapsed - p.window_end, self.poll_interval), ceiling=self.poll_interval)

    def _jitter(self, delay: float, ceiling: float) -> float:
        """Spread `delay` by up to 10%, never above `ceiling` nor below the floor."""
        if delay <= FLOOR:
            return FLOOR
        return max(FLOOR, min(delay * self._rng.uniform(1 - JITTER, 1 + JITTER), ceiling))


def _backoff(elapsed: float, cap: float) -> float:
    return min(cap, max(FLOOR, GROWTH * elapsed))
