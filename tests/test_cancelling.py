"""Tests for hex_action.cancelling: several cancels at once, each with a true note."""

from __future__ import annotations

from hex_action.cancelling import RunToCancel, cancel_many, last_look
from hex_action.client import HexClient
from hex_action.clock import FakeClock
from hex_action.ratelimit import RateLimiter
from hex_action.sim_transport import simulated_session
from hex_action.simulator import Fault, HexSimulator

TOKEN = "cancel-test-token"
HEX = "https://hex.sim"
PROJECT = "00000000-0000-4000-8000-000000000001"


def setup(running: float = 600.0) -> tuple[FakeClock, HexSimulator, HexClient]:
    clock = FakeClock()
    sim = HexSimulator(TOKEN, clock=clock.wall, default_pending_seconds=0.0, default_running_seconds=running)
    client = HexClient(f"{HEX}/api/v1", TOKEN, clock, session=simulated_session(sim, HEX))
    return clock, sim, client


def start(client: HexClient) -> RunToCancel:
    handle = client.trigger_run(PROJECT, {})
    return RunToCancel(PROJECT, handle.run_id, handle.run_url)


def test_runs_in_flight_are_cancelled_together() -> None:
    _, sim, client = setup()
    runs = [start(client) for _ in range(3)]
    assert cancel_many(client, FakeClock(), runs) == [("The run was cancelled.", None)] * 3
    assert {run["status"] for run in sim.runs()} == {"KILLED"}


def test_a_run_that_had_ended_reports_its_end() -> None:
    clock, _, client = setup(running=10.0)
    run = start(client)
    clock.advance(20.0)  # it completed meanwhile; Hex refuses the cancel
    ((note, ended),) = cancel_many(client, clock, [run])
    assert note == "The run had already ended COMPLETED."
    assert ended is not None
    assert ended.status == "COMPLETED"


def test_a_failed_cancel_says_the_run_may_still_be_running() -> None:
    clock, sim, client = setup()
    run = start(client)
    sim.add_fault(Fault("DELETE", r"/runs/", 502, count=10))
    ((note, ended),) = cancel_many(client, clock, [run])
    assert note.startswith(f"Cancelling the run failed, so it may still be running: {run.run_url}")
    assert ended is None


def test_last_look_spends_no_read_the_budget_or_the_run_does_not_allow() -> None:
    clock, sim, client = setup()
    run = start(client)
    assert last_look(client, clock, RunToCancel(PROJECT, run.run_id, run.run_url, readable=False)) is None
    client.reads = RateLimiter([(1, 60.0)])
    client.reads.record(clock.now())
    assert last_look(client, clock, run) is None
    assert [e for e in sim.requests_log() if e["method"] == "GET"] == []
    clock.advance(61.0)
    state = last_look(client, clock, run)
    assert state is not None
    assert state.status == "RUNNING"
