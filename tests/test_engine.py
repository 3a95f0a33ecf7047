"""Tests for hex_action.engine: the real client and schedule against the in-process simulator, on a fake clock."""

from __future__ import annotations

import json
import random
import threading
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pytest
import requests

from hex_action.client import HexClient
from hex_action.clock import FakeClock
from hex_action.engine import Engine, StepResult
from hex_action.planner import History, plan_wait
from hex_action.schedule import FLOOR
from hex_action.settings import Settings, load_settings
from hex_action.signals import CancelSignal
from hex_action.sim_transport import SimulatorAdapter, simulated_session
from hex_action.simulator import Fault, HexSimulator
from hex_action.status import Status

TOKEN = "hxtp_engine-test-token"
HEX = "https://hex.sim"
# 2026-01-01T00:00:00Z. The engine's monotonic clock and the simulator's wall clock read the same
# number, so times in the simulator's log compare directly with the engine's.
EPOCH = 1_767_225_600.0
STATUS_PATH = r"/runs/[^/]+$"
LIST_PATH = r"/runs$"


def project(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


P1 = project(1)


# -- factories -------------------------------------------------------------------------------


class ScriptedClock(FakeClock):
    """A fake clock on which things happen at given times, while the engine sleeps through them."""

    def __init__(self) -> None:
        super().__init__(start=EPOCH, wall_start=EPOCH)
        self._events: list[tuple[float, Callable[[], None]]] = []

    def at(self, when: float, action: Callable[[], None]) -> None:
        self._events.append((when, action))
        self._events.sort(key=lambda event: event[0])

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> bool:
        if wake is not None and wake.is_set():
            return True
        target = self.now() + max(0.0, seconds)
        while self._events and self._events[0][0] <= target:
            when, action = self._events.pop(0)
            self.advance(max(0.0, when - self.now()))
            action()
            if wake is not None and wake.is_set():
                return True
        return super().sleep(target - self.now(), wake)


@dataclass
class Recorder:
    """The engine's observer: remembers every event."""

    started: list[str] = field(default_factory=list)
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    finished: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    debugs: list[str] = field(default_factory=list)

    def run_started(self, result: StepResult) -> None:
        self.started.append(result.name)

    def status_changed(self, result: StepResult, previous: str, waited: float) -> None:
        self.changes.append((result.name, previous, result.status))

    def waiting(self, result: StepResult, waited: float, next_read_in: float) -> None:
        pass

    def step_finished(self, result: StepResult) -> None:
        self.finished.append((result.name, result.status))

    def warning(self, text: str) -> None:
        self.warnings.append(text)

    def debug(self, text: str) -> None:
        self.debugs.append(text)


@dataclass
class World:
    """A simulated Hex, a fake clock, a cancel flag and an observer, for one test."""

    clock: ScriptedClock
    sim: HexSimulator
    cancel: CancelSignal
    observer: Recorder
    engine: Engine | None = None

    @property
    def t0(self) -> float:
        return EPOCH

    def run(self, settings: Settings, seed: int = 0) -> list[StepResult]:
        client = HexClient(
            settings.api_base_url,
            settings.api_token,
            self.clock,
            wake=self.cancel.event,
            session=simulated_session(self.sim, HEX),
            rng=random.Random(seed),
        )
        self.engine = Engine(settings, client, self.clock, self.cancel, self.observer, rng=random.Random(seed))
        return self.engine.run()

    def log(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The simulator's request log, optionally of one kind: start, status, list, cancel or project."""
        return [entry for entry in self.sim.requests_log() if kind is None or request_kind(entry) == kind]

    def times(self, kind: str) -> list[float]:
        return [entry["time"] for entry in self.log(kind)]

    def runs(self) -> list[dict[str, Any]]:
        return [run for run in self.sim.runs() if not run["seeded"]]

    def run_of(self, project_id: str) -> dict[str, Any]:
        (run,) = [r for r in self.runs() if r["projectId"] == project_id]
        return run


def request_kind(entry: dict[str, Any]) -> str:
    method, path = entry["method"], entry["path"]
    if method == "POST":
        return "start"
    if method == "DELETE":
        return "cancel"
    if "/runs" not in path:
        return "project"
    return "list" if path.endswith("/runs") else "status"


@pytest.fixture
def world() -> World:
    clock = ScriptedClock()
    return World(clock, HexSimulator(TOKEN, clock=clock.wall), CancelSignal(), Recorder())


def single(**inputs: str) -> Settings:
    """Settings of a single-project action; keyword names are the inputs with _ for -."""
    values = {"api-token": TOKEN, "hex-url": HEX, "project-id": P1}
    values.update({name.replace("_", "-"): value for name, value in inputs.items()})
    return load_settings(values, {})


def pipeline(steps: list[dict[str, Any]], **inputs: str) -> Settings:
    values = {"api-token": TOKEN, "hex-url": HEX, "pipeline": json.dumps(steps)}  # JSON is YAML
    values.update({name.replace("_", "-"): value for name, value in inputs.items()})
    return load_settings(values, {})


def step(name: str, n: int, *needs: str, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "project-id": project(n), **fields}
    if needs:
        entry["needs"] = list(needs)
    return entry


def by_name(results: list[StepResult]) -> dict[str, StepResult]:
    return {r.name: r for r in results}


def max_overlap(runs: list[dict[str, Any]]) -> int:
    """The most runs active at once in the simulator (created, not yet ended)."""
    events = sorted([(r["createdAt"], 1) for r in runs] + [(r["endedAt"], -1) for r in runs])
    most = current = 0
    for _, change in events:  # at equal times an end (-1) sorts first
        current += change
        most = max(most, current)
    return most


def max_in_window(times: list[float], period: float = 60.0) -> int:
    ordered = sorted(times)
    return max((bisect_left(ordered, t + period) - i for i, t in enumerate(ordered)), default=0)


# -- one project -----------------------------------------------------------------------------


def test_single_run_completes_and_reports_each_status_once(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=10, running_seconds=50)
    (result,) = world.run(single())
    assert result.status == Status.COMPLETED
    assert result.succeeded
    assert result.message is None
    (run,) = world.runs()
    assert result.run_id == run["runId"]
    assert result.run_url is not None
    assert run["runId"] in result.run_url
    assert result.elapsed_seconds == pytest.approx(50.0)
    assert result.project_version == "1"
    assert world.observer.changes == [(P1, "", "PENDING"), (P1, "PENDING", "RUNNING"), (P1, "RUNNING", "COMPLETED")]
    assert len(world.log("status")) > 3  # statuses were read more than once each, reported once each
    assert world.observer.finished == [(P1, "COMPLETED")]


def test_reads_stop_at_a_terminal_status(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=5, running_seconds=100)
    world.run(single())
    (run,) = world.runs()
    reads = world.times("status")
    assert world.log()[-1]["method"] == "GET"  # nothing after the read that saw the end
    assert [t for t in reads if t >= run["endedAt"]] == [reads[-1]]
    assert world.engine is not None
    assert world.engine.client.counts["status"] == len(reads)
    assert world.log("cancel") == []


@pytest.mark.parametrize("final", ["ERRORED", "UNABLE_TO_ALLOCATE_KERNEL"])
def test_failed_run_ends_with_its_status_and_the_run_url(world: World, final: str) -> None:
    world.sim.configure_project(P1, pending_seconds=3, running_seconds=20, final_status=final)
    (result,) = world.run(single())
    assert result.status == final
    assert not result.succeeded
    assert result.run_url
    assert result.message == f"The Hex run ended {final}. See {result.run_url}"
    assert world.log("cancel") == []


def test_run_killed_in_hex_ends_killed(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=300)

    def kill_in_the_ui() -> None:
        (run,) = world.runs()
        path = f"/api/v1/projects/{P1}/runs/{run['runId']}"
        world.sim.handle("DELETE", path, "", {"Authorization": f"Bearer {TOKEN}"}, b"")

    world.clock.at(world.t0 + 40, kill_in_the_ui)
    (result,) = world.run(single())
    assert result.status == Status.KILLED
    assert result.message is not None
    assert result.run_url is not None
    assert result.run_url in result.message
    assert world.clock.now() - world.t0 < 40 + 15  # noticed within a poll interval
    assert len(world.log("cancel")) == 1  # only the one from the UI


def test_timeout_cancels_the_run(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600)
    (result,) = world.run(single(timeout="60s"))
    assert result.status == Status.TIMED_OUT
    assert result.message is not None
    assert "Gave up waiting after 1m" in result.message
    assert "the last status was RUNNING" in result.message
    assert "The run was cancelled." in result.message
    (delete,) = world.log("cancel")
    assert delete["time"] == pytest.approx(world.t0 + 60)
    assert delete["status"] == 204
    assert world.runs()[0]["status"] == "KILLED"
    assert all(t <= delete["time"] for t in world.times("status"))
    assert result.elapsed_seconds == pytest.approx(60.0)


def test_timeout_without_cancel_leaves_the_run_running(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600)
    (result,) = world.run(single(timeout="60s", cancel_on_timeout="false"))
    assert result.status == Status.TIMED_OUT
    assert world.log("cancel") == []
    assert world.runs()[0]["status"] == "RUNNING"
    assert result.message is not None
    assert "left running" in result.message
    assert result.run_url is not None
    assert result.run_url in result.message


def test_wait_false_starts_and_reads_once(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=5, running_seconds=60)
    (result,) = world.run(single(wait="false"))
    assert [request_kind(e) for e in world.log()] == ["project", "start", "status"]
    assert result.status == "PENDING"
    assert result.finished
    assert result.message is None
    assert result.run_id == world.runs()[0]["runId"]


def test_dry_run_starts_nothing_and_reads_nothing(world: World) -> None:
    (result,) = world.run(single(dry_run="true"))
    assert result.status == Status.DRY_RUN
    assert result.succeeded
    project_read, post = world.log()
    assert request_kind(project_read) == "project"
    assert post["method"] == "POST"
    assert post["body"]["dryRun"] is True
    assert world.runs() == []


def test_existing_run_id_is_waited_on_without_starting_a_run(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=30)
    answer = world.sim.handle("POST", f"/api/v1/projects/{P1}/runs", "", {"Authorization": f"Bearer {TOKEN}"}, b"")
    run_id = answer.json()["runId"]
    before = len(world.log())
    (result,) = world.run(single(run_id=run_id))
    mine = world.log()[before:]
    # The project's name, then no POST, no history read.
    assert [request_kind(e) for e in mine] == ["project"] + ["status"] * (len(mine) - 1)
    assert mine[1]["time"] == world.t0  # the first read is at once
    assert result.status == Status.COMPLETED
    assert result.run_id == run_id


@pytest.mark.parametrize(("body", "named"), [({"status": "QUEUED_FOR_LUNCH"}, "QUEUED_FOR_LUNCH"), ({}, "no status")])
def test_unknown_status_warns_once_and_waits_until_the_timeout(world: World, body: dict[str, Any], named: str) -> None:
    world.sim.add_fault(Fault("GET", STATUS_PATH, 200, count=10_000, body=body))
    (result,) = world.run(single(timeout="2m"))
    assert result.status == Status.TIMED_OUT
    assert len(world.log("status")) > 5
    (warning,) = world.observer.warnings
    assert named in warning
    assert len(world.log("cancel")) == 1
    assert world.clock.now() == pytest.approx(world.t0 + 120)


def test_cancel_request_mid_wait_cancels_the_run(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600)
    world.clock.at(world.t0 + 30, lambda: world.cancel.request("SIGTERM"))
    (result,) = world.run(single())
    assert result.status == Status.CANCELLED
    assert result.message == "The step was cancelled (SIGTERM). The run was cancelled."
    (delete,) = world.log("cancel")
    assert delete["time"] == pytest.approx(world.t0 + 30)
    assert world.runs()[0]["status"] == "KILLED"
    assert all(t <= delete["time"] for t in world.times("status"))


def test_status_reads_that_fail_for_good_cancel_the_run(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600)
    world.sim.add_fault(Fault("GET", STATUS_PATH, 401, count=1000, body="Unauthorized {token}"))
    (result,) = world.run(single())
    assert not result.succeeded
    assert result.message is not None
    assert result.message.startswith("Could not read the run's status: Hex answered 401")
    assert result.message.endswith("The run was cancelled.")
    assert TOKEN not in result.message
    assert "Unauthorized ***" in result.message  # the simulator echoed the token; the client redacted it
    assert len(world.log("status")) == 1  # a 401 is not retried
    assert len(world.log("cancel")) == 1
    assert world.runs()[0]["status"] == "KILLED"


# -- run history -----------------------------------------------------------------------------

HISTORY = [600.0, 610.0, 590.0, 605.0, 595.0]
#: A run that ends where its history says is seen this soon (the plan's mean is 2 s).
PROMPT = 5.0


def test_history_means_fewer_reads_and_a_prompt_finish(world: World) -> None:
    def finish_lag_and_reads(use_history: str) -> tuple[float, int, float]:
        clock = ScriptedClock()
        sim = HexSimulator(TOKEN, clock=clock.wall)
        sim.configure_project(P1, pending_seconds=1, running_seconds=600, history=HISTORY)
        w = World(clock, sim, CancelSignal(), Recorder())
        (result,) = w.run(single(use_run_history=use_history))
        assert result.status == Status.COMPLETED
        reads = w.times("status")
        gaps = [b - a for a, b in pairwise(reads)]
        assert len(w.log("list")) == (1 if use_history == "true" else 0)
        return reads[-1] - w.run_of(P1)["endedAt"], len(reads), max(gaps)

    lag_with, reads_with, widest_with = finish_lag_and_reads("true")
    _, reads_without, widest_without = finish_lag_and_reads("false")
    assert reads_with < reads_without * 0.75
    assert lag_with <= PROMPT  # the end is seen within a gap of the reads planned around it
    assert widest_with > 15.0  # sparse reads before the expected end...
    assert widest_without <= 15.0  # ...where the plain strategy reads every poll-interval


def test_with_history_the_schedule_places_the_first_status_read(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600, history=HISTORY)
    (result,) = world.run(single())
    assert result.status == Status.COMPLETED
    (listed,) = world.times("list")
    reads = world.times("status")
    triggered = world.run_of(P1)["createdAt"]
    assert listed == pytest.approx(triggered)  # the history read is the run's first read
    plan = plan_wait(History(tuple(HISTORY)), 15.0, 3600.0)
    # Not a quick read 2 s after the trigger: the plan places the first read, just before the
    # earliest end the history makes likely...
    assert reads[0] - triggered == pytest.approx(plan.next_read(listed - triggered), abs=1e-3)
    assert reads[0] - triggered > 2 * FLOOR
    # ...then it reads every few seconds where the run may end; all reads at least the floor apart.
    assert reads[-1] - world.run_of(P1)["endedAt"] <= PROMPT
    assert min(b - a for a, b in pairwise([listed, *reads])) >= FLOOR - 1e-6


def test_a_project_history_read_once_times_a_later_run_of_it_too(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600, history=HISTORY)
    results = world.run(pipeline([step("a", 1), step("b", 1)]))
    assert [r.status for r in results] == [Status.COMPLETED] * 2
    assert len(world.log("list")) == 1  # the history is cached per project
    second = max(world.runs(), key=lambda run: run["createdAt"])
    reads = [e["time"] for e in world.log("status") if e["path"].endswith(second["runId"])]
    assert reads[0] - second["createdAt"] > 2 * FLOOR  # planned from the history from the start
    assert reads[-1] - second["endedAt"] <= PROMPT


def test_the_history_read_asks_for_runs_of_any_status_and_counts_failures(world: World) -> None:
    # Two of the project's recent runs failed 20 s in: this run, which fails 21 s in, is seen at once.
    history: list[float | dict[str, Any]] = [
        600.0,
        {"durationSeconds": 20.0, "status": "ERRORED"},
        605.0,
        {"durationSeconds": 22.0, "status": "ERRORED"},
        595.0,
        610.0,
    ]
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=20, final_status="ERRORED", history=history)
    (result,) = world.run(single())
    assert result.status == Status.ERRORED
    (listed,) = world.log("list")
    assert "statusFilter" not in listed["query"]
    assert listed["query"]["runTriggerFilter"] == ["API"]
    reads = world.times("status")
    assert reads[-1] - world.run_of(P1)["endedAt"] <= PROMPT
    assert len(reads) <= 8


@pytest.mark.parametrize("timeout", ["45s", "590s", "700s"])
def test_with_history_no_status_read_comes_after_the_deadline(world: World, timeout: str) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=5000, history=HISTORY)
    (result,) = world.run(single(timeout=timeout, cancel_on_timeout="false"))
    assert result.status == Status.TIMED_OUT
    deadline = world.run_of(P1)["createdAt"] + float(timeout.removesuffix("s"))
    reads = world.times("status")
    assert reads
    assert max(reads) <= deadline + 1e-6
    assert all(b - a >= FLOOR - 1e-6 for a, b in pairwise(reads))


def test_a_run_that_outlasts_its_history_is_still_seen_to_end(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=1500, history=HISTORY)
    (result,) = world.run(single())
    assert result.status == Status.COMPLETED
    reads = world.times("status")
    assert reads[-1] - world.run_of(P1)["endedAt"] <= 15.0  # the plain backoff, up to poll-interval
    late = [b - a for a, b in pairwise(reads) if a - world.run_of(P1)["createdAt"] > 1000.0]
    assert late
    assert max(late) <= 15.0 * 1.1


def test_history_is_abandoned_when_the_list_call_fails(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600, history=HISTORY)
    world.sim.add_fault(Fault("GET", LIST_PATH, 500, count=100))
    (result,) = world.run(single())
    assert result.status == Status.COMPLETED
    (warning,) = world.observer.warnings
    assert warning.startswith("Run history unavailable")
    assert "500" in warning
    reads = world.times("status")
    gaps = [b - a for a, b in pairwise(reads)]
    assert max(gaps) <= 15.0  # the plain strategy: never longer than poll-interval
    assert len(world.log("list")) >= 2  # the 500 was retried, within the short budget for the history


# -- pipelines: order and parallelism --------------------------------------------------------


def test_written_order_runs_one_step_after_the_other(world: World) -> None:
    for n in (1, 2, 3):
        world.sim.configure_project(project(n), pending_seconds=1, running_seconds=30)
    results = world.run(pipeline([step("a", 1), step("b", 2), step("c", 3)]))
    assert [r.status for r in results] == ["COMPLETED"] * 3
    a, b, c = (world.run_of(project(n)) for n in (1, 2, 3))
    assert a["endedAt"] <= b["createdAt"]
    assert b["endedAt"] <= c["createdAt"]
    assert [r.start_order for r in results] == [1, 2, 3]


@pytest.mark.parametrize("max_parallel", [1, 2, 4])
def test_graph_runs_independent_steps_at_once_up_to_max_parallel(world: World, max_parallel: int) -> None:
    for n in range(1, 7):
        world.sim.configure_project(project(n), pending_seconds=1, running_seconds=60)
    steps = [step("root", 1)] + [step(f"s{n}", n, "root") for n in (2, 3, 4, 5)] + [step("last", 6, "s2", "s5")]
    results = world.run(pipeline(steps, max_parallel=str(max_parallel)))
    assert all(r.status == Status.COMPLETED for r in results)
    runs = {r["projectId"]: r for r in world.runs()}
    assert max_overlap(list(runs.values())) == max_parallel
    middle = [runs[project(n)] for n in (2, 3, 4, 5)]
    assert all(run["createdAt"] >= runs[project(1)]["endedAt"] for run in middle)
    assert runs[project(6)]["createdAt"] >= max(runs[project(n)]["endedAt"] for n in (2, 5))


def test_failed_step_skips_its_dependants(world: World) -> None:
    world.sim.configure_project(project(1), running_seconds=10, final_status="ERRORED")
    world.sim.configure_project(project(4), running_seconds=30)
    steps = [step("a", 1), step("b", 2, "a"), step("c", 3, "b"), step("d", 4)]
    results = by_name(world.run(pipeline(steps, fail_fast="false")))
    assert results["a"].status == Status.ERRORED
    assert results["b"].status == Status.SKIPPED
    assert results["b"].message == "Skipped because 'a' did not complete."
    assert results["c"].status == Status.SKIPPED
    assert results["c"].message == "Skipped because 'b' did not complete."
    assert results["d"].status == Status.COMPLETED
    assert {r["projectId"] for r in world.runs()} == {project(1), project(4)}


def test_fail_fast_cancels_runs_in_flight_and_skips_the_rest(world: World) -> None:
    world.sim.configure_project(project(1), running_seconds=10, final_status="ERRORED")
    world.sim.configure_project(project(2), running_seconds=600)
    steps = [step("a", 1), step("b", 2), step("c", 3), step("d", 4, "c")]
    results = by_name(world.run(pipeline(steps, max_parallel="2", fail_fast="true")))
    assert results["a"].status == Status.ERRORED
    assert results["b"].status == Status.CANCELLED
    assert results["b"].message is not None
    assert "step 'a' failed (fail-fast)" in results["b"].message
    assert "The run was cancelled." in results["b"].message
    assert world.run_of(project(2))["status"] == "KILLED"
    (delete,) = world.log("cancel")
    assert results["b"].run_id is not None
    assert delete["path"].endswith(results["b"].run_id)
    assert results["c"].status == Status.SKIPPED
    # Said as what happened to it: skipped, not "cancelled", though b's run was cancelled.
    assert results["c"].message == "Skipped because step 'a' failed (fail-fast)."
    assert results["d"].status == Status.SKIPPED
    assert {r["projectId"] for r in world.runs()} == {project(1), project(2)}  # c and d never started
    assert world.clock.now() - world.t0 < 60


def test_fail_fast_skips_steps_not_started_when_nothing_is_running(world: World) -> None:
    world.sim.configure_project(project(1), running_seconds=10, final_status="ERRORED")
    steps = [step("a", 1), step("b", 2), step("c", 3, "b")]
    results = by_name(world.run(pipeline(steps, max_parallel="1", fail_fast="true")))
    assert [results[n].status for n in "abc"] == ["ERRORED", "SKIPPED", "SKIPPED"]
    assert results["b"].message == "Skipped because an earlier step failed (fail-fast)."
    assert [r["projectId"] for r in world.runs()] == [project(1)]


def test_step_hex_refuses_to_start_is_not_started(world: World) -> None:
    world.sim.configure_project(project(1), published=False)
    # The project read fails, so only Hex's answer to the start says the project is not published.
    world.sim.add_fault(Fault(method="GET", path_regex=f"^/api/v1/projects/{project(1)}$", status=403))
    steps = [step("a", 1), step("b", 2), step("c", 3, "a")]
    results = by_name(world.run(pipeline(steps, fail_fast="false")))
    assert results["a"].status == Status.NOT_STARTED
    assert results["a"].run_id is None
    assert results["a"].message is not None
    assert results["a"].message.startswith("Hex did not start the run. Hex answered 422")
    assert "Project is not published" in results["a"].message
    assert results["b"].status == Status.COMPLETED
    assert results["c"].status == Status.SKIPPED
    assert len(world.log("start")) == 2  # a 422 is not retried


def test_without_fail_fast_independent_branches_finish(world: World) -> None:
    world.sim.configure_project(project(1), running_seconds=10, final_status="ERRORED")
    for n in (2, 4):
        world.sim.configure_project(project(n), running_seconds=100)
    steps = [step("a", 1), step("b", 2), step("c", 3, "a"), step("d", 4, "b")]
    results = by_name(world.run(pipeline(steps, fail_fast="false")))
    assert [results[n].status for n in "abcd"] == ["ERRORED", "COMPLETED", "SKIPPED", "COMPLETED"]
    assert world.log("cancel") == []


# -- pipelines: timeouts ---------------------------------------------------------------------


def test_pipeline_timeout_covers_the_whole_pipeline(world: World) -> None:
    for n in (1, 2, 3):
        world.sim.configure_project(project(n), pending_seconds=1, running_seconds=60)
    results = by_name(world.run(pipeline([step("a", 1), step("b", 2), step("c", 3)], timeout="100s")))
    assert results["a"].status == Status.COMPLETED
    assert results["b"].status == Status.TIMED_OUT
    assert results["c"].status == Status.SKIPPED
    assert results["c"].message is not None
    assert "timeout" in results["c"].message
    assert world.clock.now() == pytest.approx(world.t0 + 100)
    (delete,) = world.log("cancel")
    assert delete["time"] == pytest.approx(world.t0 + 100)
    assert world.run_of(project(2))["status"] == "KILLED"


def test_step_timeout_bounds_only_that_step(world: World) -> None:
    world.sim.configure_project(project(1), pending_seconds=1, running_seconds=600)
    for n in (2, 3):
        world.sim.configure_project(project(n), pending_seconds=1, running_seconds=40)
    steps = [step("a", 1, timeout="20s"), step("b", 2), step("c", 3, "b")]
    results = by_name(world.run(pipeline(steps, fail_fast="false")))
    assert results["a"].status == Status.TIMED_OUT
    assert results["a"].message is not None
    assert "Gave up waiting after 20s" in results["a"].message
    (delete,) = world.log("cancel")
    assert delete["time"] == pytest.approx(world.run_of(project(1))["createdAt"] + 20)
    assert results["b"].status == Status.COMPLETED
    assert results["c"].status == Status.COMPLETED
    assert world.clock.now() - world.t0 > 80  # b and c ran on long after a's timeout


# -- pipelines: Hex's rate limits ------------------------------------------------------------


def test_run_starts_are_paced_under_twenty_a_minute(world: World) -> None:
    for n in range(1, 26):
        world.sim.configure_project(project(n), pending_seconds=1, running_seconds=300)
    steps = [step(f"s{n}", n) for n in range(1, 25)] + [step("s25", 25, "s1")]
    results = world.run(pipeline(steps, max_parallel="25"))
    assert all(r.status == Status.COMPLETED for r in results)
    assert all(entry["status"] != 429 for entry in world.log())
    starts = world.times("start")
    assert len(starts) == 25
    assert max_in_window(starts) <= 19  # Hex allows 20; one is kept spare
    assert max_in_window(starts, 5.0) <= 5  # no stampede
    assert starts[19] - starts[0] >= 60.0  # the 20th start waited for the minute to pass
    assert starts[23] - starts[0] < 90.0  # ...but not much longer
    # While the next start waited, the runs already started were still watched.
    assert any(starts[18] < t < starts[19] for t in world.times("status"))


def test_start_429_retry_after_is_honoured(world: World) -> None:
    world.sim.add_fault(Fault("POST", LIST_PATH, 429, retry_after=30))
    steps = [step("a", 1), step("b", 2), step("c", 3, "a")]
    results = world.run(pipeline(steps))
    assert all(r.status == Status.COMPLETED for r in results)
    starts = world.log("start")
    assert starts[0]["status"] == 429
    assert [e["status"] for e in starts[1:]] == [201, 201, 201]
    assert all(e["time"] >= starts[0]["time"] + 30 for e in starts[1:])


def test_concurrent_runs_share_the_read_budget(world: World) -> None:
    for n in range(1, 9):
        world.sim.configure_project(project(n), pending_seconds=1, running_seconds=120, history=[120.0, 121.0])
    steps = [step(f"s{n}", n) for n in range(1, 8)] + [step("s8", 8, "s1")]
    results = world.run(pipeline(steps, max_parallel="8"))
    assert all(r.status == Status.COMPLETED for r in results)
    reads = [e for e in world.log() if e["method"] == "GET"]
    assert all(e["status"] != 429 for e in reads)
    assert max_in_window([e["time"] for e in reads]) <= 30
    assert max_in_window([e["time"] for e in reads]) >= 25  # the budget was the constraint, and was used


def test_a_spent_read_budget_does_not_end_steps_before_their_timeout(world: World) -> None:
    # Ten runs at once spend the 30 reads a minute within seconds; each step may wait 40 s.
    for n in range(1, 11):
        world.sim.configure_project(project(n), pending_seconds=1, running_seconds=600)
    steps = [step(f"s{n}", n, timeout="40s") for n in range(1, 10)] + [step("s10", 10, "s1", timeout="40s")]
    results = world.run(pipeline(steps, max_parallel="10", fail_fast="false", use_run_history="false"))
    first_nine = results[:9]
    assert [r.status for r in first_nine] == [Status.TIMED_OUT] * 9
    for result in first_nine:
        assert result.message is not None
        assert "Gave up waiting after 40s" in result.message
    deletes = {e["path"].rsplit("/", 1)[1]: e["time"] for e in world.log("cancel")}
    for run in world.runs():
        assert deletes[run["runId"]] == pytest.approx(run["createdAt"] + 40, abs=1.0)  # on time, not early or late
    assert all(e["status"] != 429 for e in world.log())


# -- a start whose answer is lost ----------------------------------------------------------------


class LosingAdapter(SimulatorAdapter):
    """Lets the simulator handle the first POST (so Hex creates the run), then loses the answer."""

    def __init__(self, sim: HexSimulator, failure: str) -> None:
        super().__init__(sim)
        self.failure = failure
        self.lost = 0

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().send(request, *args, **kwargs)
        if request.method == "POST" and not self.lost:
            self.lost += 1
            if self.failure == "timeout":
                raise requests.ReadTimeout("read timed out")
            response.status_code = 500
            response._content = b'{"message": "Internal error", "traceId": "t-500"}'
        return response


def run_losing(world: World, settings: Settings, failure: str) -> list[StepResult]:
    session = requests.Session()
    session.mount(HEX, LosingAdapter(world.sim, failure))
    client = HexClient(settings.api_base_url, settings.api_token, world.clock, wake=world.cancel.event, session=session)
    world.engine = Engine(settings, client, world.clock, world.cancel, world.observer, rng=random.Random(0))
    return world.engine.run()


@pytest.mark.parametrize("failure", ["timeout", "500"])
def test_a_run_whose_start_answer_was_lost_is_found_and_followed(world: World, failure: str) -> None:
    world.sim.configure_project(P1, pending_seconds=5, running_seconds=20)
    (result,) = run_losing(world, single(use_run_history="false"), failure)
    (run,) = world.runs()
    assert len(world.log("start")) == 1, "the start is never retried after its answer was lost"
    (lookup,) = world.log("list")
    assert "statusFilter" not in lookup["query"], "the lookup sees runs of every status"
    assert result.run_id == run["runId"]
    assert result.status == Status.COMPLETED
    assert any("answer to the start request was lost" in w for w in world.observer.warnings)


def test_a_lost_start_that_created_no_run_is_not_started(world: World) -> None:
    world.sim.add_fault(Fault("POST", r"/runs$", 500, body={"message": "boom"}))
    (result,) = world.run(single(use_run_history="false"))
    assert world.runs() == []
    assert result.status == Status.NOT_STARTED
    assert result.message is not None
    assert "Hex did not start one" in result.message
    assert len(world.log("start")) == 1


def test_a_lost_start_among_other_new_runs_touches_none(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=30, running_seconds=60)
    settings = single(use_run_history="false")
    other = simulated_session(world.sim, HEX).post(
        f"{HEX}/api/v1/projects/{P1}/runs", json={}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert other.status_code == 201, "another workflow starts the same project"
    (result,) = run_losing(world, settings, "500")
    assert len(world.runs()) == 2
    assert result.status == Status.UNKNOWN, "Hex may have started one: not a guess that it did not"
    assert result.message is not None
    assert "2 recent runs of the project could be it" in result.message
    assert world.log("cancel") == [], "a run that may be someone else's is never cancelled"


# -- every ending tells the truth, and leaves no run behind ---------------------------------------


class Exploding(Recorder):
    """An observer that fails when the run is first seen RUNNING (an unexpected error in the action)."""

    def status_changed(self, result: StepResult, previous: str, waited: float) -> None:
        super().status_changed(result, previous, waited)
        if result.status == "RUNNING":
            raise RuntimeError("boom")


def test_an_unexpected_error_cancels_the_runs_in_flight(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600)
    world.observer = Exploding()
    with pytest.raises(RuntimeError, match="boom"):
        world.run(single(use_run_history="false"))
    (delete,) = world.log("cancel")
    assert delete["status"] == 204
    assert world.runs()[0]["status"] == "KILLED"
    assert world.engine is not None
    (result,) = world.engine.results.values()
    assert result.status == Status.CANCELLED
    assert result.message is not None
    assert "internal error" in result.message


def test_a_run_that_ends_just_before_the_timeout_is_reported_as_it_ended(world: World) -> None:
    # Reads at 2, 4, 6 and 9 s see RUNNING; the run ends at 9.5 s; the next read would be at 13.5 s.
    world.sim.configure_project(P1, pending_seconds=0, running_seconds=9.5)
    (result,) = world.run(single(timeout="10s", use_run_history="false"))
    assert result.status == Status.COMPLETED, result.message
    assert world.log("cancel") == [], "a run that completed is not cancelled"
    assert world.times("status")[-1] == pytest.approx(world.t0 + 10), "one last look at the deadline"


def test_passing_read_failures_do_not_end_the_wait(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=120)
    world.sim.add_fault(Fault("GET", STATUS_PATH, 502, count=8))  # more than the client's retries
    (result,) = world.run(single(use_run_history="false"))
    assert result.status == Status.COMPLETED
    assert world.log("cancel") == []
    assert sum("are failing, still waiting" in w for w in world.observer.warnings) == 1


def test_a_run_id_hex_does_not_know_is_unknown_and_not_cancelled(world: World) -> None:
    (result,) = world.run(single(run_id="0b9a3c52-6f1e-4a8d-9c7b-2e5f8d1a4b63"))
    assert result.status == Status.UNKNOWN
    assert result.message is not None
    assert "nothing was cancelled" in result.message
    assert world.log("cancel") == []
    assert world.log("start") == []


@pytest.mark.parametrize(("cancel_on_timeout", "deletes"), [("true", 1), ("false", 0)])
def test_unreadable_status_is_unknown_and_cancelled_as_on_timeout(
    world: World, cancel_on_timeout: str, deletes: int
) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600)
    world.sim.add_fault(Fault("GET", STATUS_PATH, 403, count=1000))  # not a passing lag
    (result,) = world.run(single(use_run_history="false", cancel_on_timeout=cancel_on_timeout))
    assert result.status == Status.UNKNOWN
    assert result.message is not None
    assert result.message.startswith("Could not read the run's status: Hex answered 403")
    assert len(world.log("cancel")) == deletes


def test_wait_false_never_cancels_a_run_whose_status_it_cannot_read(world: World) -> None:
    world.sim.add_fault(Fault("GET", STATUS_PATH, 403, count=1000))  # not a passing lag
    (result,) = world.run(single(wait="false"))
    assert result.status == Status.UNKNOWN
    assert result.run_id is not None
    assert world.log("cancel") == []


def test_a_cancel_refused_because_the_run_had_ended_reports_the_end(world: World) -> None:
    # The run completes at 31 s; the cancel comes at 31.5 s, before any read has seen the end.
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=30)
    world.clock.at(world.t0 + 31.5, lambda: world.cancel.request("SIGTERM"))
    (result,) = world.run(single(use_run_history="false"))
    (delete,) = world.log("cancel")
    assert delete["status"] == 422, "Hex refuses to cancel a run that has ended"
    assert result.status == Status.COMPLETED, result.message
    assert world.runs()[0]["status"] == "COMPLETED"


class FailingOn(Recorder):
    """An observer that raises the first time a given event happens (an internal error there)."""

    def __init__(self, event: str, status: str = "") -> None:
        super().__init__()
        self.event, self.status, self.failed = event, status, False

    def _maybe_fail(self, event: str, result: StepResult) -> None:
        if not self.failed and event == self.event and (not self.status or result.status == self.status):
            self.failed = True
            raise OSError("disk full")

    def run_started(self, result: StepResult) -> None:
        super().run_started(result)
        self._maybe_fail("run_started", result)

    def step_finished(self, result: StepResult) -> None:
        super().step_finished(result)
        self._maybe_fail("step_finished", result)


def test_an_error_as_a_run_starts_still_cancels_it(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=600)
    world.observer = FailingOn("run_started")
    with pytest.raises(OSError, match="disk full"):
        world.run(single(use_run_history="false"))
    assert world.runs()[0]["status"] == "KILLED"


def test_an_error_while_cancelling_still_cancels_the_other_runs(world: World) -> None:
    for n in (1, 2):
        world.sim.configure_project(project(n), pending_seconds=1, running_seconds=600)
    world.sim.configure_project(project(3), pending_seconds=0, running_seconds=5, final_status="ERRORED")
    # c fails, fail-fast cancels a and b, and reporting the first cancel fails.
    world.observer = FailingOn("step_finished", status="CANCELLED")
    with pytest.raises(OSError, match="disk full"):
        # A graph (d needs c), so a, b and c run at once.
        world.run(pipeline([step("a", 1), step("b", 2), step("c", 3), step("d", 4, "c")], use_run_history="false"))
    statuses = {run["projectId"]: run["status"] for run in world.runs()}
    assert statuses == {project(1): "KILLED", project(2): "KILLED", project(3): "ERRORED"}


def test_runs_timing_out_together_are_cancelled_together(world: World) -> None:
    for n in range(1, 6):
        world.sim.configure_project(project(n), pending_seconds=1, running_seconds=600)
    steps = [step(f"s{n}", n) for n in range(1, 5)] + [step("s5", 5, "s1")]
    world.run(pipeline(steps, max_parallel="5", timeout="90s", use_run_history="false"))
    deletes = world.times("cancel")
    assert len(deletes) == 4
    assert max(deletes) - min(deletes) < 1.0, "one round of cancels, not one after another"


def test_a_start_turned_away_does_not_stop_the_watch_on_runs_in_flight(world: World) -> None:
    world.sim.configure_project(project(1), pending_seconds=1, running_seconds=600)
    world.sim.configure_project(project(2), pending_seconds=1, running_seconds=30)
    world.sim.add_fault(Fault("POST", LIST_PATH, 503, count=12))
    steps = [step("a", 1, timeout="2m"), step("b", 2), step("c", 2, "a")]
    # b's project has no kernel free for a while; a must still be read and time out at 2 minutes.
    results = by_name(world.run(pipeline(steps, use_run_history="false", fail_fast="false")))
    assert results["a"].status == Status.TIMED_OUT
    a_run = world.run_of(project(1))
    (delete,) = [e for e in world.log("cancel") if a_run["runId"] in e["path"]]
    assert delete["time"] == pytest.approx(a_run["createdAt"] + 120, abs=1.0)
    a_reads = [e["time"] for e in world.log("status") if a_run["runId"] in e["path"]]
    assert max(b - a for a, b in pairwise(a_reads)) <= 15.0 * 1.1, "a is read while b's start waits"
    assert results["b"].status == Status.COMPLETED


def test_a_cancel_before_a_start_is_sent_looks_up_nothing(world: World) -> None:
    world.sim.configure_project(project(1), pending_seconds=0, running_seconds=5, final_status="ERRORED")
    world.sim.configure_project(project(2), pending_seconds=1, running_seconds=60)

    class CancelOnFailure(Recorder):
        def step_finished(self, result: StepResult) -> None:
            super().step_finished(result)
            if result.status == "ERRORED":
                world.cancel.request("SIGTERM")  # arrives just before b's start would be sent

    world.observer = CancelOnFailure()
    results = by_name(world.run(pipeline([step("a", 1), step("b", 2, "a")], use_run_history="false")))
    assert results["b"].status in (Status.CANCELLED, Status.SKIPPED)
    assert world.log("list") == [], "no lookup for a start that was never sent"
    assert [r["projectId"] for r in world.runs()] == [project(1)]


# -- project reads (names, publish state) ------------------------------------------------------


def test_each_project_is_read_once_before_its_first_run(world: World) -> None:
    world.sim.configure_project(project(1), title="Extract orders")
    world.sim.configure_project(project(2), title="Load warehouse")
    steps = [step("a", 1), step("b", 2), step("c", 1)]
    results = by_name(world.run(pipeline(steps)))
    log = world.log()
    assert [request_kind(e) for e in log].count("project") == 2
    for n in (1, 2):
        read = next(i for i, e in enumerate(log) if e["path"] == f"/api/v1/projects/{project(n)}")
        start = next(i for i, e in enumerate(log) if e["path"] == f"/api/v1/projects/{project(n)}/runs")
        assert read < start
    assert [results[n].project_name for n in "abc"] == ["Extract orders", "Load warehouse", "Extract orders"]
    assert [results[n].label for n in "abc"] == ["Extract orders", "Load warehouse", "Extract orders"]


@pytest.mark.parametrize(
    ("shape", "words"),
    [
        ({"published": False}, "has never been published"),
        ({"archived": True}, "is archived in Hex"),
        ({"trashed": True}, "is in Hex's trash"),
    ],
)
def test_a_project_hex_cannot_run_is_refused_before_its_run_starts(
    world: World, shape: dict[str, Any], words: str
) -> None:
    world.sim.configure_project(project(2), title="Publish dashboards", **shape)
    steps = [step("a", 1), step("b", 2, "a"), step("c", 3, "b")]
    results = by_name(world.run(pipeline(steps)))
    assert [e["path"] for e in world.log("start")] == [f"/api/v1/projects/{project(1)}/runs"]
    assert results["a"].status == Status.COMPLETED
    assert results["b"].status == Status.NOT_STARTED
    message = results["b"].message or ""
    assert message.startswith(f"Project 'Publish dashboards' ({project(2)}) ")
    assert words in message
    assert results["c"].status == Status.SKIPPED


@pytest.mark.parametrize("status", [403, 404, 500])
def test_a_failed_project_read_never_blocks_the_run(world: World, status: int) -> None:
    world.sim.add_fault(Fault(method="GET", path_regex=f"^/api/v1/projects/{P1}$", status=status, count=10))
    (result,) = world.run(single())
    assert result.status == Status.COMPLETED
    assert result.project_name is None
    assert result.label == P1
    said = f"Could not read project {P1} from Hex, so ids stand for names: "
    # A 404 (like a 401) is left for the start to report, as an error; the others are warned of once.
    warned = [w for w in world.observer.warnings if w.startswith(said)]
    assert len(warned) == (0 if status == 404 else 1)
    assert any(d.startswith(said) for d in world.observer.debugs) is (status == 404)
    assert world.clock.now() - world.t0 < 30, "the read is given up within seconds"


def test_an_existing_run_is_named_but_not_refused(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=3, title="Nightly")
    answer = world.sim.handle("POST", f"/api/v1/projects/{P1}/runs", "", {"Authorization": f"Bearer {TOKEN}"}, b"")
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=3, title="Nightly", archived=True)
    (result,) = world.run(single(run_id=answer.json()["runId"]))
    assert (result.status, result.project_name) == (Status.COMPLETED, "Nightly")


def test_phases_come_from_hex_state_events(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=5, running_seconds=20)
    (result,) = world.run(single())
    (run,) = world.runs()
    assert result.phases_from_hex
    assert [status for status, _ in result.phases] == ["PENDING", "RUNNING", "COMPLETED"]
    assert [round(t, 3) for _, t in result.phases] == [
        round(run["createdAt"], 3),
        round(run["startedAt"], 3),
        round(run["endedAt"], 3),
    ]
    assert result.ended_at is not None
    assert result.ended_at >= run["endedAt"]


def test_a_project_read_never_delays_a_start_its_name_comes_after_the_runs(world: World) -> None:
    # Eight independent steps start within seconds: the read budget (6 in 12 s) has no room for
    # every project read before its start, so those runs start unnamed and are named at the end.
    for n in range(1, 10):
        world.sim.configure_project(project(n), title=f"Project {n}", running_seconds=30)
    steps = [step("root", 9)] + [step(f"s{n}", n, "root") for n in range(1, 9)]
    results = world.run(pipeline(steps, max_parallel="8"))[1:]
    log = world.log()
    starts = [e["time"] for e in log if request_kind(e) == "start"][1:]
    assert max(starts) - min(starts) <= 5.0 + 1e-6, "only the start limit (5 in 5 s) spaced the starts"
    reads = [e for e in log if request_kind(e) == "project"]
    assert len(reads) == 9, "each project read once"
    late = [e for e in reads if e["time"] > max(starts)]
    assert late, "some names were read after the runs"
    assert [r.project_name for r in results] == [f"Project {n}" for n in range(1, 9)]
    assert all(r.status == Status.COMPLETED for r in results)


def test_steps_that_never_ran_are_named_at_the_end(world: World) -> None:
    world.sim.configure_project(project(1), title="Load", final_status="ERRORED")
    world.sim.configure_project(project(2), title="Report")
    results = by_name(world.run(pipeline([step("a", 1), step("b", 2)])))
    assert results["b"].status == Status.SKIPPED
    assert results["b"].project_name == "Report"
    assert [request_kind(e) for e in world.log()][-1] == "project"
    assert not world.log("start")[1:], "only the first step started"
