"""Tests for hex_action.schedule: properties of the poll gaps and of predictions from history."""

from __future__ import annotations

import random
from itertools import pairwise
from statistics import median

import pytest

from hex_action.schedule import (
    APPROACH_MIN_GAP,
    FLOOR,
    HISTORY_GAP_SHARE,
    JITTER,
    MAX_HISTORY_GAP,
    WINDOW_GAP,
    PollSchedule,
    Prediction,
    predict,
)

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
    [58.2, 61.0, 59.4, 57.1, 62.3, 60.5, 58.8, 59.9, 61.7, 60.2],  # ten runs, as the engine reads
    [1.0, 2.0],
    [36000.0, 34200.0, 37800.0],  # 10 h: a tenth of it would be an hour between reads
]
#: Where a walk with history begins: the history read (just after the trigger), or a read the
#: shared read budget delayed.
STARTS = [0.0, 0.3, 1.7, 5.0, 33.3]


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


def test_the_window_reaches_two_units_before_the_fastest_run_and_four_after_the_slowest() -> None:
    # Ten runs 40 s apart: the unit is their spacing, 360 s / 9.
    durations = [3600.0 + 40.0 * i for i in range(10)]
    assert predict(durations) == Prediction(expected=3780.0, window_start=3600.0 - 80.0, window_end=3960.0 + 160.0)


def test_the_unit_is_at_least_a_hundredth_of_the_expected_duration() -> None:
    # Spacing 20 s / 4 = 5 s, under 1% of 600 s.
    prediction = predict([600.0, 610.0, 590.0, 605.0, 595.0])
    assert prediction == Prediction(expected=600.0, window_start=590.0 - 12.0, window_end=610.0 + 24.0)
    # Identical durations still leave room for a little variation.
    assert predict([300.0] * 5) == Prediction(expected=300.0, window_start=294.0, window_end=312.0)


def test_the_unit_is_at_least_a_second() -> None:
    assert predict([5.0, 6.0, 4.0]) == Prediction(expected=5.0, window_start=2.0, window_end=10.0, gap=FLOOR)


def test_prediction_of_a_single_run() -> None:
    # The unit is 5% of the one duration; the window closes at most 15% after it.
    assert predict([100.0]) == Prediction(expected=100.0, window_start=90.0, window_end=115.0)


def test_a_steadier_history_gives_a_narrower_window() -> None:
    def width(durations: list[float]) -> float:
        prediction = predict(durations)
        assert prediction is not None
        return prediction.window_end - prediction.window_start

    assert width([3600.0 + 40.0 * i for i in range(10)]) < width([3600.0, 3780.0, 3960.0])


def test_one_slow_outlier_does_not_stretch_the_window() -> None:
    # Unbounded the window would open at 0 and close at 2460 s: 600 reads at the window's gap.
    prediction = predict([120.0, 120.0, 900.0])
    assert prediction == Prediction(expected=120.0, window_start=120.0 - 12.0, window_end=120.0 + 18.0)


@pytest.mark.parametrize("durations", HISTORIES)
def test_prediction_is_a_bounded_window_around_the_recent_runs(durations: list[float]) -> None:
    prediction = predict(durations)
    assert prediction is not None
    expected = median(durations)
    assert prediction.expected == expected
    # The window opens before the expected end (its first read at most 2 s after it)...
    assert 0.0 <= prediction.window_start <= max(0.0, expected - 2.0)
    # ...and closes well after it, after the slowest recent run unless that one is an outlier.
    assert prediction.window_end >= min(max(durations) + 4.0, expected + max(6.0, 0.15 * expected)) - 1e-9
    # Bounded: at most a tenth of the run early (3 s for short runs), 15% late (6 s).
    assert expected - prediction.window_start <= max(3.0, 0.1 * expected) + 1e-9
    assert prediction.window_end - expected <= max(6.0, 0.15 * expected) + 1e-9


def test_prediction_window_of_a_short_run_does_not_start_before_zero() -> None:
    prediction = predict([1.0, 2.0])
    assert prediction is not None
    assert prediction.window_start == 0.0


def test_prediction_uses_the_median_not_the_mean() -> None:
    prediction = predict([100.0, 100.0, 100.0, 100.0, 5000.0])
    assert prediction is not None
    assert prediction.expected == 100.0


# -- the schedule with a prediction ----------------------------------------------------------


def history_walk(schedule: PollSchedule, until: float, start: float) -> tuple[list[float], list[float]]:
    """Status reads as the engine makes them with a prediction: after a read (the history read) at
    `start`, the schedule places every one. Times and gaps, the gap from `start` first."""
    times, steps = walk(schedule, until, first=start)
    return times[1:], steps


def cap_before_window(schedule: PollSchedule) -> float:
    assert schedule.prediction is not None
    return max(schedule.poll_interval, min(HISTORY_GAP_SHARE * schedule.prediction.expected, MAX_HISTORY_GAP))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("durations", HISTORIES)
@pytest.mark.parametrize("poll_interval", INTERVALS)
def test_with_history_the_floor_holds_and_every_gap_is_capped(
    seed: int, durations: list[float], poll_interval: float
) -> None:
    schedule = with_history(durations, poll_interval, seed)
    p = schedule.prediction
    assert p is not None
    for elapsed in ELAPSED:
        delay = schedule.next_delay(elapsed)
        assert delay >= FLOOR
        if elapsed < p.first_read - 1e-6:
            assert delay <= cap_before_window(schedule) + 1e-9
            # Never past the window's first read, unless that is closer than the floor.
            assert elapsed + delay <= max(p.first_read, elapsed + FLOOR) + 1e-9
        elif elapsed <= p.window_end:
            assert delay == p.gap
        else:
            assert delay <= schedule.poll_interval


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("durations", HISTORIES)
@pytest.mark.parametrize("poll_interval", INTERVALS)
def test_with_history_reads_land_on_the_window_and_then_come_every_window_gap(
    start: float, durations: list[float], poll_interval: float
) -> None:
    schedule = with_history(durations, poll_interval, seed=0)
    p = schedule.prediction
    assert p is not None
    if start >= p.window_end:
        return  # a walk from past the window has nothing to say about it (short histories)
    times, _ = history_walk(schedule, until=p.window_end, start=start)
    if start + FLOOR <= p.first_read + 1e-6 and cap_before_window(schedule) >= 2 * FLOOR:
        # A read lands exactly on the window's first read: the window's reads are on its grid.
        assert any(t == pytest.approx(p.first_read, abs=1e-6) for t in times)
        grid_from = p.first_read
    else:
        # Already past it, closer than the floor, or gaps capped near the floor (poll-interval 2s, a
        # short run): the floor comes first, and the first read from there on starts the grid.
        grid_from = next(t for t in [start, *times] if t >= p.first_read - 1e-6)
        assert grid_from < max(start, p.first_read + FLOOR) + 1e-9
    inside = [t for t in [start, *times] if grid_from - 1e-6 <= t <= p.window_end]
    # From there every read is the window's gap after the one before, to the window's end.
    gaps_inside = [b - a for a, b in pairwise(inside)]
    assert gaps_inside == pytest.approx([p.gap] * len(gaps_inside))
    if start < p.window_end - p.gap:
        assert inside[-1] > p.window_end - p.gap


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("durations", HISTORIES)
@pytest.mark.parametrize("poll_interval", INTERVALS)
def test_with_history_reads_before_the_window_are_at_most_poll_interval_or_a_capped_tenth_apart(
    start: float, durations: list[float], poll_interval: float
) -> None:
    schedule = with_history(durations, poll_interval, seed=0)
    p = schedule.prediction
    assert p is not None
    times, steps = history_walk(schedule, until=p.first_read, start=start)
    before = [gap for at, gap in zip([start, *times], steps, strict=False) if at < p.first_read - 1e-6]
    assert all(FLOOR <= gap <= cap_before_window(schedule) + 1e-9 for gap in before)
    assert all(gap <= max(poll_interval, 0.1 * p.expected, FLOOR) + 1e-9 for gap in before)
    assert all(gap <= max(poll_interval, 300.0) + 1e-9 for gap in before)


@pytest.mark.parametrize("poll_interval", [15.0, 60.0])
def test_with_a_long_history_reads_before_the_window_are_five_minutes_apart(poll_interval: float) -> None:
    # A 10 h run: a tenth would be an hour, and an early failure seen up to an hour late.
    schedule = with_history([36000.0, 34200.0, 37800.0], poll_interval, seed=0)
    p = schedule.prediction
    assert p is not None
    times, steps = history_walk(schedule, until=p.first_read, start=0.3)
    # Even gaps just under the cap, so that a read lands on the window's grid, then closing in.
    assert 290.0 < steps[0] == pytest.approx(max(steps))
    assert max(steps) <= 300.0
    assert times[-1] == pytest.approx(p.first_read)
    assert len(steps) == 114  # 1 h gaps: 18


def test_a_poll_interval_above_five_minutes_still_bounds_the_gaps_with_history() -> None:
    # The cap bounds the share of the expected duration, not the user's own poll-interval.
    schedule = with_history([36000.0, 34200.0, 37800.0], 600.0, seed=0)
    assert schedule.prediction is not None
    assert 580.0 < schedule.next_delay(0.3) <= 600.0


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("durations", HISTORIES)
def test_with_history_reads_close_in_on_the_window(start: float, durations: list[float]) -> None:
    schedule = with_history(durations, 15.0, seed=0)
    p = schedule.prediction
    assert p is not None
    times, steps = history_walk(schedule, until=p.first_read, start=start)
    before = [(at, gap) for at, gap in zip([start, *times], steps, strict=False) if at < p.first_read - 1e-6]
    for at, gap in before:
        # At most half the distance left (or 16 s), so the last reads before the window come closer...
        assert gap <= max(APPROACH_MIN_GAP, (p.first_read - at) / 2, FLOOR) + 1e-9
    # ...and the gaps never grow on the way.
    gaps = [gap for _, gap in before]
    assert all(b <= a + 1e-9 for a, b in pairwise(gaps))


@pytest.mark.parametrize("durations", HISTORIES)
def test_with_history_reads_before_the_window_are_not_jittered(durations: list[float]) -> None:
    prediction = predict(durations)
    assert prediction is not None
    walks = {tuple(history_walk(with_history(durations, 15.0, seed), prediction.first_read, 0.3)[0]) for seed in SEEDS}
    assert len(walks) == 1


def test_with_history_there_are_no_quick_first_reads() -> None:
    # A 10 min run: the first status read is as far from the history read as the ones after it.
    schedule = with_history([600.0, 610.0, 590.0, 605.0, 595.0], 15.0, seed=0)
    times, steps = history_walk(schedule, until=100.0, start=0.3)
    assert times[0] > 50.0
    assert steps[0] == pytest.approx(steps[1])


@pytest.mark.parametrize("seed", SEEDS)
def test_with_history_reads_before_the_window_are_sparser(seed: int) -> None:
    durations = [600.0, 610.0, 590.0, 605.0, 595.0]
    p = predict(durations)
    assert p is not None
    history_times, _ = history_walk(with_history(durations, 15.0, seed), p.window_start, start=0.3)
    plain_times, _ = walk(plain(15.0, seed), p.window_start)
    history_reads = [t for t in history_times if t < p.window_start]
    plain_reads = [t for t in plain_times if t < p.window_start]
    assert len(history_reads) < len(plain_reads) * 0.4


@pytest.mark.parametrize("seed", SEEDS)
def test_after_the_window_it_backs_off_again_up_to_the_poll_interval(seed: int) -> None:
    schedule = with_history([100.0], 15.0, seed)
    p = schedule.prediction
    assert p is not None
    just_after = p.window_end + 0.1
    _, steps = walk(schedule, until=p.window_end + 600.0, first=just_after)
    assert all(FLOOR <= step <= 15.0 for step in steps)
    assert steps[-1] >= 15.0 * (1 - JITTER)
    # It grows from the window's gap rather than jumping to the cap.
    assert steps[0] <= WINDOW_GAP * (1 + JITTER)


def test_the_window_gap_is_the_floor_for_short_runs_only() -> None:
    short, long_ = predict([10.0, 11.0, 9.0]), predict([59.0, 61.0, 60.0])
    assert short is not None
    assert long_ is not None
    assert short.gap == FLOOR, "a short run's window costs a read or two at the floor"
    assert long_.gap == WINDOW_GAP
    just_short, just_long = predict([29.9]), predict([30.0])
    assert just_short is not None
    assert just_long is not None
    assert (just_short.gap, just_long.gap) == (FLOOR, WINDOW_GAP)


def test_after_the_window_the_window_gap_stops() -> None:
    schedule = with_history([100.0], 15.0, seed=None)
    p = schedule.prediction
    assert p is not None
    assert schedule.next_delay(p.window_end + 0.1) == WINDOW_GAP
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


@pytest.mark.parametrize("durations", HISTORIES)
def test_a_poll_interval_at_the_floor_caps_the_gaps_after_the_window(durations: list[float]) -> None:
    schedule = with_history(durations, 2.0, seed=0)
    p = schedule.prediction
    assert p is not None
    assert all(schedule.next_delay(p.window_end + extra) == FLOOR for extra in (0.1, 10.0, 1000.0))
