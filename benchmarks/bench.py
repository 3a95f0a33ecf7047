"""`make bench`: this action's wait against a baseline that reads every 5 s, on the same simulated runs.

Runs of about 10 s, 1 min, 10 min and 1 h, each with and without run history. The short
ones run as real processes (`python entrypoint.py` against a simulator on 127.0.0.1 with
Hex's rate limits on); the long ones run in-process through the same engine, client and
schedule on a simulated clock. Every action run and every baseline run gets a simulator
of its own (Hex counts reads per user, so runs sharing one would throttle each other), all
configured alike: the same actual duration, the same pending time and the same history.

Measured at the simulator, from its request log:
* reads: status reads (GET …/runs/{runId}) and list reads (GET …/runs, the history);
* detection latency: the simulator's time of the first status read that answered a
  terminal status, minus the moment the run ended there.

Plus start-up: spawn of `python entrypoint.py` to the simulator receiving the trigger POST,
against the wall time of `python -c "import requests"` (medians of interleaved runs).

It is a benchmark, not a test: missed targets are printed as MISS and the exit code stays
0. It exits 1 only when it could not measure (a run failed or ended wrongly).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import platform
import random
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/bench.py` puts benchmarks/ first, not the repo
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from hex_action.client import HexClient  # noqa: E402
from hex_action.clock import FakeClock, SystemClock  # noqa: E402
from hex_action.engine import Engine, StepResult  # noqa: E402
from hex_action.run_lookup import LOOKUP_LIMIT  # noqa: E402
from hex_action.settings import load_settings  # noqa: E402
from hex_action.signals import CancelSignal  # noqa: E402
from hex_action.sim_transport import simulated_session  # noqa: E402
from hex_action.simulator import TERMINAL_STATUSES, HexSimulator, SimServer, serve  # noqa: E402

TOKEN = "bench-token-0123456789"  # noqa: S105 - the simulator's token
PROJECT = "5f0c7a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6"
#: Every simulated run is PENDING this long before it runs (the simulator's default).
PENDING = 1.0
#: The baseline reads the status every this many seconds after the trigger.
BASELINE_GAP = 5.0
#: Prior completed runs seeded as history, by default: as many as the action reads.
HISTORY_RUNS = LOOKUP_LIMIT
#: (label, nominal seconds, real processes?)
DURATIONS: tuple[tuple[str, float, bool], ...] = (
    ("10 s", 10.0, True),
    ("1 min", 60.0, True),
    ("10 min", 600.0, False),
    ("1 h", 3600.0, False),
)
SIM_BASE = "https://hex.sim"
#: Targets from the issue.
READ_TARGETS = {"1 min": 0.5, "1 h": 0.1}
HISTORY_LATENCY_TARGET = 2.5
STARTUP_TARGET = 1.3


# -- the runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    """One simulated run: its actual duration (trigger to end) and the project's history."""

    label: str
    nominal: float
    rep: int
    actual: float
    history: tuple[float, ...]

    def configure(self, sim: HexSimulator) -> None:
        """Give `sim`'s project this trial's duration and history."""
        sim.configure_project(
            PROJECT, pending_seconds=PENDING, running_seconds=self.actual - PENDING, history=list(self.history)
        )


@dataclass(frozen=True)
class Plan:
    """How the runs are drawn: seed, spread of durations, number of history runs."""

    seed: int = 1
    jitter: float = 0.05
    history_runs: int = HISTORY_RUNS


def make_trial(label: str, nominal: float, rep: int, plan: Plan) -> Trial:
    """Seeded: the actual duration and the history (Hex's elapsedTime: time spent running) vary by ±jitter."""
    rng = random.Random(f"{plan.seed}/{nominal}/{rep}")

    def vary() -> float:
        return nominal * rng.uniform(1 - plan.jitter, 1 + plan.jitter)

    actual = vary()
    history = tuple(round(vary() - PENDING, 3) for _ in range(plan.history_runs))
    return Trial(label, nominal, rep, actual, history)


@dataclass
class Measure:
    """What the simulator saw of one waiter's run."""

    status_reads: int = 0
    list_reads: int = 0
    throttled: int = 0
    latency: float = float("nan")
    error: str | None = None

    @property
    def reads(self) -> int:
        return self.status_reads + self.list_reads


def measure(sim: HexSimulator) -> Measure:
    """Reads and detection latency from the simulator's request log and run record."""
    runs = [r for r in sim.runs() if not r["seeded"]]
    if len(runs) != 1:
        return Measure(error=f"expected one run at the simulator, found {len(runs)}")
    run = runs[0]
    run_path = f"/api/v1/projects/{PROJECT}/runs/{run['runId']}"
    list_path = f"/api/v1/projects/{PROJECT}/runs"
    gets = [e for e in sim.requests_log() if e["method"] == "GET"]
    status = [e for e in gets if e["path"].rstrip("/") == run_path]
    result = Measure(
        status_reads=len(status),
        list_reads=sum(1 for e in gets if e["path"].rstrip("/") == list_path),
        throttled=sum(1 for e in gets if e["status"] == 429),
    )
    ended = run["endedAt"]
    seen = [e["time"] for e in status if e["status"] == 200 and ended is not None and e["time"] >= ended]
    if run["status"] != "COMPLETED" or not seen:
        result.error = f"the run ended {run['status']} and no read saw its end"
    else:
        result.latency = seen[0] - ended
    return result


# -- the baseline: read every 5 s --------------------------------------------------------------


class _Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> object: ...


#: (method, path under /api/v1) -> (HTTP status, JSON body)
Call = Callable[[str, str], tuple[int, Any]]


def baseline_wait(call: Call, clock: _Clock, give_up_after: float) -> None:
    """Trigger the run, then read its status every BASELINE_GAP seconds until it is terminal."""
    runs = f"/projects/{PROJECT}/runs"
    status, body = call("POST", runs)
    if status != 201:
        raise RuntimeError(f"the baseline's trigger was answered {status}")
    run_id = body["runId"]
    triggered = clock.now()
    for k in itertools.count(1):
        clock.sleep(max(0.0, triggered + k * BASELINE_GAP - clock.now()))
        status, body = call("GET", f"{runs}/{run_id}")
        if status == 200 and body.get("status") in TERMINAL_STATUSES:
            return
        if clock.now() - triggered > give_up_after:
            raise RuntimeError("the baseline gave up waiting")


def _http_call(session: requests.Session, base_url: str) -> Call:
    def call(method: str, path: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        response = session.request(method, f"{base_url}/api/v1{path}", json={}, headers=headers, timeout=10)
        return response.status_code, response.json()

    return call


def _direct_call(sim: HexSimulator) -> Call:
    """Straight into the simulator: the baseline's HTTP stack is not what is measured, and this is fast."""

    def call(method: str, path: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", "Host": "hex.sim"}
        answer = sim.handle(method, f"/api/v1{path}", "", headers, b"{}" if method == "POST" else b"")
        return answer.status, answer.json()

    return call


# -- long runs: in-process, on a simulated clock ------------------------------------------------


class _QuietObserver:
    def run_started(self, result: StepResult) -> None:
        pass

    def status_changed(self, result: StepResult, previous: str, waited: float) -> None:
        pass

    def step_finished(self, result: StepResult) -> None:
        pass

    def warning(self, text: str) -> None:
        pass

    def debug(self, text: str) -> None:
        pass


def _timeout_for(trial: Trial) -> float:
    return max(600.0, 3 * trial.nominal)


def action_simulated(trial: Trial, use_history: bool, seed: int) -> Measure:
    """The real engine, client and schedule against the simulator, on a FakeClock."""
    clock = FakeClock()
    sim = HexSimulator(TOKEN, clock=clock.wall)
    trial.configure(sim)
    values = {
        "api-token": TOKEN,
        "project-id": PROJECT,
        "hex-url": SIM_BASE,
        "use-run-history": str(use_history).lower(),
        "timeout": str(_timeout_for(trial)),
    }
    settings = load_settings(values, environ={})
    rng = random.Random(f"{seed}/{trial.nominal}/{trial.rep}/action")
    session = simulated_session(sim, SIM_BASE)
    session.trust_env = False  # no proxy look-ups in the environment per request: a third of the time here
    client = HexClient(settings.api_base_url, settings.api_token, clock, session=session, rng=rng)
    engine = Engine(settings, client, clock, CancelSignal(), _QuietObserver(), rng=rng)
    [result] = engine.run()
    found = measure(sim)
    if found.error is None and result.status != "COMPLETED":
        found.error = f"the action reported {result.status}: {result.message}"
    counted = (client.counts["status"], client.counts["list"])
    if found.error is None and counted != (found.status_reads, found.list_reads):
        found.error = f"the client counted {client.counts}, the simulator saw {found}"
    return found


def baseline_simulated(trial: Trial) -> Measure:
    """The 5 s baseline on a FakeClock against its own simulator."""
    clock = FakeClock()
    sim = HexSimulator(TOKEN, clock=clock.wall)
    trial.configure(sim)
    baseline_wait(_direct_call(sim), clock, _timeout_for(trial))
    return measure(sim)


# -- short runs: real processes against a simulator over loopback --------------------------------


def _clean_environ() -> dict[str, str]:
    """This environment without GitHub's or the action's variables (never write to a real job's files)."""
    prefixes = ("INPUT_", "GITHUB_", "RUNNER_", "HEX_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def _action_environ(url: str, extra: dict[str, str]) -> dict[str, str]:
    return {
        **_clean_environ(),
        "HEX_API_TOKEN": TOKEN,
        "INPUT_PROJECT-ID": PROJECT,
        "INPUT_HEX-URL": url,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def action_process(trial: Trial, use_history: bool) -> Measure:
    """`python entrypoint.py` as a process, against a simulator of its own."""
    with serve(HexSimulator(TOKEN)) as server:
        trial.configure(server.sim)
        extra = {"INPUT_USE-RUN-HISTORY": str(use_history).lower(), "INPUT_TIMEOUT": str(_timeout_for(trial))}
        done = subprocess.run(
            [sys.executable, str(ROOT / "entrypoint.py")],
            cwd=ROOT,
            env=_action_environ(server.url, extra),
            capture_output=True,
            text=True,
            timeout=_timeout_for(trial) + 60,
            check=False,
        )
        found = measure(server.sim)
    if found.error is None and done.returncode != 0:
        found.error = f"entrypoint.py exited {done.returncode}: {(done.stdout + done.stderr)[-500:]}"
    return found


def baseline_thread(trial: Trial) -> Measure:
    """The 5 s baseline in real time, against a simulator of its own."""
    with serve(HexSimulator(TOKEN)) as server:
        trial.configure(server.sim)
        with requests.Session() as session:
            baseline_wait(_http_call(session, server.url), _SleepClock(), _timeout_for(trial))
        return measure(server.sim)


class _SleepClock:
    def __init__(self) -> None:
        self._clock = SystemClock()

    def now(self) -> float:
        return self._clock.now()

    def sleep(self, seconds: float) -> object:
        return self._clock.sleep(seconds)


# -- start-up ------------------------------------------------------------------------------------


@dataclass
class Startup:
    """Medians of spawn-to-POST and of `python -c "import requests"`, in seconds."""

    to_trigger: list[float] = field(default_factory=list)
    import_requests: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.to_trigger) / statistics.median(self.import_requests)


def _time_import_requests() -> float:
    started = time.time()
    subprocess.run([sys.executable, "-c", "import requests"], cwd=ROOT, env=_clean_environ(), check=True)
    return time.time() - started


def _time_to_trigger(server: SimServer) -> float:
    server.sim.reset()
    server.sim.configure_project(PROJECT, pending_seconds=0.0, running_seconds=0.1)
    started = time.time()
    subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py")],
        cwd=ROOT,
        env=_action_environ(server.url, {"INPUT_WAIT": "false"}),  # trigger, one read, exit
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
        check=True,
    )
    posts = [e["time"] for e in server.sim.requests_log() if e["method"] == "POST"]
    return posts[0] - started


def measure_startup(repetitions: int) -> Startup:
    """Interleaved, after one discarded warm-up of each (bytecode caches, page cache)."""
    startup = Startup()
    with serve(HexSimulator(TOKEN)) as server:
        _time_import_requests()
        _time_to_trigger(server)
        for _ in range(repetitions):
            startup.import_requests.append(_time_import_requests())
            startup.to_trigger.append(_time_to_trigger(server))
    return startup


# -- putting it together ---------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    how: str
    history: bool
    action: list[Measure]
    baseline: list[Measure]

    def mean(self, who: str, what: Callable[[Measure], float]) -> float:
        return statistics.fmean(what(m) for m in getattr(self, who))

    @property
    def ratio(self) -> float:
        return self.mean("action", lambda m: m.reads) / self.mean("baseline", lambda m: m.reads)


def simulated_case(
    label: str, nominal: float, reps: int, plan: Plan
) -> tuple[list[Measure], list[Measure], list[Measure]]:
    """One duration in-process: the baseline's runs, the action's without history and with it."""
    trials = [make_trial(label, nominal, rep, plan) for rep in range(reps)]
    base = [baseline_simulated(t) for t in trials]
    plain = [action_simulated(t, False, plan.seed) for t in trials]
    return base, plain, [action_simulated(t, True, plan.seed) for t in trials]


def run_all(args: argparse.Namespace, progress: Callable[[str], None]) -> list[Row]:
    """Every duration in-process on a simulated clock, in a worker process, while the short
    ones also run in real time as processes (those take a minute of mostly waiting).

    The in-process rows of the short durations cross-check the process rows with more runs
    (the same code, without the interpreter start-up and the loopback HTTP).
    """
    plan = Plan(args.seed, args.jitter, args.history_runs)
    simulated: dict[str, Future[tuple[list[Measure], list[Measure], list[Measure]]]] = {}
    real: dict[tuple[str, int, str], Future[Measure]] = {}
    # A fresh interpreter (spawn): no forking of this process's threads.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as worker:
        for label, nominal, _ in sorted(DURATIONS, key=lambda d: -d[1]):
            simulated[label] = worker.submit(simulated_case, label, nominal, args.sim_reps, plan)
        with ThreadPoolExecutor(max_workers=64) as pool:
            for label, nominal, as_process in DURATIONS:
                if not as_process:
                    continue
                for rep in range(args.reps):
                    trial = make_trial(label, nominal, rep, plan)
                    real[label, rep, "base"] = pool.submit(baseline_thread, trial)
                    for use_history in (False, True):
                        real[label, rep, f"action/{use_history}"] = pool.submit(action_process, trial, use_history)
                        time.sleep(0.2)  # stagger the interpreters' start-up on small machines
            progress(f"{len(real)} runs in real time (action processes, baselines); the simulated ones meanwhile...")
            done = {key: future.result() for key, future in real.items()}
        progress("real-time runs done, waiting for the simulated ones...")
        results = {label: future.result() for label, future in simulated.items()}
    rows: list[Row] = []
    for label, _, as_process in DURATIONS:
        if as_process:
            base = [done[label, rep, "base"] for rep in range(args.reps)]
            for use_history in (False, True):
                actions = [done[label, rep, f"action/{use_history}"] for rep in range(args.reps)]
                how = f"{args.reps} process{'es' if args.reps > 1 else ''}"
                rows.append(Row(label, how, use_history, actions, base))
        base, plain, with_history = results[label]
        rows.append(Row(label, f"{args.sim_reps} simulated", False, plain, base))
        rows.append(Row(label, f"{args.sim_reps} simulated", True, with_history, base))
    return rows


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _name(row: Row) -> str:
    return f"{row.label} ({row.how}), history {'yes' if row.history else 'no'}"


def report(rows: list[Row], startup: Startup) -> list[str]:
    """The table, the start-up line and PASS/MISS per target, as lines."""
    lines = [
        "| duration | history | action reads (status+list) | baseline reads | read ratio "
        "| action mean latency | baseline mean latency |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        status = row.mean("action", lambda m: m.status_reads)
        listed = row.mean("action", lambda m: m.list_reads)
        lines.append(
            f"| {row.label} ({row.how}) | {'yes' if row.history else 'no'} "
            f"| {status + listed:.1f} ({status:.1f}+{listed:.1f}) | {row.mean('baseline', lambda m: m.reads):.1f} "
            f"| {row.ratio:.2f} | {_seconds(row.mean('action', lambda m: m.latency))} "
            f"| {_seconds(row.mean('baseline', lambda m: m.latency))} |"
        )
    # The baseline's latency is where a run's end falls in its 5 s grid: 2.5 s expected at any
    # duration. A row's few runs give a noisy mean, so the target compares with all its runs.
    pooled = list({id(m): m for row in rows for m in row.baseline}.values())
    baseline_latency = statistics.fmean(m.latency for m in pooled)
    trigger, imports = statistics.median(startup.to_trigger), statistics.median(startup.import_requests)
    lines += [
        "",
        f"start-up: spawn of `python entrypoint.py` to the trigger POST at the simulator, median {trigger:.3f} s; "
        f'`python -c "import requests"`, median {imports:.3f} s (n={len(startup.to_trigger)} each, interleaved; '
        f"fastest {min(startup.to_trigger):.3f} s and {min(startup.import_requests):.3f} s); ratio {startup.ratio:.2f}",
        "",
        f'targets ("the baseline\'s latency": the mean over all its {len(pooled)} runs, {baseline_latency:.2f} s):',
    ]
    for row in rows:
        if row.label in READ_TARGETS:
            limit = READ_TARGETS[row.label]
            text = f"reads ≤ {limit:g}x the baseline's: {_name(row)}: {row.ratio:.2f}x"
            lines.append(_verdict(row.ratio <= limit, text))
    for row in rows:
        mine = row.mean("action", lambda m: m.latency)
        text = f"mean latency ≤ the baseline's: {_name(row)}: {mine:.2f} s"
        lines.append(_verdict(mine <= baseline_latency, text))
    for row in rows:
        if row.history:
            mine = row.mean("action", lambda m: m.latency)
            text = f"mean latency < {HISTORY_LATENCY_TARGET:g} s with history: {_name(row)}: {mine:.2f} s"
            lines.append(_verdict(mine < HISTORY_LATENCY_TARGET, text))
    text = f"start-up ≤ {STARTUP_TARGET:g}x `import requests`: {startup.ratio:.2f}x"
    lines.append(_verdict(startup.ratio <= STARTUP_TARGET, text))
    return lines


def _verdict(ok: bool, text: str) -> str:
    return f"- {'PASS' if ok else '**MISS**'} {text}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (1 process, 10 simulated, 5 start-ups)")
    parser.add_argument("--reps", type=int, help="real-process runs per short case (default 10)")
    parser.add_argument("--sim-reps", type=int, help="simulated runs per duration (default 100)")
    parser.add_argument(
        "--history-runs", type=int, default=HISTORY_RUNS, help=f"prior runs in the history (default {HISTORY_RUNS})"
    )
    parser.add_argument("--startup-reps", type=int, help="start-up measurements (default 11)")
    parser.add_argument("--jitter", type=float, default=0.05, help="spread of durations, ± share (default 0.05)")
    parser.add_argument("--seed", type=int, default=1, help="seed for durations, history and jitter (default 1)")
    args = parser.parse_args(argv)
    args.reps = args.reps or (1 if args.quick else 10)
    args.sim_reps = args.sim_reps or (10 if args.quick else 100)
    args.startup_reps = args.startup_reps or (5 if args.quick else 11)

    def progress(text: str) -> None:
        print(f"[{time.monotonic() - began:5.0f} s] {text}", file=sys.stderr, flush=True)

    began = time.monotonic()
    python = Path(sys.executable)
    shown = python.relative_to(ROOT) if python.is_relative_to(ROOT) else python
    command = shlex.join([str(shown), *sys.argv]) if argv is None else "bench.main()"
    print("# hex-action wait benchmark\n")
    print(f"command: `{command}` (in {ROOT}), Python {platform.python_version()}")
    print(
        f"action: defaults (poll-interval 15s), use-run-history as in the table; baseline: a read every "
        f"{BASELINE_GAP:g} s. Durations ±{args.jitter:.0%} (seed {args.seed}), pending {PENDING:g} s, "
        f"history: {args.history_runs} prior runs ±{args.jitter:.0%}. Rate limits on. "
        "Reads and latency are means per run.\n"
    )
    progress(f"start-up, {args.startup_reps} times each...")
    startup = measure_startup(args.startup_reps)
    rows = run_all(args, progress)
    for line in report(rows, startup):
        print(line)
    problems = [m for row in rows for m in row.action + row.baseline if m.error or m.throttled]
    for m in problems:
        print(f"\nWARNING: {m.error or ''} {f'{m.throttled} reads answered 429' if m.throttled else ''}".rstrip())
    print(f"\n(wall time {time.monotonic() - began:.0f} s)")
    return 1 if any(m.error for m in problems) else 0


if __name__ == "__main__":
    sys.exit(main())
