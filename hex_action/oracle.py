"""The fewest status reads any fixed schedule can make for a known distribution of a run's end.

A fixed schedule is read times r1 < r2 < ... at least the floor (Hex's 2 s) apart. It knows
the distribution of the end time T, not the outcome; the end is seen at the first read at or
after T. For a price `price` per second of detection latency, the best schedule minimises
E[reads] + price * E[latency]. On a grid of candidate read times that is a shortest path,
solved exactly by dynamic programming: going from a read at t_j to the next read at t_k costs
P(T > t_j) (the read at t_k happens only if the run had not ended by t_j) plus `price` times
the latency of the runs that end in between. Bisecting the price reaches a target mean
latency; nothing that only knows the distribution can then do with fewer reads.

The planner (hex_action.planner) uses this with the distribution it estimates from a
project's history; the benchmark uses it with the true distribution, to measure the action
against the best possible. Pure Python on a grid whose cells hold little probability where
the end is likely and grow with time where it is not: a plan takes milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Hex allows 30 status reads a minute per user: never read one run more often than this.
FLOOR = 2.0

_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class LogNormal:
    """A share `weight` of runs whose duration's logarithm is normal(mu, sigma)."""

    weight: float
    mu: float
    sigma: float

    @property
    def mode(self) -> float:
        """The most likely duration."""
        return math.exp(self.mu - self.sigma * self.sigma)


@dataclass(frozen=True)
class EndTime:
    """The distribution of a run's end T = offset + D, D a mixture of lognormal durations
    (weights sum to 1). `offset` is when the run started running, in seconds after the
    trigger (Hex reports durations from there)."""

    components: tuple[LogNormal, ...]
    offset: float = 0.0
    _terms: tuple[tuple[float, float, float], ...] = field(init=False, repr=False, compare=False)
    _half: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # (mu, 1 / (sigma * sqrt 2), weight / 2) per component: the CDF is the hot loop of a plan.
        terms = tuple((c.mu, 1.0 / (c.sigma * _SQRT2), c.weight / 2) for c in self.components)
        object.__setattr__(self, "_terms", terms)
        object.__setattr__(self, "_half", sum(c.weight for c in self.components) / 2)

    def cdf(self, t: float) -> float:
        """P(T <= t)."""
        d = t - self.offset
        if d <= 0:
            return 0.0
        log_d = math.log(d)
        erf = math.erf
        return self._half + sum(half * erf((log_d - mu) * scale) for mu, scale, half in self._terms)

    def density(self, t: float) -> float:
        """The probability density of T at t."""
        d = t - self.offset
        if d <= 0:
            return 0.0
        log_d = math.log(d)
        return sum(
            c.weight * math.exp(-0.5 * ((log_d - c.mu) / c.sigma) ** 2) / (d * c.sigma * _SQRT_2PI)
            for c in self.components
        )

    def quantile(self, p: float, high: float) -> float:
        """The smallest t <= `high` with P(T <= t) >= p, by bisection (`high` if none)."""
        low_t, high_t = self.offset, high
        if self.cdf(high_t) < p:
            return high_t
        for _ in range(60):
            middle = (low_t + high_t) / 2
            if self.cdf(middle) >= p:
                high_t = middle
            else:
                low_t = middle
        return high_t


@dataclass(frozen=True)
class Resolution:
    """How fine the grid of candidate read times is.

    Where the end is likeliest, cells are `step` seconds; elsewhere they grow as the inverse
    square root of the density (as the best gaps between reads do), to at most `rel_step` of
    the time since the trigger; never under `min_step`.
    """

    step: float = 1.0
    min_step: float = 0.5
    rel_step: float = 0.1


#: The planner's grid: a quarter of the gap a 2 s mean latency needs, so a plan takes milliseconds;
#: cells at most 2 % of the time waited, so that where the end is unlikely (a wide history's tails)
#: the plan can still read where it should (with 5 %, runs of CV 50 % at 1 h were seen 0.05 s later
#: on average and the plans were no faster).
PLANNING = Resolution(rel_step=0.02)
#: The benchmark's grid for the oracle: finer, so that the bound is tight.
EXACT = Resolution(step=0.25, min_step=0.25, rel_step=0.02)
#: The end after this much is left is beyond the plan (the run has outlasted what is known).
TAIL = 1e-3


@dataclass(frozen=True)
class Grid:
    """Candidate read times after `times[0]` (the last read, or the trigger), with the prefix
    sums of the conditional distribution (given T > times[0]): `mass[k]` = P(T <= times[k]),
    `moment[k]` = E[T; T <= times[k]]."""

    times: list[float]
    mass: list[float]
    moment: list[float]

    @property
    def horizon(self) -> float:
        """The last candidate read: past it, what is known about the end is used up."""
        return self.times[-1]


def make_grid(
    end: EndTime, start: float, limit: float, resolution: Resolution = PLANNING, max_step: float = math.inf
) -> Grid:
    """Grid from `start` to where the end has probability under TAIL left (or `limit`), its
    cells at most `max_step` long.

    A run ending within a cell is taken to end at its middle: cells are short where the end
    is likely, so the latency is exact to a small fraction of a second.
    """
    before = end.cdf(start)
    left = max(1.0 - before, 1e-12)
    modes = [end.offset + c.mode for c in end.components]
    peak = max(end.density(t) for t in [start, *(m for m in modes if m > start)]) / left
    times, mass, moment = [start], [0.0], [0.0]
    t, density = start, end.density(start) / left
    while t < limit:
        most = min(max(resolution.min_step, resolution.rel_step * t), max_step)
        step = resolution.step * math.sqrt(peak / density) if density > 0 else most
        step = max(resolution.min_step, min(step, most))
        while True:
            t_next = min(t + step, limit)
            q = min(1.0, (end.cdf(t_next) - before) / left)
            # A long step from where the end was unlikely may reach into where it is likely:
            # shorter, until the cell's own mean density allows its length.
            taken = t_next - t
            allowed = resolution.step * math.sqrt(peak * taken / (q - mass[-1])) if q > mass[-1] else math.inf
            if taken <= max(allowed, resolution.min_step) * 1.001:
                break
            step = max(resolution.min_step, min(allowed, taken / 2))
        moment.append(moment[-1] + (q - mass[-1]) * (t + t_next) / 2)
        density = (q - mass[-1]) / (t_next - t)
        t = t_next
        times.append(t)
        mass.append(q)
        if q >= 1.0 - TAIL:
            break
    return Grid(times, mass, moment)


@dataclass(frozen=True)
class Plan:
    """The best schedule on a grid at one price: from each grid point the index of the next read
    (None: the horizon comes sooner than the floor allows), and what it costs from the start."""

    grid: Grid
    price: float
    next_read: list[int | None]
    reads: float
    latency: float

    def read_times(self) -> list[float]:
        """The reads from the start, in order."""
        times, j = [], self.next_read[0]
        while j is not None:
            times.append(self.grid.times[j])
            j = self.next_read[j]
        return times


def best_plan(grid: Grid, price: float, floor: float = FLOOR, longest_gap: float = math.inf) -> Plan:
    """The schedule minimising E[reads] + price * E[latency] on `grid` (backward induction).

    Gaps are at least `floor` and at most `longest_gap`; the last grid point is read when the
    run may still be going there. Runs ending past the horizon (under TAIL) are not counted.
    """
    times, mass, moment = grid.times, grid.mass, grid.moment
    n = len(times)
    value = [0.0] * n
    nxt: list[int | None] = [None] * n
    first = n  # the first k with times[k] >= times[j] + floor, moved down as j decreases
    for j in range(n - 2, -1, -1):
        t_j, q_j, m_j = times[j], mass[j], moment[j]
        survival = 1.0 - q_j
        while first > j + 1 and times[first - 1] >= t_j + floor - 1e-9:
            first -= 1
        # The cost of a gap has the Monge property (the latency term's cross part is -t_k * P(T <= t_j)),
        # so the best next read never comes later for an earlier read: no need to look past the
        # next grid point's. That keeps the programme linear in the grid.
        after = nxt[j + 1]
        last = n if after is None else min(n, max(after, first) + 1)
        best, best_k = math.inf, None
        for k in range(first, last):
            t_k = times[k]
            if t_k - t_j > longest_gap + 1e-9 and best_k is not None:
                break
            base = survival + price * (t_k * (mass[k] - q_j) - (moment[k] - m_j))
            if base >= best:
                break  # the latency part only grows with k
            cost = base + value[k]
            if cost < best:
                best, best_k = cost, k
        if best_k is None:
            # Closer to the horizon than the floor: one read at the floor sees what is left.
            at = t_j + floor
            best = survival + price * (at * (mass[-1] - q_j) - (moment[-1] - m_j))
        value[j], nxt[j] = best, best_k
    reads = latency = 0.0
    at_read: int | None = 0
    while at_read is not None and at_read < n - 1:  # a read at the horizon is the last
        following = nxt[at_read]
        at = times[following] if following is not None else times[at_read] + floor
        ends = following if following is not None else n - 1
        reads += 1.0 - mass[at_read]
        latency += at * (mass[ends] - mass[at_read]) - (moment[ends] - moment[at_read])
        at_read = following
    return Plan(grid, price, nxt, reads, latency)


def plan_for_latency(
    grid: Grid,
    target: float,
    floor: float = FLOOR,
    longest_gap: float = math.inf,
    tolerance: float = 0.02,
) -> Plan:
    """The best plan whose mean latency is about `target` (within `tolerance`, relative).

    Bisects the price on a log scale, guided by the latency falling roughly as the inverse
    square root of the price. When even reading at the floor throughout cannot reach the
    target, the plan at the highest price tried.
    """
    low: Plan | None = None  # latency above target
    high: Plan | None = None  # latency at or below target
    price = 1.0
    plan = best_plan(grid, price, floor, longest_gap)
    for _ in range(40):
        if abs(plan.latency - target) <= tolerance * target:
            return plan
        if plan.latency > target:
            low = plan
        else:
            high = plan
        if low is not None and high is not None:
            # Interpolate log(price) against log(latency) between the bracket.
            a, b = math.log(low.price), math.log(high.price)
            la, lb = math.log(max(low.latency, 1e-9)), math.log(max(high.latency, 1e-9))
            share = (la - math.log(target)) / (la - lb) if la != lb else 0.5
            share = min(0.9, max(0.1, share))
            price = math.exp(a + share * (b - a))
        else:
            ratio = max(plan.latency, 1e-9) / target
            price *= min(1e3, max(1e-3, ratio**2))  # latency ~ price^(-1/2)
            if plan.latency <= target and price >= plan.price:  # already cheap enough
                price = plan.price / 4
        plan = best_plan(grid, price, floor, longest_gap)
    return high or plan


def expected_cost(end: EndTime, reads: Sequence[float], start: float = 0.0) -> tuple[float, float]:
    """E[reads] and E[latency] of a fixed schedule on `end`'s distribution, given the run had not
    ended at `start` (on a fine grid; runs ending after the last read are not counted)."""
    grid = make_grid(end, start, reads[-1], EXACT)
    times, mass, moment = grid.times, grid.mass, grid.moment
    total_reads = total_latency = 0.0
    i = 0
    for at in reads:
        j = i
        while j + 1 < len(times) and times[j + 1] <= at + 1e-9:
            j += 1
        total_reads += 1.0 - mass[i]
        total_latency += at * (mass[j] - mass[i]) - (moment[j] - moment[i])
        i = j
    return total_reads, total_latency
