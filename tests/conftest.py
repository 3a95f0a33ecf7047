"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hex_action.simulator import HexSimulator, SimServer, serve

SIM_TOKEN = "test-token-123"
# 2026-01-01T00:00:00Z: a fixed, readable start for fake clocks.
FAKE_EPOCH = 1_767_225_600.0


class FakeClock:
    """A wall clock (epoch seconds) that only moves when a test calls ``advance``."""

    def __init__(self, start: float = FAKE_EPOCH) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(fake_clock: FakeClock) -> HexSimulator:
    """A simulator on ``fake_clock`` with token "test-token-123" and Hex's limits on (``sim.clock``)."""
    return HexSimulator(SIM_TOKEN, clock=fake_clock)


@pytest.fixture
def sim_server() -> Iterator[SimServer]:
    """A real HTTP simulator on 127.0.0.1 (real clock); has ``.url``, ``.sim`` and ``.token``."""
    with serve(HexSimulator(SIM_TOKEN)) as server:
        yield server
