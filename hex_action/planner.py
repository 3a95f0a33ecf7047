"""A wait planned from the project's own run times: read when the run is likely to have ended.

From the durations of the project's recent API runs the planner estimates when this run will
end, then reads at the times that make the fewest reads for a target mean detection latency
(hex_action.oracle, the computation the benchmark measures it against). Two documented
settings and the history decide the rest:

* TARGET_LATENCY: the mean time from the run's end to the read that sees it (2 s, so never
  worse than reading every 5 s, whose mean is 2.5 s).
* PRIOR_SPREAD: how much a project's run time varies when its history cannot tell (about 10%),
  counted as one run's worth of evidence beside the history's own spread.

The estimate, on log-durations (a run twice as long varies twice as much in seconds):

* Modes: the completed runs form one group, or two when they split clearly (a project that
  sometimes refreshes a big table; a single run may show the slow mode); the failed runs
  (ERRORED, KILLED) another, with their share and timing, so a project that fails early gets
  reads where it fails. Each group is a lognormal around its mean, weighted by its runs.
* Spread: pooled within the groups, with PRIOR_SPREAD as one more run's worth; where the next
  run falls is wider than where the group's mean lies (by 1 + 1/n), and has the tails of
  Student's t with as many degrees of freedom as the spread has (a mix of normals about
  sqrt(2) apart in width): ten runs rarely show a project's fastest or slowest, and a plan
  with thin tails would leave the runs beyond them unread for minutes.
* Failures none of the runs had are not planned for: insuring against them with reads before
  the expected end costs more than the whole margin to the fewest possible reads for a steady
  project (the benchmark shows it), while a failure the history has shown is planned for
  like any other end. An unexpected early end is noticed within the longest gap.

The plan: the read times that minimise E[reads] + price * E[latency] on a time grid (the
oracle's dynamic programme). The price of a second of latency is bisected once per run so
that the plan meets TARGET_LATENCY on the estimated distribution. Gaps are at least Hex's 2 s floor
and at most the longest gap: `poll-interval`, or LONGEST_GAP if longer. The plan is made again,
at the same price, when a read shows the run has moved on: from PENDING to RUNNING (Hex's
elapsedTime then says when it started running, and durations count from there), or still
PENDING (it starts later than assumed). Past the plan's horizon the run has outlasted its
history: reads back off as without history, from the floor up to `poll-interval`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from hex_action.oracle import FLOOR, PLANNING, EndTime, Grid, LogNormal, Plan, best_plan, make_grid, plan_for_latency

#: The mean detection latency a plan aims at, in seconds.
TARGET_LATENCY = 2.0
#: The spread of log-durations assumed where the history cannot tell (about ±10%), one run's worth.
PRIOR_SPREAD = 0.1
#: A history is two modes when its two groups' means are this many of their spreads apart: ten
#: runs of one lognormal look so split about one time in twenty (CV 20 %) to fifteen (CV 50 %).
TWO_MODES = 5.0
#: The widths of the normals that make Student's t, in its scale: a factor of about sqrt(2) apart.
T_WIDTHS = (0.6, 0.85, 1.2, 1.7, 2.4, 3.4, 4.8)
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


def history_of(durations: Sequence[tuple[str, float | None]]) -> History | None:
    """A History from (status, duration) pairs of ended runs; None when none is usable."""
    completed = tuple(d for s, d in durations if s == "COMPLETED" and d is not None and d > 0)
    failed = tuple(d for s, d in durations if s in FAILED and d is not None and d > 0)
    if not completed and not failed:
        return None
    return History(completed, failed)


def modes(logs: Sequence[float]) -> list[list[float]]:
    """`logs` as one group, or two when they split clearly: the best split into two groups whose
    means are TWO_MODES of their pooled spreads apart or more. A group may be a single run (a
    slow mode that three runs in ten show is shown by only one in a tenth of histories): its
    spread is the other group's."""
    ordered = sorted(logs)
    n = len(ordered)
    best: tuple[float, int, float] | None = None  # (sum of squares within, split, distance between means)
    for i in range(1, n):
        low, high = ordered[:i], ordered[i:]
        mean_low, mean_high = statistics.fmean(low), statistics.fmean(high)
        squares = sum((x - mean_low) ** 2 for x in low) + sum((x - mean_high) ** 2 for x in high)
        if best is None or squares < best[0]:
            best = (squares, i, mean_high - mean_low)
    # The spread as `estimate` takes it: pooled within the two groups, PRIOR_SPREAD one more run's worth.
    if best is not None and best[2] >= TWO_MODES * math.sqrt((best[0] + PRIOR_SPREAD**2) / (n - 1)):
        return [ordered[: best[1]], ordered[best[1] :]]
    return [ordered] if ordered else []


def t_shares(dof: int) -> tuple[float, ...]:
    """The shares of T_WIDTHS in a mix of normals that makes Student's t with `dof` degrees of freedom.

    A t is a normal whose precision is a chi-square over its degrees of freedom: each width
    takes the chance that the precision falls nearest its own (1 / width^2), on a log scale.
    """
    precisions = [1 / w**2 for w in T_WIDTHS]
    bounds = [math.sqrt(a * b) for a, b in pairwise(precisions)]  # falling
    below = [_chi2_cdf(dof * b, dof) for b in bounds]  # P(precision <= bound)
    uppers = [1.0, *below]
    lowers = [*below, 0.0]
    return tuple(u - lo for u, lo in zip(uppers, lowers, strict=True))


def _chi2_cdf(x: float, dof: int) -> float:
    """P(chi-square with `dof` degrees of freedom <= x): the regularized lower incomplete gamma."""
    a, half = dof / 2, x / 2
    if half <= 0:
        return 0.0
    term = total = 1.0 / a
    k = 1
    while term > 1e-12 * total and k < 10_000:
        term *= half / (a + k)
        total += term
        k += 1
    return min(1.0, total * math.exp(a * math.log(half) - half - math.lgamma(a)))


def estimate(history: History) -> tuple[LogNormal, ...]:
    """The mixture of run durations (weights sum to 1) the history suggests (see the module docstring)."""
    groups = modes([math.log(d) for d in history.completed])
    if history.failed:
        groups.append(sorted(math.log(d) for d in history.failed))
    runs = sum(len(g) for g in groups)
    # The spread within the groups, pooled, with PRIOR_SPREAD as one more run's worth of it.
    squares = sum((x - statistics.fmean(g)) ** 2 for g in groups for x in g)
    dof = runs - len(groups) + 1
    spread = math.sqrt((squares + PRIOR_SPREAD**2) / dof)
    shares = t_shares(dof)
    components = []
    for group in groups:
        scale = spread * math.sqrt(1 + 1 / len(group))  # where the next run falls, not the group's mean
        for share, width in zip(shares, T_WIDTHS, strict=True):
            if share > 1e-4:
                components.append(LogNormal(share * len(group) / runs, statistics.fmean(group), scale * width))
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

    def _grid(self, end: EndTime, elapsed: float) -> Grid:
        """The planning grid for `end`, from `elapsed` to the limit (or just past `elapsed`)."""
        return make_grid(end, elapsed, max(self.limit, elapsed + FLOOR), PLANNING, self.longest_gap / 2)

    def _make(self, elapsed: float) -> Plan:
        grid = self._grid(self.end_time(), elapsed)
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
