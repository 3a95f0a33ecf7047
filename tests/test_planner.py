"""Tests for hex_action.planner and hex_action.oracle: the estimate, the best schedule, the plan's life."""

from __future__ import annotations

import itertools
import math
import random
from itertools import pairwise

import pytest

from hex_action.client import RunState
from hex_action.oracle import (
    EXACT,
    FLOOR,
    EndTime,
    LogNormal,
    best_plan,
    expected_cost,
    make_grid,
    plan_for_latency,
)
from hex_action.planner import (
    LONGEST_GAP,
    TARGET_LATENCY,
    History,
    WaitPlan,
    estimate,
    history_of,
    modes,
    plan_wait,
    t_shares,
)
from hex_action.run_lookup import recent_history


def lognormal(median: float, spread: float, weight: float = 1.0) -> LogNormal:
    return LogNormal(weight, math.log(median), spread)


def reads_of(plan: WaitPlan, until: float, start: float = 0.0) -> list[float]:
    """The reads the plan makes after `start` until it is past `until` or its horizon, no status seen."""
    times = [start]
    while times[-1] < until:
        nxt = plan.next_read(times[-1])
        if nxt is None or nxt == math.inf:
            break
        times.append(nxt)
    return times[1:]


# -- the oracle --------------------------------------------------------------------------------


def brute_force(grid_times: list[float], mass: list[float], moment: list[float], price: float) -> float:
    """The least E[reads] + price * E[latency] over every subset of the grid that ends with its last point."""
    best = math.inf
    inner = range(1, len(grid_times) - 1)
    for size in range(len(inner) + 1):
        for chosen in itertools.combinations(inner, size):
            reads = [0, *chosen, len(grid_times) - 1]
            if any(grid_times[b] - grid_times[a] < FLOOR - 1e-9 for a, b in pairwise(reads)):
                continue
            cost = 0.0
            for a, b in pairwise(reads):
                cost += 1.0 - mass[a]
                cost += price * (grid_times[b] * (mass[b] - mass[a]) - (moment[b] - moment[a]))
            best = min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("price", [0.05, 0.5, 5.0])
def test_the_dynamic_programme_finds_the_best_schedule_on_its_grid(seed: int, price: float) -> None:
    rng = random.Random(seed)
    end = EndTime(
        (lognormal(rng.uniform(8, 20), rng.uniform(0.05, 0.4), 0.6), lognormal(rng.uniform(20, 40), 0.1, 0.4))
    )
    grid = make_grid(end, 0.0, 60.0)
    # Every twelfth point: few enough for brute force over every subset.
    keep = sorted(set(range(0, len(grid.times), max(1, len(grid.times) // 12))) | {len(grid.times) - 1})
    times, mass, moment = ([grid.times[i] for i in keep], [grid.mass[i] for i in keep], [grid.moment[i] for i in keep])
    plan = best_plan(type(grid)(times, mass, moment), price)
    assert plan.reads + price * plan.latency == pytest.approx(brute_force(times, mass, moment, price), rel=1e-9)


def test_an_end_known_to_the_instant_needs_one_read() -> None:
    end = EndTime((lognormal(100.0, 1e-4),))
    plan = plan_for_latency(make_grid(end, 0.0, 1000.0, EXACT), TARGET_LATENCY)
    assert plan.reads == pytest.approx(1.0, abs=0.01)
    (first, *_) = plan.read_times()
    assert 100.0 <= first <= 100.0 + TARGET_LATENCY + 0.3


def test_an_end_known_to_within_a_second_needs_one_or_two_reads() -> None:
    end = EndTime((lognormal(100.0, 0.005),))
    plan = plan_for_latency(make_grid(end, 0.0, 1000.0, EXACT), TARGET_LATENCY)
    assert 1.0 <= plan.reads <= 2.0
    assert plan.latency <= TARGET_LATENCY * 1.05


@pytest.mark.parametrize("target", [1.5, 2.0, 3.0])
def test_the_price_is_bisected_to_the_target_latency(target: float) -> None:
    end = EndTime((lognormal(60.0, 0.2),), offset=1.0)
    plan = plan_for_latency(make_grid(end, 0.0, 600.0), target)
    assert plan.latency == pytest.approx(target, rel=0.05)


def test_a_lower_latency_costs_more_reads() -> None:
    grid = make_grid(EndTime((lognormal(600.0, 0.2),)), 0.0, 3600.0)
    fast, slow = plan_for_latency(grid, 1.5), plan_for_latency(grid, 3.0)
    assert fast.reads > slow.reads * 1.3


def test_the_expected_cost_of_a_schedule_agrees_with_the_plan() -> None:
    end = EndTime((lognormal(60.0, 0.2),), offset=1.0)
    plan = plan_for_latency(make_grid(end, 0.0, 600.0, EXACT), TARGET_LATENCY)
    reads, latency = expected_cost(end, plan.read_times())
    assert reads == pytest.approx(plan.reads, rel=0.01)
    assert latency == pytest.approx(plan.latency, rel=0.02)


@pytest.mark.parametrize("longest", [30.0, 120.0])
def test_no_gap_is_longer_than_the_longest_gap(longest: float) -> None:
    grid = make_grid(EndTime((lognormal(1800.0, 0.1),)), 0.0, 7200.0, max_step=longest / 2)
    plan = best_plan(grid, 1.0, longest_gap=longest)
    times = [0.0, *plan.read_times()]
    assert max(b - a for a, b in pairwise(times)) <= longest + 1e-9
    assert min(b - a for a, b in pairwise(times)) >= FLOOR - 1e-9


# -- the estimate --------------------------------------------------------------------------------


def test_history_of_counts_completed_and_failed_runs_and_drops_the_rest() -> None:
    history = history_of(
        [("COMPLETED", 60.0), ("ERRORED", 5.0), ("KILLED", 7.0), ("COMPLETED", None), ("ERRORED", 0.0)]
    )
    assert history == History(completed=(60.0,), failed=(5.0, 7.0))
    assert history_of([("COMPLETED", None)]) is None
    assert history_of([]) is None


def run(run_id: str, status: str, elapsed_ms: float | None) -> RunState:
    return RunState(run_id, status, None, elapsed_ms, None, None, None, None)


def test_the_recent_history_leaves_out_this_run_and_runs_in_flight() -> None:
    runs = [
        run("this", "RUNNING", 1000.0),
        run("other", "PENDING", None),
        run("a", "COMPLETED", 60_000.0),
        run("b", "ERRORED", 4_000.0),
        run("c", "UNABLE_TO_ALLOCATE_KERNEL", None),
        *[run(f"old{i}", "COMPLETED", 50_000.0) for i in range(20)],
    ]
    history = recent_history(runs, exclude="this")
    assert history is not None
    assert history.failed == (4.0,)
    assert history.completed == (60.0,) + (50.0,) * 8  # the ten most recent ended runs


def test_one_run_of_history_is_spread_by_the_prior() -> None:
    one = EndTime(estimate(History((60.0,))))
    ten = EndTime(estimate(History((60.0,) * 10)))
    assert one.cdf(66.0) - one.cdf(54.0) < 0.9  # about ±10% and heavy tails: one run tells little
    assert ten.cdf(66.0) - ten.cdf(54.0) > 0.95  # ten identical runs tell much more


def test_a_history_with_two_modes_keeps_the_gap_between_them_empty() -> None:
    rng = random.Random(4)
    fast = [60.0 * math.exp(rng.gauss(0, 0.05)) for _ in range(7)]
    slow = [150.0 * math.exp(rng.gauss(0, 0.05)) for _ in range(3)]
    assert [len(group) for group in modes([math.log(d) for d in fast + slow])] == [7, 3]
    end = EndTime(estimate(History(tuple(fast + slow))))
    between = end.cdf(120.0) - end.cdf(80.0)
    assert between < 0.01
    assert end.cdf(80.0) == pytest.approx(0.7, abs=0.02)


def test_a_slow_mode_shown_by_one_run_is_a_mode_of_its_own() -> None:
    rng = random.Random(6)
    fast = [60.0 * math.exp(rng.gauss(0, 0.1)) for _ in range(9)]
    assert [len(group) for group in modes([math.log(d) for d in [*fast, 150.0]])] == [9, 1]
    end = EndTime(estimate(History((*fast, 150.0))))
    assert end.cdf(120.0) - end.cdf(85.0) < 0.02  # no reads wasted between the modes
    assert 1 - end.cdf(120.0) == pytest.approx(0.1, abs=0.03)


def test_unimodal_histories_are_rarely_split() -> None:
    rng = random.Random(7)
    for spread in (0.05, 0.2, 0.5):  # CV 5 %, 20 %, 50 %
        splits = sum(len(modes([rng.gauss(4.0, spread) for _ in range(10)])) == 2 for _ in range(400))
        assert splits < 400 * 0.1


def test_one_mode_is_not_split() -> None:
    rng = random.Random(5)
    assert len(modes([rng.gauss(4.0, 0.2) for _ in range(10)])) == 1


@pytest.mark.parametrize("dof", [1, 3, 9, 30])
def test_the_t_mix_is_a_distribution_with_heavier_tails_for_fewer_runs(dof: int) -> None:
    shares = t_shares(dof)
    assert sum(shares) == pytest.approx(1.0)
    assert all(share >= 0 for share in shares)
    assert t_shares(dof)[-2:] > t_shares(dof + 10)[-2:]


def test_a_history_without_failures_expects_no_end_long_before_its_runs() -> None:
    assert EndTime(estimate(History((600.0,) * 10))).cdf(300.0) < 1e-6


def test_failures_carry_their_share_and_timing() -> None:
    end = EndTime(estimate(History(completed=(600.0,) * 8, failed=(30.0, 33.0))))
    assert end.cdf(100.0) == pytest.approx(0.2, abs=0.01)


# -- the plan ----------------------------------------------------------------------------------


HISTORIES = [
    History((60.0,)),
    History((58.2, 61.0, 59.4, 57.1, 62.3, 60.5, 58.8, 59.9, 61.7, 60.2)),
    History((600.0, 610.0, 590.0, 605.0, 595.0)),
    History((60.0, 62.0, 150.0, 155.0, 58.0)),
    History((600.0, 620.0, 580.0), failed=(12.0, 15.0)),
    History((3.0, 4.0)),
]


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize("start", [0.0, 0.4, 7.3])
def test_planned_reads_keep_the_floor_and_the_longest_gap(history: History, start: float) -> None:
    plan = plan_wait(history, 15.0, 3600.0)
    times = [start, *reads_of(plan, 3600.0, start)]
    gaps = [b - a for a, b in pairwise(times)]
    assert min(gaps) >= FLOOR - 1e-9
    assert max(gaps) <= LONGEST_GAP + 1e-9


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize("limit", [20.0, 90.0, 700.0])
def test_no_read_is_planned_past_the_limit(history: History, limit: float) -> None:
    plan = plan_wait(history, 15.0, limit)
    # The engine's last look at the limit is the last read: none within the floor before it.
    assert all(t <= limit - FLOOR + 1e-9 for t in reads_of(plan, 10 * limit))


def test_the_planner_and_the_oracle_agree_on_a_known_distribution() -> None:
    # A plan whose belief is the truth is the oracle's schedule.
    truth = (lognormal(300.0, 0.1),)
    plan = WaitPlan(truth, longest_gap=math.inf, limit=3600.0)
    oracle = plan_for_latency(make_grid(EndTime(truth), 0.0, 3600.0), TARGET_LATENCY)
    assert reads_of(plan, plan.plan(0.0).grid.horizon) == pytest.approx(oracle.read_times())
    assert plan.price == pytest.approx(oracle.price)


def test_a_steady_history_needs_few_reads_and_meets_the_target_on_its_own_runs() -> None:
    rng = random.Random(7)
    truth = EndTime((lognormal(600.0, 0.02),))
    history = History(tuple(600.0 * math.exp(rng.gauss(0, 0.02)) for _ in range(10)))
    plan = plan_wait(history, 15.0, 3600.0)
    reads, latency = expected_cost(truth, reads_of(plan, 3600.0))
    oracle = plan_for_latency(make_grid(truth, 0.0, 3600.0, EXACT), latency)
    assert latency <= 2.5
    assert reads <= 2 * oracle.reads
    assert reads < 15  # a 5 s poller makes 120


def test_without_failures_in_history_the_longest_gap_bounds_an_unexpected_early_end() -> None:
    history = History((600.0, 610.0, 590.0, 605.0, 595.0, 598.0, 602.0, 607.0, 593.0, 601.0))
    first, second, *_ = reads_of(plan_wait(history, 15.0, 3600.0), 3600.0)
    # No reads for failures the history has not shown: a run that fails at once is seen at the
    # first read, at most the longest gap after the trigger.
    assert LONGEST_GAP - 30.0 <= first <= LONGEST_GAP
    assert second > 450.0
    # A longer poll-interval is the longest gap instead.
    assert LONGEST_GAP < reads_of(plan_wait(history, 400.0, 3600.0), 3600.0)[0] <= 400.0


def test_early_failure_reads_come_where_the_history_failed() -> None:
    plan = plan_wait(History((600.0, 610.0, 590.0, 605.0), failed=(40.0, 44.0)), 15.0, 3600.0)
    reads = reads_of(plan, 3600.0)
    early = [t for t in reads if t < 100.0]
    assert min(early) >= 30.0
    assert len([t for t in early if 36.0 <= t <= 50.0]) >= 4, "reads every few seconds where failures happened"
    assert len([t for t in reads if 200.0 <= t <= 450.0]) <= 2, "few between the failures and the completions"
    without = WaitPlan(estimate(History((600.0, 610.0, 590.0, 605.0))), LONGEST_GAP, 3600.0)
    assert not [t for t in reads_of(without, 3600.0) if t < 100.0]


def test_a_run_that_starts_late_is_planned_from_its_start() -> None:
    history = History((100.0, 101.0, 99.0, 100.5, 99.5))
    on_time, late = plan_wait(history, 15.0, 3600.0), plan_wait(history, 15.0, 3600.0)
    first = on_time.next_read(0.0)
    assert first is not None
    assert first == late.next_read(0.0)
    # One read shows it still PENDING, the next RUNNING for 10 s (Hex's elapsedTime): it started
    # running 30 s after the trigger, so it ends about 30 s later than first planned.
    late.observe(20.0, "PENDING", None)
    late.observe(40.0, "RUNNING", 10.0)
    assert late.started == pytest.approx(30.0)
    on_time.observe(40.0, "RUNNING", 40.0)
    shift = [b - a for a, b in zip(reads_of(on_time, 200.0, 40.0), reads_of(late, 230.0, 40.0), strict=False)]
    assert shift[len(shift) // 2] == pytest.approx(30.0, abs=6.0)


def test_a_start_time_is_kept_within_what_the_reads_show() -> None:
    plan = plan_wait(History((100.0,)), 15.0, 3600.0)
    plan.observe(20.0, "PENDING", None)
    plan.observe(40.0, "RUNNING", 1000.0)  # Hex's clock says longer than the reads allow
    assert plan.started == 20.0
    again = plan_wait(History((100.0,)), 15.0, 3600.0)
    again.observe(40.0, "RUNNING", None)  # no elapsedTime: assume it started as early as it could
    assert again.started == 0.0
    assert again.start_known
