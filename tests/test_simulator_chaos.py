"""The simulator's chaos mode: seeded, and each fault does what it says."""

from __future__ import annotations

import json

import pytest
import requests
from conftest import SIM_TOKEN, FakeClock

from hex_action.sim_transport import simulated_session
from hex_action.simulator import CHAOS_KINDS, Chaos, HexSimulator
from hex_action.simulator.chaos import ChaosFault

PROJECT = "00000000-0000-4000-8000-000000000001"
RUNS = f"/api/v1/projects/{PROJECT}/runs"
AUTH = {"Authorization": f"Bearer {SIM_TOKEN}"}


def always(kind: ChaosFault | None) -> Chaos:
    """A chaos whose every request meets `kind` (None: none), and no lag."""
    chaos = Chaos(0, rate=0.0, lag_rate=0.0)
    chaos.draw = lambda method, run_path: kind  # type: ignore[method-assign]
    return chaos


def post(sim: HexSimulator) -> tuple[int, dict[str, object]]:
    answer = sim.handle("POST", RUNS, "", AUTH, b"{}")
    return answer.status, (json.loads(answer.body) if answer.body else {})


def test_a_seed_replays_the_same_faults() -> None:
    def drawn(seed: int) -> list[object]:
        chaos = Chaos(seed, rate=0.5)
        return [chaos.draw("GET", True) for _ in range(200)]

    assert drawn(7) == drawn(7)
    assert drawn(7) != drawn(8)
    kinds = {f.kind for f in drawn(7) if f is not None}
    assert kinds == set(CHAOS_KINDS) - {"lag"}, "every kind of fault comes up"


def test_reset_before_does_nothing_and_reset_after_acts(fake_clock: FakeClock) -> None:
    sim = HexSimulator(SIM_TOKEN, clock=fake_clock, chaos=always(ChaosFault("reset-before")))
    assert sim.handle("POST", RUNS, "", AUTH, b"{}").reset
    assert sim.runs() == []
    sim.chaos = always(ChaosFault("reset-after"))
    assert sim.handle("POST", RUNS, "", AUTH, b"{}").reset
    assert len(sim.runs()) == 1, "Hex made the run; only the answer was lost"
    assert sim.chaos.injected == {"reset-after": 1}


def test_error_answers_act_not_and_slow_answers_act_first(fake_clock: FakeClock) -> None:
    sim = HexSimulator(SIM_TOKEN, clock=fake_clock, chaos=always(ChaosFault("429-bare", 429)))
    answer = sim.handle("POST", RUNS, "", AUTH, b"{}")
    assert (answer.status, "Retry-After" in answer.headers) == (429, False)
    sim.chaos = always(ChaosFault("html", 200))
    answer = sim.handle("POST", RUNS, "", AUTH, b"{}")
    assert answer.status == 200
    assert answer.body.startswith(b"<!DOCTYPE html>")
    assert sim.runs() == []
    sim.chaos = always(ChaosFault("slow", delay=7.5))
    answer = sim.handle("POST", RUNS, "", AUTH, b"{}")
    assert (answer.status, answer.delay_seconds) == (201, 7.5)
    assert len(sim.runs()) == 1


@pytest.mark.parametrize("lag_status", [404, 403])
def test_a_lagging_run_is_unknown_to_reads_cancels_and_lists_for_a_while(
    fake_clock: FakeClock, lag_status: int
) -> None:
    chaos = always(None)
    chaos.lag = lambda: (2.0, lag_status)  # type: ignore[method-assign]
    sim = HexSimulator(SIM_TOKEN, clock=fake_clock, chaos=chaos)
    _, started = post(sim)
    run_path = f"{RUNS}/{started['runId']}"
    assert sim.handle("GET", run_path, "", AUTH, b"").status == lag_status
    assert sim.handle("DELETE", run_path, "", AUTH, b"").status == lag_status
    assert json.loads(sim.handle("GET", RUNS, "", AUTH, b"").body)["runs"] == []
    assert sim.runs()[0]["status"] == "PENDING", "the cancel did not reach the run"
    fake_clock.advance(2.0)
    assert sim.handle("GET", run_path, "", AUTH, b"").status == 200
    assert len(json.loads(sim.handle("GET", RUNS, "", AUTH, b"").body)["runs"]) == 1


def test_a_stale_read_shows_an_earlier_status(fake_clock: FakeClock) -> None:
    sim = HexSimulator(SIM_TOKEN, clock=fake_clock, default_pending_seconds=1.0, chaos=always(None))
    _, started = post(sim)
    run_path = f"{RUNS}/{started['runId']}"
    fake_clock.advance(2.0)
    assert json.loads(sim.handle("GET", run_path, "", AUTH, b"").body)["status"] == "RUNNING"
    sim.chaos = always(ChaosFault("stale", behind=1.5))
    assert json.loads(sim.handle("GET", run_path, "", AUTH, b"").body)["status"] == "PENDING"


def test_a_stale_read_counts_against_the_rate_limit_when_it_arrives(fake_clock: FakeClock) -> None:
    # The replica is behind, the rate limit is not: Hex's window opens at the first read as it
    # arrives, so 30 reads now leave the 31st blocked until 60 s after them, not 10 s sooner.
    sim = HexSimulator(SIM_TOKEN, clock=fake_clock, default_running_seconds=600.0, chaos=always(None))
    _, started = post(sim)
    run_path = f"{RUNS}/{started['runId']}"
    fake_clock.advance(20.0)
    sim.chaos = always(ChaosFault("stale", behind=10.0))
    assert [sim.handle("GET", run_path, "", AUTH, b"").status for _ in range(30)] == [200] * 30
    fake_clock.advance(55.0)
    sim.chaos = always(None)  # an up-to-date replica answers the next read
    blocked = sim.handle("GET", run_path, "", AUTH, b"")
    assert blocked.status == 429
    assert blocked.headers["Retry-After"] == "5"


def test_the_in_process_transport_turns_a_reset_into_a_connection_error(fake_clock: FakeClock) -> None:
    sim = HexSimulator(SIM_TOKEN, clock=fake_clock, chaos=always(ChaosFault("reset-after")))
    with pytest.raises(requests.ConnectionError):
        simulated_session(sim).post(f"https://hex.sim{RUNS}", json={}, headers=AUTH)
