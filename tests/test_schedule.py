"""Tests for hex_action.schedule: the plain strategy's gaps, and how a planned wait hands back to it."""

from __future__ import annotations

import random

import pytest

from hex_action.planner import History
from hex_action.schedule import FLOOR, JITTER, PollSchedule

SEEDS = range(8)
INTERVALS = [2.0, 5.0, 10.0, 15.0, 60.0]
# Fine steps where the gaps leave the floor, then coarse ones up to ~27 min, off the round numbers.
ELAPSED = [i * 0.05 for i in range(0, 400)] + [20.0 + i * 2.73 for i in range(0, 600)]


class MidpointRng(random.Random):
    """No jitter: `uniform` returns the middle of its range."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def plain(poll_interval: float, seed: int | None = 0) -> PollSchedule:
    rng = MidpointRng() if seed is None else random.Random(seed)
    return PollSchedule(poll_interval, rng)


def with_history(
    durations: list[float], poll_interval: float = 15.0, seed: int | None = 0, limit: float = 3600.0
) -> PollSchedule:
    schedule = plain(poll_interval, seed)
    schedule.use_history(History(tuple(durations)), limit)
    return schedule


def walk(schedule: PollSchedule, until: float, first: float = FLOOR) -> tuple[list[float], list[float]]:
    """The reads as the engine makes them (the first at `first`, then gap by gap): times and gaps."""
    times, steps = [first], []
    while times[-1] < until:
        steps.append(schedule.next_delay(times[-1]))
        times.append(times[-1] + steps[-1])
    return times, steps


def read_times(schedule: PollSchedule, until: float, first: float = FLOOR) -> list[float]:
    return walk(schedule, until, first)[0]


HISTORIES = [
    [60.0],
    [600.0, 610.0, 590.0, 605.0, 595.0],
    [30.0, 45.0, 40.0],
    [3600.0, 3000.0, 4200.0],
    [5.0, 6.0, 4.0],
    [120.0, 120.0, 900.0],
    [58.2, 61.0, 59.4, 57.1, 62.3, 60.5, 58.8, 59.9, 61.7, 60.2],  # ten runs, as the engine reads
    [1.0, 2.0],
]


# -- the plain strategy ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("poll_interval", INTERVALS)
def test_plain_gaps_stay_between_floor_and_poll_interval(seed: int, poll_interval: float) -> None:
    schedule = plain(poll_interval, seed)
    for elapsed in ELAPSED:
        delay = schedule.next_delay(elapsed)
        assert FLOOR <= delay <= poll_interval


def test_poll_interval_below_the_floor_is_raised_to_it() -> None:
    schedule = plain(0.5)
    assert schedule.poll_interval == FLOOR
    assert all(schedule.next_delay(e) == FLOOR for e in ELAPSED)


@pytest.mark.parametrize("poll_interval", INTERVALS)
def test_plain_gaps_grow_from_the_floor_to_the_poll_interval(poll_interval: float) -> None:
    times, steps = walk(plain(poll_interval, seed=None), until=600.0)
    assert steps[0] == FLOOR
    assert steps == sorted(steps), "without jitter the gaps never shrink"
    assert steps[-1] == poll_interval
    # Half the time already waited, until the cap.
    for at, gap in zip(times, steps, strict=False):
        assert gap == min(poll_interval, max(FLOOR, at / 2))


@pytest.mark.parametrize("seed", SEEDS)
def test_plain_jitter_stays_within_ten_percent(seed: int) -> None:
    schedule = plain(60.0, seed)
    for elapsed in ELAPSED:
        expected = min(60.0, max(FLOOR, elapsed / 2))
        delay = schedule.next_delay(elapsed)
        if expected == FLOOR:
            assert delay == FLOOR
        else:
            assert expected * (1 - JITTER) - 1e-9 <= delay <= expected * (1 + JITTER) + 1e-9


def test_plain_jitter_varies_between_seeds() -> None:
    delays = {plain(60.0, seed).next_delay(40.0) for seed in range(20)}
    assert len(delays) == 20


def test_short_runs_are_noticed_quickly() -> None:
    # The first reads come at the floor: a run that fails at once is seen within seconds.
    times = read_times(plain(60.0, seed=None), until=10.0)
    assert times[:4] == [2.0, 4.0, 6.0, 9.0]


# -- with a plan, and past it --------------------------------------------------------------


@pytest.mark.parametrize("durations", HISTORIES)
@pytest.mark.parametrize("poll_interval", [2.0, 15.0, 600.0])
def test_with_history_the_floor_holds_and_gaps_are_bounded(durations: list[float], poll_interval: float) -> None:
    schedule = with_history(durations, poll_interval, limit=10 * max(durations) + 600.0)
    _, steps = walk(schedule, until=3 * max(durations) + 120.0, first=0.3)
    assert all(step >= FLOOR - 1e-9 for step in steps)
    assert max(steps) <= max(poll_interval, 300.0) + 1e-9


def test_without_history_the_plain_strategy_is_kept() -> None:
    schedule = plain(15.0, seed=None)
    schedule.use_history(None, 3600.0)
    assert schedule.plan is None
    assert walk(schedule, until=600.0) == walk(plain(15.0, seed=None), until=600.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_run_that_outlasts_its_history_backs_off_from_the_floor_to_the_poll_interval(seed: int) -> None:
    schedule = with_history([100.0, 102.0, 98.0], 15.0, seed)
    times, steps = walk(schedule, until=900.0, first=0.3)
    assert schedule.outlasted_at is not None
    assert 100.0 < schedule.outlasted_at < 300.0
    after = [gap for at, gap in zip(times, steps, strict=False) if at >= schedule.outlasted_at]
    assert after[0] == FLOOR  # no sudden long gap where the history ran out
    assert all(FLOOR <= gap <= 15.0 for gap in after)
    assert after[-1] >= 15.0 * (1 - JITTER)


def test_past_its_history_the_backoff_is_measured_from_where_it_ran_out() -> None:
    schedule = with_history([100.0, 101.0, 99.0], 15.0, seed=None)
    walk(schedule, until=600.0, first=0.3)
    edge = schedule.outlasted_at
    assert edge is not None
    assert schedule.next_delay(edge + 10.0) == 5.0
    assert schedule.next_delay(edge + 100.0) == 15.0
