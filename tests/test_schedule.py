"""Tests for hex_action.schedule: properties of the poll gaps and of predictions from history."""

from __future__ import annotations

import random
from statistics import median

import pytest

from hex_action.schedule import FLOOR, JITTER, PollSchedule, Prediction, predict

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
    return PollSchedule(poll_interval, None, rng)


def with_history(durations: list[float], poll_interval: float = 15.0, seed: int | None = 0) -> PollSchedule:
    prediction = predict(durations)
    assert prediction is not None
    rng = MidpointRng() if seed is None else random.Random(seed)
    return PollSchedule(poll_interval, prediction, rng)


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


# -- predictions from history ----------------------------------------------------------------


@pytest.mark.parametrize("durations", [[], [0.0], [-5.0, 0.0]])
def test_no_prediction_without_usable_history(durations: list[float]) -> None:
    assert predict(durations) is None


def test_unusable_durations_are_ignored() -> None:
    assert predict([0.0, -3.0, 100.0]) == predict([100.0])


@pytest.mark.parametrize("durations", HISTORIES)
def test_prediction_is_a_window_around_the_median(durations: list[float]) -> None:
    prediction = predict(durations)
    assert prediction is not None
    expected = median(durations)
    assert prediction.expected == expected
    assert 0.0 <= prediction.window_start < expected < prediction.window_end
    # The window opens a little before the expected end, at most a tenth of the run early
    # (or 3 s for short runs), and closes after the slowest run seen, unless that one is an
    # outlier more than 15% past the expected end.
    assert expected - prediction.window_start <= max(3.0, 0.1 * expected) + 1e-9
    assert prediction.window_end >= min(max(durations), expected + max(6.0, 0.15 * expected))
    assert prediction.window_end - expected >= 6.0
    assert prediction.window_end - expected <= max(6.0, 0.15 * expected) + 1e-9


def test_one_slow_outlier_does_not_stretch_the_window() -> None:
    prediction = predict([120.0, 120.0, 900.0])
    assert prediction is not None
    assert prediction.window_end == 120.0 + 18.0


def test_prediction_of_a_single_run() -> None:
    assert predict([100.0]) == Prediction(expected=100.0, window_start=95.0, window_end=106.0)


def test_prediction_opens_the_window_before_the_fastest_run_when_close() -> None:
    prediction = predict([600.0, 610.0, 590.0, 605.0, 595.0])
    assert prediction == Prediction(expected=600.0, window_start=588.0, window_end=630.0)


def test_prediction_window_of_a_short_run_does_not_start_before_zero() -> None:
    prediction = predict([1.0, 2.0])
    assert prediction is not None
    assert prediction.window_start == 0.0


def test_prediction_uses_the_median_not_the_mean() -> None:
    prediction = predict([100.0, 100.0, 100.0, 100.0, 5000.0])
    assert prediction is not None
    assert prediction.expected == 100.0


# -- the schedule with a prediction ----------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("durations", HISTORIES)
@pytest.mark.parametrize("poll_interval", [2.0, 15.0, 60.0])
def test_with_history_the_floor_holds_and_reads_do_not_jump_past_the_window(
    seed: int, durations: list[float], poll_interval: float
) -> None:
    schedule = with_history(durations, poll_interval, seed)
    p = schedule.prediction
    assert p is not None
    cap = max(poll_interval, 0.1 * p.expected)
    for elapsed in ELAPSED:
        delay = schedule.next_delay(elapsed)
        assert delay >= FLOOR
        if elapsed < p.window_start:
            assert delay <= cap + 1e-9
            # Never past the window start, unless the start is closer than the floor.
            assert elapsed + delay <= max(p.window_start, elapsed + FLOOR) + 1e-9
        elif elapsed <= p.window_end:
            assert delay == FLOOR
        else:
            assert delay <= schedule.poll_interval


@pytest.mark.parametrize("seed", SEEDS)
def test_with_history_reads_land_in_the_window(seed: int) -> None:
    schedule = with_history([600.0, 610.0, 590.0, 605.0, 595.0], 15.0, seed)
    p = schedule.prediction
    assert p is not None
    times, steps = walk(schedule, until=p.window_end)
    before = [t for t in times if t < p.window_start]
    inside = [(t, gap) for t, gap in zip(times, steps, strict=False) if p.window_start <= t <= p.window_end]
    # The first read in the window comes within a floor gap of its start...
    assert inside[0][0] - p.window_start < FLOOR + 1e-9
    assert before[-1] < p.window_start <= inside[0][0]
    # ...and from then on every read is at the floor.
    assert all(gap == FLOOR for _, gap in inside)


@pytest.mark.parametrize("seed", SEEDS)
def test_with_history_reads_before_the_window_are_sparser(seed: int) -> None:
    durations = [600.0, 610.0, 590.0, 605.0, 595.0]
    p = predict(durations)
    assert p is not None
    history_times, history_gaps = walk(with_history(durations, 15.0, seed), p.window_start)
    plain_times, _ = walk(plain(15.0, seed), p.window_start)
    history_reads = [t for t in history_times if t < p.window_start]
    plain_reads = [t for t in plain_times if t < p.window_start]
    assert len(history_reads) < len(plain_reads) * 0.6
    # The long run is still checked on now and then (an early failure is noticed).
    assert max(history_gaps) <= 0.1 * p.expected + 1e-9


def test_with_history_early_reads_still_start_at_the_floor() -> None:
    schedule = with_history([600.0], 15.0, seed=None)
    assert read_times(schedule, until=5.0)[:3] == [2.0, 4.0, 6.0]


@pytest.mark.parametrize("seed", SEEDS)
def test_after_the_window_it_backs_off_again_up_to_the_poll_interval(seed: int) -> None:
    schedule = with_history([100.0], 15.0, seed)
    p = schedule.prediction
    assert p is not None
    just_after = p.window_end + 0.1
    assert schedule.next_delay(just_after) == FLOOR
    _, steps = walk(schedule, until=p.window_end + 600.0, first=just_after)
    assert max(steps) <= 15.0
    assert steps[-1] >= 15.0 * (1 - JITTER)
    # It grows from the floor rather than jumping to the cap.
    assert steps[:2] == [FLOOR, FLOOR]


def test_after_the_window_the_floor_rate_stops() -> None:
    schedule = with_history([100.0], 15.0, seed=None)
    p = schedule.prediction
    assert p is not None
    # Half the time waited past the window's end, as at the start of a run, up to poll-interval.
    assert schedule.next_delay(p.window_end + 10.0) == 5.0
    assert schedule.next_delay(p.window_end + 40.0) == 15.0


def test_after_the_window_without_jitter_gaps_grow_monotonically() -> None:
    schedule = with_history([100.0], 15.0, seed=None)
    p = schedule.prediction
    assert p is not None
    _, steps = walk(schedule, until=p.window_end + 300.0, first=p.window_end + 0.5)
    assert steps == sorted(steps)
    assert steps[-1] == 15.0
