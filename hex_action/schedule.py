"""When to read a run's status next: quick at first and backing off, or planned from run history.

Without history (the plain strategy) the gaps grow with the time already waited (half of
it), from the 2 s floor up to `poll-interval`: a short run, or a project that fails at
once, is noticed within seconds, and a long run costs one read per `poll-interval`. Not
knowing when the run ends, it cannot have both few reads and a prompt notice of the end.
The gaps are jittered by up to 10%, so parallel jobs do not read in lockstep.

With history (the project's recent API runs), the reads are planned from the distribution of
the run's end (hex_action.planner): the fewest reads for a 2 s mean detection latency. When
the run outlasts its history, the plain backoff takes over again, measured from there.

Never are two reads of one run closer than the 2 s floor.
"""

from __future__ import annotations

import random

from hex_action.oracle import FLOOR
from hex_action.planner import History, WaitPlan, plan_wait

__all__ = ["FLOOR", "GROWTH", "JITTER", "PollSchedule"]

#: Plain strategy: the next gap is this share of the time already waited.
GROWTH = 0.5
#: Jitter applied to backoff gaps above the floor, so parallel jobs do not read in lockstep.
JITTER = 0.1


class PollSchedule:
    """The gap before the next status read of one run."""

    def __init__(self, poll_interval: float, rng: random.Random | None = None) -> None:
        self.poll_interval = max(FLOOR, poll_interval)
        self.plan: WaitPlan | None = None
        self._rng = rng or random.Random()
        #: When the run outlasted its planned reads (its history), if it has.
        self.outlasted_at: float | None = None

    def use_history(self, history: History | None, limit: float) -> None:
        """Plan the reads from `history` (None: the plain strategy), for a wait of at most `limit` s."""
        self.plan = None if history is None else plan_wait(history, self.poll_interval, limit)

    def next_delay(self, elapsed: float, status: str | None = None, running: float | None = None) -> float:
        """Seconds to wait after a read made `elapsed` seconds after the run was triggered.

        `status` and `running` (Hex's elapsedTime, in seconds) are what that read showed,
        when it was a status read that answered.
        """
        plan = self.plan
        if plan is not None and self.outlasted_at is None:
            plan.observe(elapsed, status, running)
            planned = plan.next_read(elapsed)
            if planned is not None:
                return max(FLOOR, planned - elapsed)
            self.outlasted_at = elapsed
        since = elapsed if self.outlasted_at is None else elapsed - self.outlasted_at
        return self._jitter(min(self.poll_interval, max(FLOOR, GROWTH * since)))

    def _jitter(self, delay: float) -> float:
        """Spread `delay` by up to 10%, never above `poll-interval` nor below the floor."""
        if delay <= FLOOR:
            return FLOOR
        return max(FLOOR, min(delay * self._rng.uniform(1 - JITTER, 1 + JITTER), self.poll_interval))
