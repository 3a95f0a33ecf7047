"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e_support import SimClient

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


@pytest.fixture(scope="module")
def module_sim_server(request: pytest.FixtureRequest) -> Iterator[SimServer]:
    """One HTTP simulator per test module (real clock, Hex's limits on) accepting the module's TOKEN:
    stopping a server takes up to half a second, so a module's tests share it and reset it instead."""
    with serve(HexSimulator(request.module.TOKEN)) as server:
        yield server


@pytest.fixture
def http_sim(module_sim_server: SimServer) -> SimClient:
    """The module's simulator, reset (no runs, faults, projects, log or rate-limit counts), via its admin API."""
    client = SimClient(module_sim_server.url, module_sim_server.token)
    client.reset()
    return client
