"""Seeded chaos runs: the real `entrypoint.py` against a simulator in chaos mode, then the invariants.

One seed decides everything: the project's run (durations, final status), the action's inputs
(timeout, wait, cancel-on-timeout, run history), a signal at a random moment, and the simulator's
faults (`hex_action.simulator.chaos`). After the process ends, `check` holds it to the action's
promises:

* no run left running that the action started (unless `wait: false`, or `cancel-on-timeout: false`
  and the run timed out or could not be read);
* never two runs for one step;
* the reported status is the simulator's truth, or an honest TIMED_OUT, CANCELLED or UNKNOWN
  (with `wait: false`, a status the run had); NOT_STARTED only when Hex has no run;
* the outputs parse with the runner's rules; the token appears nowhere but in `::add-mask::`;
* no traceback; the process ends within timeout + 15 s; the exit code matches the status.

Used by tests/test_chaos.py (a fixed set of seeds in `make test`) and tests/soak.py (`make soak`).
"""

from __future__ import annotations

import signal
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

from e2e_support import ActionResult, start_action
from runner_parser import FileCommandError, output_pairs

from hex_action.simulator import Chaos, HexSimulator, serve

TOKEN = "hxtp_chaos_" + "5eed" * 12
#: How much longer than its timeout the action may take (cancels, last reads, reporting).
GRACE = 15.0
ACTIVE = frozenset({"PENDING", "RUNNING"})


@dataclass(frozen=True)
class Scenario:
    """Everything one seed decides, besides the simulator's faults."""

    seed: int
    pending: float
    running: float
    final_status: str
    timeout: int
    wait: bool
    cancel_on_timeout: bool
    use_history: bool
    signal: signal.Signals | None
    signal_after: float
    rate: float
    lag_rate: float

    @classmethod
    def from_seed(cls, seed: int) -> Scenario:
        rng = Random(f"scenario-{seed}")
        return cls(
            seed=seed,
            pending=round(rng.uniform(0.0, 1.0), 2),
            running=round(rng.uniform(0.2, 3.0), 2),
            final_status=rng.choices(["COMPLETED", "ERRORED", "UNABLE_TO_ALLOCATE_KERNEL"], [6, 3, 1])[0],
            timeout=rng.randint(2, 8),
            wait=rng.random() < 0.9,
            cancel_on_timeout=rng.random() < 0.85,
            use_history=rng.random() < 0.3,
            signal=rng.choice([signal.SIGINT, signal.SIGTERM]) if rng.random() < 0.3 else None,
            # From 0.3 s: a signal in the interpreter's own start-up (site, before entrypoint.py's first
            # line holds signals) kills any Python program; on 2 busy cores that takes up to ~0.2 s.
            signal_after=round(rng.uniform(0.3, 6.0), 2),
            rate=round(rng.uniform(0.05, 0.35), 3),
            lag_rate=round(rng.uniform(0.0, 0.6), 3),
        )

    def inputs(self, url: str, project_id: str) -> dict[str, str]:
        return {
            "api-token": TOKEN,
            "project-id": project_id,
            "hex-url": url,
            "timeout": f"{self.timeout}s",
            "poll-interval": "2s",
            "wait": str(self.wait).lower(),
            "cancel-on-timeout": str(self.cancel_on_timeout).lower(),
            "use-run-history": str(self.use_history).lower(),
        }


@dataclass
class Report:
    """One seed's run: what happened, the faults met, and every broken invariant."""

    scenario: Scenario
    faults: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    status: str = ""
    returncode: int | None = None
    seconds: float = 0.0
    result: ActionResult | None = None

    def describe(self) -> str:
        head = f"seed {self.scenario.seed}: {self.scenario}\n  status {self.status}, exit {self.returncode}"
        lines = [head, f"  faults {dict(self.faults)}", *(f"  VIOLATION: {v}" for v in self.violations)]
        if self.result is not None and self.violations:
            lines.append(self.result.describe())
        return "\n".join(lines)


def run_seed(seed: int, workdir: Path | None = None) -> Report:
    """Run the action once under the chaos of `seed` and check the invariants."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix=f"chaos-{seed}-") as tmp:
            return run_seed(seed, Path(tmp))
    scenario = Scenario.from_seed(seed)
    chaos = Chaos(seed, rate=scenario.rate, lag_rate=scenario.lag_rate)
    sim = HexSimulator(TOKEN, chaos=chaos)
    project_id = str(uuid.UUID(int=Random(seed).getrandbits(128), version=4))
    history = [scenario.pending + scenario.running] * 3 if scenario.use_history else None
    sim.configure_project(
        project_id,
        pending_seconds=scenario.pending,
        running_seconds=scenario.running,
        final_status=scenario.final_status,
        history=history,
    )
    report = Report(scenario)
    with serve(sim) as server:
        process = start_action(workdir, scenario.inputs(server.url, project_id))
        if scenario.signal is not None:
            deadline = process.started + scenario.signal_after
            while process.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            if process.proc.poll() is None:
                process.send(scenario.signal)
        try:
            result = process.wait(timeout=scenario.timeout + GRACE + 10)
        except AssertionError as exc:
            report.violations.append(f"the process did not end: {str(exc)[:2000]}")
            return report
        exited = sim.clock()
        runs = [r for r in sim.runs(at=exited) if not r["seeded"]]
    report.faults = Counter(chaos.injected)
    report.result, report.returncode, report.seconds = result, result.returncode, result.seconds
    report.violations += check(scenario, result, runs)
    report.status = result.outputs.get("status", "")
    return report


def check(scenario: Scenario, result: ActionResult, runs: list[dict[str, Any]]) -> list[str]:
    """Every invariant `result` breaks, given the simulator's runs as they were when the process ended."""
    problems: list[str] = []
    try:
        outputs = dict(output_pairs(result.output_file))
    except FileCommandError as exc:
        return [f"GITHUB_OUTPUT does not parse with the runner's rules: {exc}"]
    status = outputs.get("status", "")
    if not status:
        problems.append("no status output")
    if "Traceback" in result.stderr:
        problems.append("a traceback on stderr")
    problems += _token_problems(result)
    if result.seconds > scenario.timeout + GRACE:
        problems.append(f"took {result.seconds:.1f}s, over timeout {scenario.timeout}s + {GRACE:g}s")
    run_id = outputs.get("run-id", "")
    if len(runs) > 1:
        problems.append(f"{len(runs)} runs for one step")
    elif not runs:
        if status not in ("NOT_STARTED", "CANCELLED", "TIMED_OUT", "UNKNOWN"):
            problems.append(f"status {status} but Hex has no run")
        if run_id:
            problems.append(f"run-id {run_id} but Hex has no run")
    else:
        (run,) = runs
        problems += _run_problems(scenario, status, run_id, run)
    started = bool(run_id)
    expected = 0 if status == "COMPLETED" or (not scenario.wait and started) else 1
    if result.returncode != expected:
        problems.append(f"exit code {result.returncode} for status {status} (expected {expected})")
    return problems


def _run_problems(scenario: Scenario, status: str, run_id: str, run: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    truth = run["status"]
    if run_id and run_id != run["runId"]:
        problems.append(f"run-id {run_id} is not Hex's run {run['runId']}")
    honest = {truth, "TIMED_OUT", "CANCELLED", "UNKNOWN"}
    if not scenario.wait:
        honest |= ACTIVE  # one read, then the run is left running: the status it had then
    if status not in honest:
        problems.append(f"reported {status}, but the run is {truth} at Hex")
    left_running_allowed = not scenario.wait or (not scenario.cancel_on_timeout and status in ("TIMED_OUT", "UNKNOWN"))
    if truth in ACTIVE and not left_running_allowed:
        problems.append(f"the run is left {truth} at Hex (reported {status}): an orphan")
    return problems


def _token_problems(result: ActionResult) -> list[str]:
    problems = []
    for line in result.stdout.splitlines():
        if TOKEN in line and line != f"::add-mask::{TOKEN}":
            problems.append("the token in a stdout line")
            break
    for name, text in (("stderr", result.stderr), ("GITHUB_OUTPUT", result.output_file), ("summary", result.summary)):
        if TOKEN in text:
            problems.append(f"the token in {name}")
    return problems
