"""End to end: the real `entrypoint.py` as a process, runs a pipeline against the simulator.

The action gets the environment the GitHub runner gives a Docker action (tests/runner_env.py):
every input of action.yml as `INPUT_<NAME>` with its hyphens kept (empty when the workflow
leaves it unset), `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_WORKSPACE` and
`GITHUB_ACTIONS=true`; its GITHUB_OUTPUT is read with the runner's parser (tests/runner_parser.py).
The simulator (real clock, 127.0.0.1) records when each run was created, ended and
cancelled, and every request with its time, so ordering and overlap are checked on the
simulator's side, not from the action's own account.

Runs are kept short (0 to 1 s PENDING, 1 to 3 s RUNNING): each test takes a few seconds.
"""

from __future__ import annotations

import itertools
import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
import yaml
from runner_env import inherited_env, input_env
from runner_parser import output_pairs

if TYPE_CHECKING:
    from hex_action.simulator import SimServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "entrypoint.py"
#: Upper bound for one action process; every pipeline here needs well under 20 s.
PROCESS_TIMEOUT = 60.0
#: The interpreter flags of the image's ENTRYPOINT (Dockerfile).
PYTHON_FLAGS = ("-E", "-s", "-u")


def pid(n: int) -> str:
    """A fixed project id (UUIDv7-shaped, as Hex's are today)."""
    return f"019a3000-0000-7000-8000-{n:012d}"


# ----------------------------------------------------------------------------- helpers


class Sim:
    """The simulator as another process would see it: its HTTP admin endpoints only."""

    def __init__(self, server: SimServer) -> None:
        self.url = server.url
        self.token = server.token

    def project(self, project_id: str, **spec: Any) -> None:
        """POST /_sim/projects/{id}: durations in seconds, finalStatus, …"""
        response = requests.post(f"{self.url}/_sim/projects/{project_id}", json=spec, timeout=5)
        assert response.status_code == 200, response.text

    def runs(self) -> list[dict[str, Any]]:
        """Runs created by the action (seeded history left out), oldest first."""
        response = requests.get(f"{self.url}/_sim/runs", timeout=5)
        response.raise_for_status()
        return [run for run in response.json() if not run["seeded"]]

    def run_of(self, project_id: str) -> dict[str, Any]:
        """The one run of a project."""
        found = [run for run in self.runs() if run["projectId"] == project_id]
        assert len(found) == 1, found
        return found[0]

    def api_requests(self) -> list[dict[str, Any]]:
        """Every API request (admin calls excluded), with its time."""
        response = requests.get(f"{self.url}/_sim/requests", timeout=5)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def deletes(self) -> list[dict[str, Any]]:
        """The CancelRun requests."""
        return [r for r in self.api_requests() if r["method"] == "DELETE"]

    def terminal_read_time(self, run: dict[str, Any]) -> float:
        """When the action first read the run's final status (the first GET after it ended)."""
        path = f"/api/v1/projects/{run['projectId']}/runs/{run['runId']}"
        reads = [r["time"] for r in self.api_requests() if r["method"] == "GET" and r["path"] == path]
        return float(min(t for t in reads if t >= run["endedAt"]))


@pytest.fixture
def sim(sim_server: SimServer) -> Sim:
    return Sim(sim_server)


@dataclass
class ActionRun:
    """What one execution of the action left behind."""

    code: int
    log: str
    outputs: dict[str, str]
    #: Every value written to `results`, in the order written (it is rewritten per step).
    results_history: list[list[dict[str, Any]]]
    summary: str
    wall_seconds: float

    @property
    def results(self) -> list[dict[str, Any]]:
        return json.loads(self.outputs["results"])  # type: ignore[no-any-return]

    def by_name(self) -> dict[str, dict[str, Any]]:
        return {entry["name"]: entry for entry in self.results}

    def errors(self) -> list[str]:
        return [line for line in self.log.splitlines() if line.startswith("::error")]


class Action:
    """Runs entrypoint.py with a runner-style environment against one simulator."""

    def __init__(self, sim: Sim, tmp_path: Path) -> None:
        self.sim = sim
        self.tmp = tmp_path
        self.workspace = tmp_path / "workspace"
        self.workspace.mkdir()
        self.output = tmp_path / "github_output"
        self.summary = tmp_path / "step_summary"
        self.output.touch()
        self.summary.touch()

    def env(self, inputs: dict[str, str]) -> dict[str, str]:
        # As the runner does for a Docker action: every declared input, hyphens kept, empty when unset.
        values = {"api-token": self.sim.token, "hex-url": self.sim.url, "timeout": "60s", **inputs}
        return (
            inherited_env()
            | input_env(values, unset="empty")
            | {
                "GITHUB_ACTIONS": "true",
                "GITHUB_OUTPUT": str(self.output),
                "GITHUB_STEP_SUMMARY": str(self.summary),
                "GITHUB_WORKSPACE": str(self.workspace),
            }
        )

    def start(self, inputs: dict[str, str]) -> subprocess.Popen[str]:
        # cwd is not the workspace: a pipeline-file must be found through GITHUB_WORKSPACE.
        return subprocess.Popen(
            [sys.executable, *PYTHON_FLAGS, str(ENTRYPOINT)],
            env=self.env(inputs),
            cwd=self.tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def finish(self, process: subprocess.Popen[str], started: float) -> ActionRun:
        log, _ = process.communicate(timeout=PROCESS_TIMEOUT)
        wall = time.monotonic() - started
        entries = list(output_pairs(self.output.read_text(encoding="utf-8")))
        outputs = dict(entries)
        history = [json.loads(value) for name, value in entries if name == "results"]
        return ActionRun(
            code=process.returncode,
            log=log,
            outputs=outputs,
            results_history=history,
            summary=self.summary.read_text(encoding="utf-8"),
            wall_seconds=wall,
        )

    def run(self, inputs: dict[str, str]) -> ActionRun:
        started = time.monotonic()
        return self.finish(self.start(inputs), started)


@pytest.fixture
def action(sim: Sim, tmp_path: Path) -> Action:
    return Action(sim, tmp_path)


def pipeline_text(steps: Any) -> str:
    return yaml.safe_dump(steps, sort_keys=False)


def join_graph(sim: Sim, first: str, second: str, join: str) -> str:
    """A graph pipeline: `first` (pid 1) and `second` (pid 2), 3 s each and independent, then `join`
    (pid 3, 1 s) needing both."""
    sim.project(pid(1), pendingSeconds=0, runningSeconds=3)
    sim.project(pid(2), pendingSeconds=0, runningSeconds=3)
    sim.project(pid(3), pendingSeconds=0, runningSeconds=1)
    steps = [
        {"name": first, "project-id": pid(1)},
        {"name": second, "project-id": pid(2)},
        {"name": join, "project-id": pid(3), "needs": [first, second]},
    ]
    return pipeline_text(steps)


def report(label: str, text: str) -> None:
    """Print a measured figure so `pytest -s` (and the log on failure) shows it."""
    sys.stdout.write(f"\n[e2e timing] {label}: {text}\n")


def assert_entry(entry: dict[str, Any], run: dict[str, Any] | None, status: str) -> None:
    """One `results` entry: its status, and its run as the simulator knows it."""
    assert entry["status"] == status, entry
    if run is None:
        assert entry["run-id"] is None, entry
        assert entry["run-url"] is None, entry
        return
    assert entry["run-id"] == run["runId"]
    assert entry["project-id"] == run["projectId"]
    assert entry["run-url"].endswith(f"/runs/{run['runId']}")


# ------------------------------------------------------------------------------ sequence


def test_sequence_runs_steps_one_after_another(sim: Sim, action: Action) -> None:
    ids = [pid(1), pid(2), pid(3)]
    for project_id in ids:
        sim.project(project_id, pendingSeconds=0, runningSeconds=1)
    steps = [{"name": name, "project-id": i} for name, i in zip(["load", "model", "publish"], ids, strict=True)]

    result = action.run({"pipeline": pipeline_text(steps)})

    assert result.code == 0, result.log
    assert result.outputs["status"] == "COMPLETED"
    runs = [sim.run_of(i) for i in ids]
    for before, after in itertools.pairwise(runs):
        assert before["endedAt"] is not None
        assert after["createdAt"] > before["endedAt"], (before, after)
        # …and only once the action had seen the previous step complete.
        assert after["createdAt"] >= sim.terminal_read_time(before)
    assert [e["name"] for e in result.results] == ["load", "model", "publish"]
    for entry, run in zip(result.results, runs, strict=True):
        assert_entry(entry, run, "COMPLETED")
        assert entry["elapsed-seconds"] == pytest.approx(1.0, abs=0.05)
        assert run["status"] == "COMPLETED"
    assert not sim.deletes()
    # `results` is rewritten as each step finishes: the first write knows only `load`.
    assert len(result.results_history) >= 3
    assert [e["status"] for e in result.results_history[0]] == ["COMPLETED", None, None]
    assert [e["status"] for e in result.results_history[1]] == ["COMPLETED", "COMPLETED", None]
    for name in ("load", "model", "publish"):
        assert f"| {name} |" in result.summary
    assert "Hex pipeline of 3 steps: COMPLETED" in result.summary
    assert not result.errors()


def test_failure_in_a_sequence_skips_later_steps(sim: Sim, action: Action) -> None:
    sim.project(pid(1), pendingSeconds=0, runningSeconds=1)
    sim.project(pid(2), pendingSeconds=0, runningSeconds=1, finalStatus="ERRORED")
    sim.project(pid(3), pendingSeconds=0, runningSeconds=1)
    sim.project(pid(4), pendingSeconds=0, runningSeconds=1)
    steps = [{"name": f"s{n}", "project-id": pid(n)} for n in (1, 2, 3, 4)]

    result = action.run({"pipeline": pipeline_text(steps)})

    assert result.code == 1, result.log
    assert result.outputs["status"] == "ERRORED"
    entries = result.by_name()
    assert_entry(entries["s1"], sim.run_of(pid(1)), "COMPLETED")
    assert_entry(entries["s2"], sim.run_of(pid(2)), "ERRORED")
    assert_entry(entries["s3"], None, "SKIPPED")
    assert_entry(entries["s4"], None, "SKIPPED")
    assert [e["name"] for e in result.results] == ["s1", "s2", "s3", "s4"]
    # Nothing was started after the failure.
    assert {run["projectId"] for run in sim.runs()} == {pid(1), pid(2)}
    # Only their names were read, at the end, for the summary.
    later = [r for r in sim.api_requests() if pid(3) in r["path"] or pid(4) in r["path"]]
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in later] == [("GET", pid(3)), ("GET", pid(4))]
    assert any("s2" in line and "ERRORED" in line for line in result.errors()), result.log
    assert "Hex pipeline of 4 steps: ERRORED" in result.summary


# --------------------------------------------------------------------------------- graph


def test_graph_overlaps_independent_steps_and_waits_for_needs(sim: Sim, action: Action) -> None:
    pipeline = join_graph(sim, "orders", "customers", "join")

    result = action.run({"pipeline": pipeline})

    assert result.code == 0, result.log
    assert result.outputs["status"] == "COMPLETED"
    orders, customers, join = sim.run_of(pid(1)), sim.run_of(pid(2)), sim.run_of(pid(3))
    # The two independent runs were in flight together (run times)…
    assert max(orders["createdAt"], customers["createdAt"]) < min(orders["endedAt"], customers["endedAt"])
    # …and both were started before the action read either status (request times).
    log = sim.api_requests()
    posts = [r["time"] for r in log if r["method"] == "POST"]
    status_reads = [r["time"] for r in log if r["method"] == "GET" and "/runs/" in r["path"]]
    assert sorted(posts)[1] < min(status_reads)
    # The step with needs started only after both had ended.
    assert join["createdAt"] > max(orders["endedAt"], customers["endedAt"])
    assert join["createdAt"] >= max(sim.terminal_read_time(orders), sim.terminal_read_time(customers))
    for name, run in (("orders", orders), ("customers", customers), ("join", join)):
        assert_entry(result.by_name()[name], run, "COMPLETED")

    runs = (orders, customers, join)
    hex_sum = sum(run["endedAt"] - run["createdAt"] for run in runs)
    observed_sum = sum(sim.terminal_read_time(run) - run["createdAt"] for run in runs)
    first, last = min(r["createdAt"] for r in runs), max(sim.terminal_read_time(r) for r in runs)
    report(
        "graph orders+customers -> join (3s, 3s, 1s)",
        f"process wall {result.wall_seconds:.2f}s, first start to last result {last - first:.2f}s, "
        f"pipeline elapsed-seconds output {result.outputs['elapsed-seconds']}s; "
        f"sum of Hex run durations {hex_sum:.2f}s, sum of step durations as observed "
        f"(start to final status read) {observed_sum:.2f}s",
    )
    assert last - first < observed_sum


def run_fail_fast_graph(sim: Sim, action: Action, fail_fast: str) -> tuple[ActionRun, dict[str, dict[str, Any]]]:
    """`slow` (written first) and `broken` start together; `broken` fails after 1 s; `after` needs `slow`."""
    sim.project(pid(1), pendingSeconds=1, runningSeconds=3)
    sim.project(pid(2), pendingSeconds=0, runningSeconds=1, finalStatus="ERRORED")
    sim.project(pid(3), pendingSeconds=0, runningSeconds=1)
    steps = [
        {"name": "slow", "project-id": pid(1)},
        {"name": "broken", "project-id": pid(2)},
        {"name": "after", "project-id": pid(3), "needs": "slow"},
    ]
    result = action.run({"pipeline": pipeline_text(steps), "fail-fast": fail_fast})
    return result, result.by_name()


def test_fail_fast_cancels_the_branch_still_running(sim: Sim, action: Action) -> None:
    result, entries = run_fail_fast_graph(sim, action, "true")

    assert result.code == 1, result.log
    slow, broken = sim.run_of(pid(1)), sim.run_of(pid(2))
    # The running branch was cancelled at Hex, once the failure was seen and before it would have ended.
    deletes = sim.deletes()
    assert [d["path"] for d in deletes] == [f"/api/v1/projects/{pid(1)}/runs/{slow['runId']}"]
    assert deletes[0]["status"] == 204
    assert slow["cancelledAt"] is not None
    assert slow["status"] == "KILLED"
    assert sim.terminal_read_time(broken) <= deletes[0]["time"] < slow["createdAt"] + 4
    assert_entry(entries["slow"], slow, "CANCELLED")
    assert_entry(entries["broken"], broken, "ERRORED")
    assert_entry(entries["after"], None, "SKIPPED")
    assert pid(3) not in {run["projectId"] for run in sim.runs()}
    # The pipeline's status is the failure that ended it, not the cancel it caused.
    assert result.outputs["status"] == "ERRORED"


def test_without_fail_fast_the_independent_branch_completes(sim: Sim, action: Action) -> None:
    result, entries = run_fail_fast_graph(sim, action, "false")

    assert result.code == 1, result.log
    assert result.outputs["status"] == "ERRORED"
    assert not sim.deletes()
    assert_entry(entries["slow"], sim.run_of(pid(1)), "COMPLETED")
    assert_entry(entries["broken"], sim.run_of(pid(2)), "ERRORED")
    after = sim.run_of(pid(3))
    assert_entry(entries["after"], after, "COMPLETED")
    assert after["createdAt"] > sim.run_of(pid(1))["endedAt"]


# -------------------------------------------------------------------------------- signals


def test_sigterm_cancels_every_run_in_flight(sim: Sim, action: Action) -> None:
    pipeline = join_graph(sim, "a", "b", "c")
    started = time.monotonic()
    process = action.start({"pipeline": pipeline})
    try:
        deadline = time.monotonic() + 10
        while len(sim.runs()) < 2:
            assert process.poll() is None, "the action ended before both runs started"
            assert time.monotonic() < deadline, "both runs did not start within 10 s"
            time.sleep(0.05)
        signalled = time.time()
        process.send_signal(signal.SIGTERM)
        result = action.finish(process, started)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert result.code != 0, result.log
    runs = {run["projectId"]: run for run in sim.runs()}
    assert set(runs) == {pid(1), pid(2)}
    deletes = sim.deletes()
    assert sorted(d["path"] for d in deletes) == sorted(
        f"/api/v1/projects/{p}/runs/{runs[p]['runId']}" for p in (pid(1), pid(2))
    )
    for delete in deletes:
        assert delete["status"] == 204
        assert delete["time"] - signalled < 2.0, delete["time"] - signalled
    for p in (pid(1), pid(2)):
        assert runs[p]["status"] == "KILLED"
    report("SIGTERM to DELETE", ", ".join(f"{d['time'] - signalled:.3f}s" for d in deletes))
    entries = result.by_name()
    assert [e["name"] for e in result.results] == ["a", "b", "c"]
    assert_entry(entries["a"], runs[pid(1)], "CANCELLED")
    assert_entry(entries["b"], runs[pid(2)], "CANCELLED")
    # A cancelled action cancels the steps not started yet too (they were not skipped by a failure).
    assert_entry(entries["c"], None, "CANCELLED")
    assert result.outputs["status"] == "CANCELLED"
    assert "SIGTERM" in result.log


# ---------------------------------------------------------------------------- bad input


#: case -> (steps, words of the problem, step names the ::error must name)
INVALID_PIPELINES: dict[str, tuple[Any, str, list[str]]] = {
    "cycle": (
        [
            {"name": "a", "project-id": pid(1), "needs": "c"},
            {"name": "b", "project-id": pid(2), "needs": "a"},
            {"name": "c", "project-id": pid(3), "needs": "b"},
        ],
        "cycle",
        ["a", "b", "c"],
    ),
    "unknown-needs": (
        [{"name": "a", "project-id": pid(1)}, {"name": "b", "project-id": pid(2), "needs": ["a", "nope"]}],
        "needs 'nope'",
        ["b"],
    ),
    "duplicate-names": (
        [{"name": "twin", "project-id": pid(1)}, {"name": "twin", "project-id": pid(2)}],
        "more than once",
        ["twin"],
    ),
    "missing-project-id": (
        [{"name": "a", "project-id": pid(1)}, {"name": "no-id", "input-params": {"x": 1}}],
        "no project-id",
        ["no-id"],
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_PIPELINES))
def test_invalid_pipeline_exits_2_before_any_request(sim: Sim, action: Action, case: str) -> None:
    steps, problem, names = INVALID_PIPELINES[case]

    result = action.run({"pipeline": pipeline_text(steps)})

    assert result.code == 2, result.log
    errors = result.errors()
    assert errors, result.log
    matching = [line for line in errors if problem in line]
    assert matching, errors
    for name in names:
        assert any(f"'{name}'" in line or f" {name} " in line for line in matching), (name, matching)
    assert sim.api_requests() == []
    assert sim.runs() == []
    assert result.outputs["status"] == "INVALID_INPUT"
    assert result.results == []


# ---------------------------------------------------------------------------- pipeline-file


DEMO_PIPELINE = ROOT / "scripts" / "demo_pipeline.yml"


def test_pipeline_file_is_read_from_the_workspace(sim: Sim, action: Action) -> None:
    """The demo pipeline (extract -> two transforms -> report) from a file in GITHUB_WORKSPACE."""
    steps = yaml.safe_load(DEMO_PIPELINE.read_text(encoding="utf-8"))
    ids = {step["name"]: step["project-id"] for step in steps}
    assert list(ids) == ["extract", "transform-orders", "transform-customers", "report"]
    durations = {"extract": 1, "transform-orders": 3, "transform-customers": 3, "report": 1}
    for name, seconds in durations.items():
        sim.project(ids[name], pendingSeconds=0, runningSeconds=seconds)
    target = action.workspace / ".github" / "hex" / "pipeline.yml"
    target.parent.mkdir(parents=True)
    shutil.copy(DEMO_PIPELINE, target)

    result = action.run({"pipeline-file": ".github/hex/pipeline.yml"})

    assert result.code == 0, result.log
    assert result.outputs["status"] == "COMPLETED"
    runs = {name: sim.run_of(ids[name]) for name in ids}
    for name, run in runs.items():
        assert_entry(result.by_name()[name], run, "COMPLETED")
    extract, orders, customers, final = (runs[n] for n in ids)
    assert min(orders["createdAt"], customers["createdAt"]) > extract["endedAt"]
    assert max(orders["createdAt"], customers["createdAt"]) < min(orders["endedAt"], customers["endedAt"])
    assert final["createdAt"] > max(orders["endedAt"], customers["endedAt"])
    # The steps' settings reached Hex.
    assert extract["inputParams"] == {"as_of": "2026-11-27"}
    assert orders["body"]["useCachedSqlResults"] is False
    assert final["body"]["updatePublishedResults"] is True

    hex_sum = sum(run["endedAt"] - run["createdAt"] for run in runs.values())
    observed = {n: sim.terminal_read_time(run) - run["createdAt"] for n, run in runs.items()}
    critical = observed["extract"] + max(observed["transform-orders"], observed["transform-customers"])
    critical += observed["report"]
    report(
        "demo pipeline extract(1s) -> transform-orders(3s) + transform-customers(3s) -> report(1s)",
        f"process wall {result.wall_seconds:.2f}s, pipeline elapsed-seconds output "
        f"{result.outputs['elapsed-seconds']}s; sum of Hex run durations {hex_sum:.2f}s; "
        f"sum of step durations as observed {sum(observed.values()):.2f}s "
        f"(critical path {critical:.2f}s)",
    )
    assert float(result.outputs["elapsed-seconds"]) < sum(observed.values())


def test_missing_pipeline_file_exits_2_before_any_request(sim: Sim, action: Action) -> None:
    result = action.run({"pipeline-file": "no/such/pipeline.yml"})

    assert result.code == 2, result.log
    assert any("pipeline-file" in line and "no/such/pipeline.yml" in line for line in result.errors()), result.log
    assert result.outputs["status"] == "INVALID_INPUT"
    assert sim.api_requests() == []
