"""A wait planned from the project's own run times: read when the run is likely to have ended.

From the durations of the project's recent API runs the planner estimates when this run will
end, then reads at the times that make the fewest reads for a target mean detection latency
(hex_action.oracle, the computation the benchmark measures it against). Two documented
settings and the history decide the rest:

* TARGET_LATENCY: the mean time from the run's end to the read that sees it (2 s, so never
  worse than reading every 5 s, whose mean is 2.5 s).
* PRIOR_SPREAD: how much a project's run time varies when its history cannot tell yet (one run).

The estimate, on log-durations (a run twice as long varies twice as much in seconds):

* A kernel estimate, one kernel per run: a smoothed histogram that keeps a second mode (a
  project that sometimes refreshes a big table). Its width follows the history's spread by
  the normal reference rule, widened by PRIOR_SPREAD / n (one run says little about the
  spread, ten say a lot); when the history falls into two clearly separate groups, by the
  spread within them, so the gap between two modes stays empty.
* Each kernel has the tails of Student's t with n - 1 degrees of freedom (the predictive
  distribution of a normal whose spread was estimated from n runs), as a mix of normals
  one, two and four times as wide: ten runs rarely show a project's slowest, and a plan with
  thin tails would leave the runs beyond them unread for long.
* Failures (ERRORED or KILLED runs) are kernels like the rest: their share and their timing,
  so a project that fails early gets reads where it fails.

The plan: the read times that minimise E[reads] + price * E[latency] on a time grid (the
oracle's dynamic programme), the price of a second of latency bisected once per run so that
the mean latency meets TARGET_LATENCY. Gaps are at least Hex's 2 s floor and at most the
longest gap: `poll-interval`, or LONGEST_GAP if longer, so a run that ends where its history
never did is still noticed. The plan is made again, at the same price, when a read shows the
run has moved on: from PENDING to RUNNING (Hex's elapsedTime then says when it started
running, and durations count from there), or still PENDING (it starts later than assumed).
Past the plan's horizon the run has outlasted its history: reads back off as without history,
from the floor up to `poll-interval`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from hex_action.oracle import FLOOR, PLANNING, EndTime, LogNormal, Plan, best_plan, make_grid, plan_for_latency

#: The mean detection latency a plan aims at, in seconds.
TARGET_LATENCY = 2.0
#: The spread of log-durations assumed with one run of history (about ±20%), shrinking as 1/n.
PRIOR_SPREAD = 0.2
#: The normal reference rule (Scott's): kernels 1.06 n^(-1/5) times the history's spread wide.
NORMAL_REFERENCE = 1.06
#: A history is two modes when its two groups' means are this many of their spreads apart: ten
#: runs of one lognormal look so split about one time in twenty.
TWO_MODES = 5.0
#: The widths of the normals that make a kernel's t tails, in kernel widths.
TAIL_WIDTHS = (1.0, 2.0, 4.0)
#: With history, the longest gap between reads (or `poll-interval`, if longer): a run that ends
#: where its history says it should not is noticed within this.
LONGEST_GAP = 300.0
#: Statuses of runs that ended without completing: the timing of failures.
FAILED = frozenset({"ERRORED", "KILLED"})


@dataclass(frozen=True)
class History:
    """Durations in seconds (Hex's elapsedTime: from the start of running to the end) of recent runs."""

    completed: tuple[float, ...]
    failed: tuple[float, ...] = ()

    @property
    def runs(self) -> int:
        """How many runs the history holds."""
        return len(self.completed) + len(self.failed)


def history_of(durations: Sequence[tuple[str, float | None]]) -> History | None:
    """A History from (status, duration) pairs of ended runs; None when none is usable."""
    completed = tuple(d for s, d in durations if s == "COMPLETED" and d is not None and d > 0)
    failed = tuple(d for s, d in durations if s in FAILED and d is not None and d > 0)
    if not completed and not failed:
        return None
    return History(completed, failed)


def bandwidth(logs: Sequence[float]) -> float:
    """The kernels' width on log-durations (see the module docstring)."""
    n = len(logs)
    rule = 0.0
    if n >= 2:
        spread = statistics.stdev(logs)
        within = _spread_within_two_modes(sorted(logs))
        if within is not None:
            spread = min(spread, within)
        rule = NORMAL_REFERENCE * spread * n ** (-0.2)
    return math.hypot(rule, PRIOR_SPREAD / n)


def _spread_within_two_modes(ordered: Sequence[float]) -> float | None:
    """The pooled spread within the best split of `ordered` into two groups of two or more,
    when their means are TWO_MODES such spreads apart or more; None otherwise."""
    n = len(ordered)
    best: tuple[float, float] | None = None  # (sum of squares within, distance between means)
    for i in range(2, n - 1):
        low, high = ordered[:i], ordered[i:]
        mean_low, mean_high = statistics.fmean(low), statistics.fmean(high)
        squares = sum((x - mean_low) ** 2 for x in low) + sum((x - mean_high) ** 2 for x in high)
        if best is None or squares < best[0]:
            best = (squares, mean_high - mean_low)
    if best is None:
        return None
    within = math.sqrt(best[0] / (n - 2))
    return within if best[1] >= TWO_MODES * within else None


def tail_weights(runs: int) -> tuple[float, ...]:
    """The shares of TAIL_WIDTHS in a kernel with Student-t tails, n - 1 degrees of freedom.

    A t is a normal whose precision is a chi-square over its degrees of freedom: each width
    takes the chance that the precision falls nearest its own (1, 1/4, 1/16), split at the
    geometric means 1/2 and 1/8.
    """
    dof = max(runs - 1, 1)
    narrow = 1.0 - _chi2_cdf(dof * 0.5, dof)  # precision above 1/2
    widest = _chi2_cdf(dof * 0.125, dof)  # precision below 1/8
    return (narrow, 1.0 - narrow - widest, widest)


def _chi2_cdf(x: float, dof: int) -> float:
    """P(chi-square with `dof` degrees of freedom <= x): the regularized lower incomplete gamma."""
    a, half = dof / 2, x / 2
    if half <= 0:
        return 0.0
    term = total = 1.0 / a
    k = 1
    while term > 1e-12 * total:
        term *= half / (a + k)
        total += term
        k += 1
    return min(1.0, total * math.exp(a * math.log(half) - half - math.lgamma(a)))


def estimate(history: History) -> tuple[LogNormal, ...]:
    """The mixture of run durations (weights sum to 1) the history suggests."""
    components: list[LogNormal] = []
    shares = tail_weights(history.runs)
    for durations in (history.completed, history.failed):
        if not durations:
            continue
        logs = [math.log(d) for d in durations]
        width = bandwidth(logs)
        for x in logs:
            components += [
                LogNormal(share / history.runs, x, width * times)
                for share, times in zip(shares, TAIL_WIDTHS, strict=True)
                if share > 1e-4
            ]
    total = sum(c.weight for c in components)
    return tuple(LogNormal(c.weight / total, c.mu, c.sigma) for c in components)


@dataclass
class WaitPlan:
    """The planned reads of one run, made again as reads show its progress.

    Times are seconds since the trigger. `limit` is when the wait ends (the timeout): no
    read is planned past it.
    """

    durations: tuple[LogNormal, ...]
    longest_gap: float
    limit: float
    target: float = TARGET_LATENCY
    #: When the run started running, as far as the reads tell (assumed at first: at once).
    started: float = 0.0
    #: Whether `started` is known from Hex (a RUNNING read), not assumed.
    start_known: bool = False
    _plan: Plan | None = field(default=None, repr=False)
    _price: float | None = field(default=None, repr=False)

    @property
    def price(self) -> float | None:
        """The price of a second of latency, in reads, once the first plan has set it."""
        return self._price

    def end_time(self) -> EndTime:
        """The distribution of the run's end, as far as the reads tell."""
        return EndTime(self.durations, offset=self.started)

    def observe(self, elapsed: float, status: str | None, running: float | None) -> None:
        """What a read at `elapsed` showed: the status and Hex's elapsedTime (seconds running)."""
        if self.start_known:
            return
        if status == "PENDING" and elapsed > self.started:
            self.started = elapsed  # it starts no sooner than now
            self._plan = self._make(elapsed)
        elif status == "RUNNING":
            start = elapsed - running if running is not None else self.started
            # Within what the reads allow: after the last PENDING read, at or before this one.
            self.started = min(max(start, self.started), elapsed)
            self.start_known = True
            self._plan = self._make(elapsed)

    def plan(self, elapsed: float) -> Plan:
        """The current plan (made from `elapsed` when there is none yet)."""
        if self._plan is None:
            self._plan = self._make(elapsed)
        return self._plan

    def next_read(self, elapsed: float) -> float | None:
        """When to read after a read at `elapsed`: None past the plan's horizon (the run has
        outlasted its history), infinity when no read fits before the limit."""
        plan = self.plan(elapsed)
        times = plan.grid.times
        if elapsed >= plan.grid.horizon:
            return None
        # The plan from the grid point at or just before `elapsed` (a read the shared budget
        # delayed falls between them), never sooner than the floor.
        j = _index_at_or_before(times, elapsed)
        k = plan.next_read[j]
        at = max(times[k] if k is not None else times[j] + FLOOR, elapsed + FLOOR)
        # At the limit the engine takes one last look itself: no read just before it.
        return at if at <= self.limit - FLOOR else math.inf

    def _make(self, elapsed: float) -> Plan:
        grid = make_grid(self.end_time(), elapsed, max(self.limit, elapsed + FLOOR), PLANNING, self.longest_gap / 2)
        if self._price is None:
            plan = plan_for_latency(grid, self.target, FLOOR, self.longest_gap)
            self._price = plan.price
            return plan
        return best_plan(grid, self._price, FLOOR, self.longest_gap)


def _index_at_or_before(times: list[float], t: float) -> int:
    low, high = 0, len(times) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if times[middle] <= t + 1e-9:
            low = middle
        else:
            high = middle - 1
    return low


def plan_wait(history: History, poll_interval: float, limit: float) -> WaitPlan:
    """A wait plan for a run of a project with `history`, to end by `limit` s after the trigger."""
    return WaitPlan(estimate(history), max(poll_interval, LONGEST_GAP), limit)
