"""Hex's read-after-write lag: a run the action just created may be unknown to reads for a moment.

Hex answered the start 201, then 404 (or 403) to the first reads of the run, then normally: a
replica behind, a load balancer's stale view. These run the real engine and client against the
in-process simulator on a fake clock (tests/test_engine.py's world).
"""

from __future__ import annotations

import pytest
from test_engine import HEX, LIST_PATH, P1, STATUS_PATH, TOKEN, Recorder, ScriptedClock, World, run_losing, single

from hex_action.cancelling import RunToCancel, cancel_many
from hex_action.client import HexClient
from hex_action.lag import LAG_RETRY_EVERY, READ_AFTER_WRITE_GRACE
from hex_action.signals import CancelSignal
from hex_action.sim_transport import simulated_session
from hex_action.simulator import Fault, HexSimulator
from hex_action.status import Status


@pytest.fixture
def world() -> World:
    clock = ScriptedClock()
    return World(clock, HexSimulator(TOKEN, clock=clock.wall), CancelSignal(), Recorder())


@pytest.mark.parametrize("status", [404, 403])
def test_a_run_unknown_to_its_first_reads_is_followed_to_its_end(world: World, status: int) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=20)
    world.sim.add_fault(Fault("GET", STATUS_PATH, status, count=2))
    (result,) = world.run(single(use_run_history="false"))
    assert result.status == Status.COMPLETED, result.message
    assert world.log("cancel") == []
    assert world.runs()[0]["status"] == "COMPLETED"
    assert any("does not know run" in w and "yet" in w for w in world.observer.warnings)


def test_a_run_that_stays_unreadable_is_cancelled_and_the_message_says_what_was_tried(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600)
    world.sim.add_fault(Fault("GET", STATUS_PATH, 404, count=1000))
    (result,) = world.run(single(use_run_history="false"))
    assert result.status == Status.UNKNOWN
    assert result.message is not None
    reads = world.log("status")
    assert len(reads) >= 3
    assert reads[-1]["time"] - reads[0]["time"] >= READ_AFTER_WRITE_GRACE - LAG_RETRY_EVERY
    assert f"{len(reads)} reads over" in result.message, result.message
    assert "The run was cancelled." in result.message
    (delete,) = world.log("cancel")
    assert delete["status"] == 204, "a DELETE of the run Hex created reaches it"
    assert world.runs()[0]["status"] == "KILLED", "no orphan run"


def test_a_run_that_stays_unreadable_is_left_running_when_cancel_on_timeout_is_false(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600)
    world.sim.add_fault(Fault("GET", STATUS_PATH, 404, count=1000))
    (result,) = world.run(single(use_run_history="false", cancel_on_timeout="false"))
    assert result.status == Status.UNKNOWN
    assert result.message is not None
    assert "left running (cancel-on-timeout is false)" in result.message
    assert world.log("cancel") == []


def test_a_given_run_id_hex_does_not_know_is_not_retried(world: World) -> None:
    (result,) = world.run(single(run_id="0b9a3c52-6f1e-4a8d-9c7b-2e5f8d1a4b63"))
    assert result.status == Status.UNKNOWN
    assert len(world.log("status")) == 1, "no lag to wait out on a run the action did not create"
    assert world.log("cancel") == []


def test_a_lost_start_whose_run_is_not_listed_at_once_is_found(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=5, running_seconds=20)
    # The run list lags too: the first lookup does not show the run Hex has just made.
    world.sim.add_fault(Fault("GET", LIST_PATH, 200, body={"runs": [], "traceId": "stale"}, count=1))
    (result,) = run_losing(world, single(use_run_history="false"), "timeout")
    (run,) = world.runs()
    assert len(world.log("start")) == 1
    assert len(world.log("list")) == 2
    assert result.run_id == run["runId"]
    assert result.status == Status.COMPLETED, result.message


def test_a_lost_start_that_made_no_run_says_how_long_it_looked(world: World) -> None:
    world.sim.add_fault(Fault("POST", r"/runs$", 500, body={"message": "boom"}))
    (result,) = world.run(single(use_run_history="false"))
    assert result.status == Status.NOT_STARTED
    assert result.message is not None
    lists = world.log("list")
    assert len(lists) >= 3
    assert lists[-1]["time"] - lists[0]["time"] >= READ_AFTER_WRITE_GRACE - LAG_RETRY_EVERY
    assert f"in {len(lists)} looks over" in result.message, result.message


def test_a_cancel_of_a_run_not_yet_known_is_retried(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=0, running_seconds=600)
    client = HexClient(f"{HEX}/api/v1", TOKEN, world.clock, session=simulated_session(world.sim, HEX))
    handle = client.trigger_run(P1, {})
    world.sim.add_fault(Fault("DELETE", STATUS_PATH, 404, count=1))
    fresh = RunToCancel(P1, handle.run_id, handle.run_url, fresh=True)
    ((note, ended),) = cancel_many(client, world.clock, [fresh])
    assert note == "The run was cancelled.", note
    assert ended is None
    assert world.runs()[0]["status"] == "KILLED"


def test_a_lost_start_whose_run_never_got_a_kernel_is_found(world: World) -> None:
    # Such a run has no start time at all (found by the soak, seed 51): it still began after the start.
    # Hex gave up on a kernel at once: by the lookup, the run has ended, with no start time.
    world.sim.configure_project(P1, pending_seconds=0, running_seconds=5, final_status="UNABLE_TO_ALLOCATE_KERNEL")
    (result,) = run_losing(world, single(use_run_history="false"), "timeout")
    (run,) = world.runs()
    assert result.run_id == run["runId"]
    assert result.status == "UNABLE_TO_ALLOCATE_KERNEL", result.message


def test_a_lost_start_near_the_timeout_still_looks_for_the_whole_grace(world: World) -> None:
    # Found by the soak (seeds 259, 855): with a 2 s timeout, one look at a lagging list concluded
    # "Hex did not start one", and the run it had made was left behind.
    world.sim.configure_project(P1, pending_seconds=5, running_seconds=20)
    world.sim.add_fault(Fault("GET", LIST_PATH, 200, body={"runs": [], "traceId": "stale"}, count=2))
    (result,) = run_losing(world, single(use_run_history="false", timeout="2s"), "timeout")
    (run,) = world.runs()
    assert result.run_id == run["runId"], result.message
    assert result.status == Status.TIMED_OUT
    assert run["status"] == "KILLED", "found, then cancelled: no orphan"


def test_a_lost_start_looks_within_the_read_budget_and_still_concludes(world: World) -> None:
    # Found by the soak: a look retried after a 500 spent a read, the last look found no room in the
    # read budget (6 in 12 s) before its deadline, and "no run" became an error, so UNKNOWN.
    world.sim.add_fault(Fault("POST", r"/runs$", 500, body={"message": "boom"}))
    world.sim.add_fault(Fault("GET", LIST_PATH, 500, count=1))
    (result,) = world.run(single(use_run_history="false", timeout="5s"))
    assert world.runs() == []
    assert result.status == Status.NOT_STARTED, result.message
    assert result.message is not None
    assert "Hex did not start one" in result.message
