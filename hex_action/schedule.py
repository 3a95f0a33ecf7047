"""When to read a run's status next: quick at first and backing off, or timed by run history.

Pure functions of elapsed time, so the properties (the 2 s floor, the caps, where reads
land) are tested directly and the same code is benchmarked with a simulated clock.

Without history (the plain strategy) the gaps grow with the time already waited (half of
it), from the 2 s floor up to `poll-interval`: a short run, or a project that fails at
once, is noticed within seconds, and a long run costs one read per `poll-interval`. Not
knowing when the run ends, it cannot have both few reads and a prompt notice of the end.

With history (the durations of the project's recent completed API runs) the action knows
roughly when the run ends, and spends its reads there:

* The window. The run will most likely end between the fastest and the slowest recent run.
  The window reaches a little beyond both, by a unit: the typical distance between two
  neighbouring recent durations (their range over n - 1), so a steady project gets a
  narrow window and an erratic one a wide window. It reaches further past the slowest run
  (4 units) than before the fastest (2): a run is seldom much faster than its recent
  fastest, but a slow query or a busy kernel can hold it up. One outlier in the history
  must not keep a run at the window's rate for long, so the window stays within a tenth
  of the expected duration (the median) before it and 15% after it.
* Before the window: sparse reads, each at most a tenth of the expected duration (5 minutes
  at most), or `poll-interval` if longer, after the one before, so an early failure is still
  noticed. The gaps
  are divided evenly so that a read lands exactly on the window's grid, and on the last
  stretch none is longer than half the distance left (or 16 s, if longer): the reads
  close in where an early end is likelier, without piling up. No quick first reads and
  no jitter: they would cost reads and miss the grid.
* In the window: a read every 4 s, on a grid from the window's start (its first read one
  gap in: at the very start, two units before the fastest recent run, the run is still
  going). The end is noticed 2 s after it on average, sooner than by a 5 s poller (2.5 s)
  at a fraction of its reads, and the run takes half the read rate the 2 s floor allows,
  leaving the rest of the budget to a pipeline's other runs. A run expected to take under
  30 s reads its short window at the 2 s floor: a read or two more, a second sooner.
* After the window (the run outlasts its history): the plain backoff again, measured from
  the window's end and starting at the window's gap, up to `poll-interval`.

Never are two reads of one run closer than the 2 s floor.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

#: Hex allows 30 status reads a minute per user: never read one run more often than this.
FLOOR = 2.0
#: Plain strategy: the next gap is this share of the time already waited.
GROWTH = 0.5
#: Jitter applied to backoff gaps above the floor, so parallel jobs do not read in lockstep.
JITTER = 0.1

#: With history, the longest gap before the window is this share of the expected duration,
#: up to MAX_HISTORY_GAP (or `poll-interval`, when longer): a run that fails early is still noticed.
HISTORY_GAP_SHARE = 0.1
#: The trade-off is reads against how late an early failure is seen. Up to 1 h runs the cap
#: costs little: a 1 h run takes 17 reads before the window instead of 15. A 10 h run would
#: take 18 with gaps of a tenth (1 h), and see a failure up to an hour late; with 5 minutes it
#: takes 123, about 12 an hour (Hex allows 1,800 an hour), and sees it within 5 minutes.
MAX_HISTORY_GAP = 300.0
#: Gaps before the window are at most half the distance left to it, or this, if longer.
APPROACH_MIN_GAP = 16.0
#: The gap between reads in the window: the end is noticed 2 s after it on average.
WINDOW_GAP = 4.0
#: Runs expected to take less than this read their window at the floor instead: it costs
#: only a read or two, and a pipeline of short steps would otherwise lose seconds per step.
SHORT_RUN = 30.0
#: The window opens this many units before the fastest recent run...
UNITS_BEFORE = 2.0
#: ...and closes this many units after the slowest.
UNITS_AFTER = 4.0
#: The unit is at least this share of the expected duration (identical durations in the
#: history still leave room for a little variation)...
UNIT_SHARE = 0.01
#: ...and at least this many seconds (Hex reports durations to the millisecond, runs vary more).
MIN_UNIT = 1.0
#: With one recent run there is no spread to measure: take this share of its duration as the unit.
SINGLE_RUN_UNIT_SHARE = 0.05
#: The window never opens earlier before the expected end than this share of it (or MAX_LEAD s)...
MAX_LEAD_SHARE = 0.1
MAX_LEAD = 3.0
#: ...nor closes later after it than this share (or MAX_LAG s): an outlier would make it long.
MAX_LAG_SHARE = 0.15
MAX_LAG = 6.0
#: Slack for float arithmetic when a read should land exactly on the window's grid.
EPSILON = 1e-6


@dataclass(frozen=True)
class Prediction:
    """Expected run time from trigger to end (the median of the history), and the window of
    reads every `gap` seconds: from `window_start` (its first read one gap later) to `window_end`."""

    expected: float
    window_start: float
    window_end: float
    gap: float = WINDOW_GAP

    @property
    def first_read(self) -> float:
        """The window's first read, where the sparse reads before it land."""
        return self.window_start + self.gap


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
    fastest, slowest = usable[0], usable[-1]
    # The typical distance between neighbouring durations: how far the next run may fall
    # outside the range seen so far.
    spacing = (slowest - fastest) / (len(usable) - 1) if len(usable) > 1 else SINGLE_RUN_UNIT_SHARE * fastest
    unit = max(spacing, UNIT_SHARE * expected, MIN_UNIT)
    earliest = expected - max(MAX_LEAD, MAX_LEAD_SHARE * expected)
    latest = expected + max(MAX_LAG, MAX_LAG_SHARE * expected)
    return Prediction(
        expected=expected,
        window_start=max(0.0, earliest, fastest - UNITS_BEFORE * unit),
        window_end=min(latest, slowest + UNITS_AFTER * unit),
        gap=FLOOR if expected < SHORT_RUN else WINDOW_GAP,
    )


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
        if elapsed < p.first_read - EPSILON:
            return self._approach(p, elapsed)
        if elapsed <= p.window_end:
            return p.gap
        after = min(self.poll_interval, max(p.gap, GROWTH * (elapsed - p.window_end)))
        return self._jitter(after, ceiling=self.poll_interval)

    def _approach(self, p: Prediction, elapsed: float) -> float:
        """Before the window: even gaps, so that a read lands on the window's first read."""
        remaining = p.first_read - elapsed
        cap = max(self.poll_interval, min(HISTORY_GAP_SHARE * p.expected, MAX_HISTORY_GAP))
        longest = min(cap, max(APPROACH_MIN_GAP, remaining / 2))
        reads = max(1, math.ceil(remaining / longest - EPSILON))
        # Never under the floor: when the window's first read is closer than that (a read the
        # budget delayed, a short run), or the gaps may barely exceed it (poll-interval near 2s
        # and a short run), a read lands just past the first read instead of on it.
        return max(FLOOR, remaining / reads)

    def _jitter(self, delay: float, ceiling: float) -> float:
        """Spread `delay` by up to 10%, never above `ceiling` nor below the floor."""
        if delay <= FLOOR:
            return FLOOR
        return max(FLOOR, min(delay * self._rng.uniform(1 - JITTER, 1 + JITTER), ceiling))


def _backoff(elapsed: float, cap: float) -> float:
    return min(cap, max(FLOOR, GROWTH * elapsed))
