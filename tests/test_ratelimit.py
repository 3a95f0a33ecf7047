"""Tests for hex_action.ratelimit: sliding windows, next_allowed, pause_until, record."""

from __future__ import annotations

import itertools
import random
from bisect import bisect_left

import pytest

from hex_action.ratelimit import RateLimiter, run_start_limiter, status_read_limiter


def fill(limiter: RateLimiter, times: list[float]) -> None:
    for at in times:
        limiter.record(at)


def send_greedily(limiter: RateLimiter, count: int, start: float = 0.0) -> list[float]:
    """Send `count` requests, each as early as the limiter allows."""
    sent: list[float] = []
    now = start
    for _ in range(count):
        now = limiter.next_allowed(now)
        limiter.record(now)
        sent.append(now)
    return sent


def max_in_window(times: list[float], period: float) -> int:
    """The most requests inside any half-open window [t, t + period)."""
    ordered = sorted(times)
    return max(bisect_left(ordered, t + period) - i for i, t in enumerate(ordered))


# -- one window ------------------------------------------------------------------------------


def test_empty_limiter_allows_now() -> None:
    limiter = RateLimiter([(3, 60.0)])
    assert limiter.next_allowed(123.5) == 123.5


def test_requests_under_the_limit_are_allowed_at_once() -> None:
    limiter = RateLimiter([(3, 60.0)])
    fill(limiter, [0.0, 1.0])
    assert limiter.next_allowed(2.0) == 2.0


def test_full_window_waits_until_the_oldest_request_leaves_it() -> None:
    limiter = RateLimiter([(3, 60.0)])
    fill(limiter, [0.0, 10.0, 20.0])
    assert limiter.next_allowed(30.0) == 60.0
    assert limiter.next_allowed(59.9) == 60.0
    # At exactly 60 s the first request has left the window.
    assert limiter.next_allowed(60.0) == 60.0
    assert limiter.next_allowed(65.0) == 65.0


def test_window_slides_request_by_request() -> None:
    limiter = RateLimiter([(3, 60.0)])
    fill(limiter, [0.0, 10.0, 20.0, 60.0])
    # Inside (1, 61]: 10, 20, 60 -> full until 10 leaves at 70.
    assert limiter.next_allowed(61.0) == 70.0


def test_record_counts_requests() -> None:
    limiter = RateLimiter([(3, 60.0)])
    fill(limiter, [0.0, 1.0, 2.0, 3.0])
    assert limiter.used == 4


# -- several windows -------------------------------------------------------------------------


def test_the_strictest_window_wins() -> None:
    limiter = RateLimiter([(2, 10.0), (3, 100.0)])
    fill(limiter, [0.0, 1.0])
    assert limiter.next_allowed(2.0) == 10.0  # the short window is full
    limiter.record(10.0)
    # Short window: only 10.0 inside (1, 11] -> free; long window: 3 requests -> wait for 0.0 + 100.
    assert limiter.next_allowed(11.0) == 100.0


def test_read_limiter_allows_short_bursts_only_and_keeps_a_margin() -> None:
    limiter = status_read_limiter()
    sent = send_greedily(limiter, 31)
    assert sent[:6] == [0.0] * 6, "a short burst is allowed"
    assert sent[6:12] == [12.0] * 6, "then the next burst waits: the minute is not spent at once"
    assert sent[28] == 48.0
    assert sent[29] == 60.0, "the 30th waits for the minute: one read of Hex's 30 is kept spare"
    assert max(b - a for a, b in itertools.pairwise(sent)) <= 12.0, "never a long silence"


def test_read_limiter_never_exceeds_hex_limits_when_sent_greedily() -> None:
    limiter = status_read_limiter()
    sent = send_greedily(limiter, 2000)
    assert max_in_window(sent, 60.0) <= 29
    assert max_in_window(sent, 12.0) <= 6
    assert max_in_window(sent, 3600.0) <= 1800
    # It does not over-throttle either: 2000 reads at 29 a minute take about 69 minutes.
    assert 4100.0 <= sent[-1] <= 4200.0


def test_start_limiter_stays_under_twenty_a_minute_and_sixty_an_hour() -> None:
    limiter = run_start_limiter()
    sent = send_greedily(limiter, 60)
    assert sent[:5] == [0.0] * 5, "a small fan-out starts at once"
    assert sent[5:10] == [5.0] * 5, "a large one does not stampede"
    assert max_in_window(sent[:19], 5.0) <= 5
    assert sent[19] == 60.0
    assert max_in_window(sent, 60.0) <= 19
    # The 60th start waits for the hour window: the first start leaves it at 3600 s.
    assert sent[59] == 3600.0


@pytest.mark.parametrize("seed", range(5))
def test_random_arrivals_never_exceed_the_limits(seed: int) -> None:
    rng = random.Random(seed)
    limiter = run_start_limiter()
    sent: list[float] = []
    now = 0.0
    for _ in range(150):
        now += rng.expovariate(1 / 5.0)  # a request wanted every 5 s on average
        allowed = limiter.next_allowed(now)
        assert allowed >= now
        limiter.record(allowed)
        sent.append(allowed)
        now = allowed
    assert max_in_window(sent, 60.0) <= 20
    assert max_in_window(sent, 3600.0) <= 60


# -- pause after a 429 -----------------------------------------------------------------------


def test_pause_until_blocks_requests_until_then() -> None:
    limiter = RateLimiter([(30, 60.0)])
    limiter.pause_until(50.0)
    assert limiter.next_allowed(10.0) == 50.0
    assert limiter.next_allowed(50.0) == 50.0
    assert limiter.next_allowed(70.0) == 70.0


def test_pause_until_never_shortens_an_earlier_pause() -> None:
    limiter = RateLimiter([(30, 60.0)])
    limiter.pause_until(90.0)
    limiter.pause_until(40.0)
    assert limiter.next_allowed(0.0) == 90.0


def test_pause_and_windows_combine() -> None:
    limiter = RateLimiter([(1, 60.0)])
    limiter.record(0.0)
    limiter.pause_until(30.0)
    assert limiter.next_allowed(0.0) == 60.0  # the window is stricter than the pause
    limiter.pause_until(100.0)
    assert limiter.next_allowed(0.0) == 100.0  # now the pause is


def test_pause_does_not_count_as_a_request() -> None:
    limiter = RateLimiter([(1, 60.0)])
    limiter.pause_until(30.0)
    assert limiter.used == 0
    assert limiter.next_allowed(31.0) == 31.0
