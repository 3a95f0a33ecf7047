"""`make bench`: this action's wait against a 5 s poller and against the oracle, on the same simulated runs.

Run durations of about 1 min, 10 min and 1 h, drawn from lognormal distributions with a
coefficient of variation (CV) of 5 %, 20 % and 50 %, a bimodal mix (70 % about D, 30 % about
2.5 D, each CV 10 %), and a mix with 10 % early failures (ERRORED about 0.1 D, CV 20 %; the
rest CV 20 % about D). Each trial draws the run and its own history of 10 prior runs from
the same distribution (not the measured run's), seeded. Every run is PENDING 1 s first.

* The action: the real engine, client and planner against the simulator on a simulated
  clock (`--trials` runs per case), and, for the short cases, as real processes
  (`python entrypoint.py` against a simulator on 127.0.0.1, rate limits on).
* The 5 s poller: a read every 5 s after the trigger. On the simulated clock its reads and
  latency follow exactly from each run's end time; in real time it runs against its own
  simulator.
* The oracle: the fewest status reads any fixed schedule can make knowing the TRUE
  distribution of the run's end (hex_action.oracle, the dynamic programme the planner also
  uses, on a finer grid), its expected reads at the action's own measured mean latency.

Measured per case: status and list reads, mean and p90 detection latency (from the run's
end at the simulator to the first status read that answered its final status), and the
action's status reads divided by the oracle's. Plus the planning time, and start-up.

A benchmark, not a test: missed targets print as MISS and the exit code stays 0. It exits
1 only when it could not measure (a run ended wrongly).
"""

from __future__ import annotations

import argparse
import itertools
import math
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
from hex_action.oracle import EXACT, FLOOR, EndTime, LogNormal, best_plan, make_grid, plan_for_latency  # noqa: E402
from hex_action.planner import History, plan_wait  # noqa: E402
from hex_action.run_lookup import HISTORY_RUNS  # noqa: E402
from hex_action.settings import load_settings  # noqa: E402
from hex_action.signals import CancelSignal  # noqa: E402
from hex_action.sim_transport import simulated_session  # noqa: E402
from hex_action.simulator import TERMINAL_STATUSES, HexSimulator, SimServer, serve  # noqa: E402

TOKEN = "bench-token-0123456789"  # noqa: S105 - the simulator's token
PROJECT = "5f0c7a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6"
#: Every simulated run is PENDING this long before it runs (the simulator's default).
PENDING = 1.0
#: The poller reads the status every this many seconds after the trigger.
POLL_GAP = 5.0
DURATIONS: tuple[tuple[str, float], ...] = (("1 min", 60.0), ("10 min", 600.0), ("1 h", 3600.0))
SIM_BASE = "https://hex.sim"
#: Targets from the issue.
LATENCY_TARGET = 2.5
READ_TARGETS = {"lognormal": 1.3, "bimodal": 1.5, "failures": 1.5}
STARTUP_TARGET = 1.3
#: A real process's status reads come at most this much later than the simulated clock's (HTTP, timers).
FIDELITY_OFFSET = 0.25


# -- the distributions --------------------------------------------------------------------------


def lognormal(mean: float, cv: float, weight: float = 1.0) -> LogNormal:
    """A lognormal share with this mean and coefficient of variation."""
    sigma = math.sqrt(math.log(1 + cv * cv))
    return LogNormal(weight, math.log(mean) - sigma * sigma / 2, sigma)


@dataclass(frozen=True)
class Case:
    """One distribution of run durations (time running, as Hex reports it) at one scale."""

    label: str
    family: str  # lognormal, bimodal or failures: which read target applies
    scale: str
    nominal: float
    shares: tuple[tuple[LogNormal, str], ...]  # (durations, final status)

    @property
    def name(self) -> str:
        return f"{self.scale}, {self.label}"

    def truth(self) -> EndTime:
        """The distribution of the run's end after the trigger."""
        return EndTime(tuple(share for share, _ in self.shares), offset=PENDING)

    def draw(self, rng: random.Random) -> tuple[float, str]:
        """One run: its running time and final status."""
        u, total = rng.random(), 0.0
        for share, status in self.shares:  # noqa: B007 - the loop picks the share
            total += share.weight
            if u <= total:
                break
        return math.exp(rng.gauss(share.mu, share.sigma)), status


def cases(scale: str, d: float) -> list[Case]:
    done = "COMPLETED"
    return [
        Case("lognormal CV 5%", "lognormal", scale, d, ((lognormal(d, 0.05), done),)),
        Case("lognormal CV 20%", "lognormal", scale, d, ((lognormal(d, 0.2), done),)),
        Case("lognormal CV 50%", "lognormal", scale, d, ((lognormal(d, 0.5), done),)),
        Case(
            "bimodal 70% D / 30% 2.5 D",
            "bimodal",
            scale,
            d,
            ((lognormal(d, 0.1, 0.7), done), (lognormal(2.5 * d, 0.1, 0.3), done)),
        ),
        Case(
            "10% fail at 0.1 D",
            "failures",
            scale,
            d,
            ((lognormal(d, 0.2, 0.9), done), (lognormal(0.1 * d, 0.2, 0.1), "ERRORED")),
        ),
    ]


ALL_CASES = [case for scale, d in DURATIONS for case in cases(scale, d)]


# -- the runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    """One simulated run (its running time and final status) and the project's history."""

    case: Case
    rep: int
    running: float
    status: str
    history: tuple[tuple[float, str], ...]

    @property
    def end(self) -> float:
        """When the run ends, after the trigger."""
        return PENDING + self.running

    def planner_history(self) -> History:
        """The history as the planner gets it through the simulator: durations to the millisecond."""
        return History(
            tuple(round(d, 3) for d, s in self.history if s == "COMPLETED"),
            tuple(round(d, 3) for d, s in self.history if s != "COMPLETED"),
        )

    def configure(self, sim: HexSimulator) -> None:
        """Give `sim`'s project this trial's run and history."""
        sim.configure_project(
            PROJECT,
            pending_seconds=PENDING,
            running_seconds=self.running,
            final_status=self.status,
            history=[{"durationSeconds": round(d, 3), "status": s} for d, s in self.history],
        )


def make_trial(case: Case, rep: int, seed: int, history_runs: int) -> Trial:
    rng = random.Random(f"{seed}/{case.name}/{rep}")
    running, status = case.draw(rng)
    history = tuple(case.draw(rng) for _ in range(history_runs))
    return Trial(case, rep, running, status, history)


@dataclass
class Measure:
    """What the simulator saw of one waiter's run."""

    status_reads: float = 0.0
    list_reads: float = 0.0
    throttled: int = 0
    latency: float = math.nan
    error: str | None = None
    #: When the status reads were made, in seconds after the trigger reached the simulator.
    reads_at: tuple[float, ...] = ()


def measure(sim: HexSimulator, status: str) -> Measure:
    """Reads and detection latency from the simulator's request log and run record."""
    runs = [r for r in sim.runs() if not r["seeded"]]
    if len(runs) != 1:
        return Measure(error=f"expected one run at the simulator, found {len(runs)}")
    run = runs[0]
    run_path = f"/api/v1/projects/{PROJECT}/runs/{run['runId']}"
    list_path = f"/api/v1/projects/{PROJECT}/runs"
    log = sim.requests_log()
    gets = [e for e in log if e["method"] == "GET"]
    reads = [e for e in gets if e["path"].rstrip("/") == run_path]
    result = Measure(
        status_reads=len(reads),
        list_reads=sum(1 for e in gets if e["path"].rstrip("/") == list_path),
        throttled=sum(1 for e in gets if e["status"] == 429),
    )
    triggered = next((e["time"] for e in log if e["method"] == "POST"), math.nan)
    result.reads_at = tuple(e["time"] - triggered for e in reads)
    ended = run["endedAt"]
    seen = [e["time"] for e in reads if e["status"] == 200 and ended is not None and e["time"] >= ended]
    if run["status"] != status or not seen:
        result.error = f"the run ended {run['status']} (expected {status}) and no read saw its end"
    else:
        result.latency = seen[0] - ended
    return result


def _timeout_for(case: Case) -> float:
    return max(600.0, 6 * case.nominal)


# -- the 5 s poller ------------------------------------------------------------------------------


def poller_exact(trial: Trial) -> Measure:
    """A read every POLL_GAP s after the trigger: the k-th read sees an end at or before k * POLL_GAP."""
    reads = math.ceil(trial.end / POLL_GAP - 1e-9)
    return Measure(status_reads=reads, latency=reads * POLL_GAP - trial.end)


class _Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> object: ...


#: (method, path under /api/v1) -> (HTTP status, JSON body)
Call = Callable[[str, str], tuple[int, Any]]


def poller_wait(call: Call, clock: _Clock, give_up_after: float) -> None:
    """Trigger the run, then read its status every POLL_GAP seconds until it is terminal."""
    runs = f"/projects/{PROJECT}/runs"
    status, body = call("POST", runs)
    if status != 201:
        raise RuntimeError(f"the poller's trigger was answered {status}")
    run_id = body["runId"]
    triggered = clock.now()
    for k in itertools.count(1):
        clock.sleep(max(0.0, triggered + k * POLL_GAP - clock.now()))
        status, body = call("GET", f"{runs}/{run_id}")
        if status == 200 and body.get("status") in TERMINAL_STATUSES:
            return
        if clock.now() - triggered > give_up_after:
            raise RuntimeError("the poller gave up waiting")


def _http_call(session: requests.Session, base_url: str) -> Call:
    def call(method: str, path: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        response = session.request(method, f"{base_url}/api/v1{path}", json={}, headers=headers, timeout=10)
        return response.status_code, response.json()

    return call


class _SleepClock:
    def __init__(self) -> None:
        self._clock = SystemClock()

    def now(self) -> float:
        return self._clock.now()

    def sleep(self, seconds: float) -> object:
        return self._clock.sleep(seconds)


def poller_thread(trial: Trial) -> Measure:
    """The 5 s poller in real time, against a simulator of its own."""
    with serve(HexSimulator(TOKEN)) as server:
        trial.configure(server.sim)
        with requests.Session() as session:
            poller_wait(_http_call(session, server.url), _SleepClock(), _timeout_for(trial.case))
        return measure(server.sim, trial.status)


# -- the action ----------------------------------------------------------------------------------


class QuietObserver:
    """An engine observer that keeps nothing (the benchmarks measure at the simulator)."""

    def run_started(self, result: StepResult) -> None:
        pass

    def status_changed(self, result: StepResult, previous: str, waited: float) -> None:
        pass

    def waiting(self, result: StepResult, waited: float, next_read_in: float) -> None:
        pass

    def step_finished(self, result: StepResult) -> None:
        pass

    def warning(self, text: str) -> None:
        pass

    def debug(self, text: str) -> None:
        pass


def action_simulated(trial: Trial, use_history: bool, seed: int) -> Measure:
    """The real engine, client and planner against the simulator, on a FakeClock."""
    clock = FakeClock()
    sim = HexSimulator(TOKEN, clock=clock.wall)
    trial.configure(sim)
    values = {
        "api-token": TOKEN,
        "project-id": PROJECT,
        "hex-url": SIM_BASE,
        "use-run-history": str(use_history).lower(),
        "timeout": str(_timeout_for(trial.case)),
        "fail-on-error": "false",
    }
    settings = load_settings(values, environ={})
    rng = random.Random(f"{seed}/{trial.case.name}/{trial.rep}/action")
    session = simulated_session(sim, SIM_BASE)
    session.trust_env = False  # no proxy look-ups in the environment per request: a third of the time here
    client = HexClient(settings.api_base_url, settings.api_token, clock, session=session, rng=rng)
    engine = Engine(settings, client, clock, CancelSignal(), QuietObserver(), rng=rng)
    [result] = engine.run()
    found = measure(sim, trial.status)
    if found.error is None and result.status != trial.status:
        found.error = f"the action reported {result.status}: {result.message}"
    counted = (client.counts["status"], client.counts["list"])
    if found.error is None and counted != (found.status_reads, found.list_reads):
        found.error = f"the client counted {client.counts}, the simulator saw {found}"
    return found


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


def action_process(trial: Trial) -> Measure:
    """`python entrypoint.py` as a process (with history), against a simulator of its own."""
    with serve(HexSimulator(TOKEN)) as server:
        trial.configure(server.sim)
        extra = {"INPUT_TIMEOUT": str(_timeout_for(trial.case)), "INPUT_FAIL-ON-ERROR": "false"}
        done = subprocess.run(
            [sys.executable, str(ROOT / "entrypoint.py")],
            cwd=ROOT,
            env=_action_environ(server.url, extra),
            capture_output=True,
            text=True,
            timeout=_timeout_for(trial.case) + 60,
            check=False,
        )
        found = measure(server.sim, trial.status)
    if found.error is None and done.returncode != 0:
        found.error = f"entrypoint.py exited {done.returncode}: {(done.stdout + done.stderr)[-500:]}"
    return found


# -- the oracle ----------------------------------------------------------------------------------


def oracle_on(case: Case, latency: float) -> list[Measure]:
    """The oracle at mean latency `latency` (the action's own, measured): the fewest expected status
    reads of a fixed schedule that knows the true distribution, with that expected mean latency.

    The price of latency is bisected (hex_action.oracle.best_plan on the fine grid) down to two
    neighbouring schedules, one above and one at or below `latency`. Schedules come in steps (one
    read more or less), so the answer is their mix (each run read by one of them, with the share
    that makes the mean latency `latency`): a schedule that knows only the distribution too, whose
    reads lie on the line between theirs, the lower hull the dynamic programme traces. Expected
    values, not these runs' draws: a case's own runs would move the bound by several per cent.
    """
    grid = make_grid(case.truth(), 0.0, _timeout_for(case), EXACT)
    target = max(latency, 0.25)
    start = plan_for_latency(grid, target, FLOOR)
    cheap = dear = start  # latency above the target / at or below it
    for _ in range(60):
        if cheap.latency > target:
            break
        cheap = best_plan(grid, cheap.price / 2, FLOOR)
    for _ in range(60):
        if dear.latency <= target:
            break
        dear = best_plan(grid, dear.price * 2, FLOOR)
    while cheap.latency > target >= dear.latency and dear.price / cheap.price > 1.001:
        middle = best_plan(grid, math.sqrt(cheap.price * dear.price), FLOOR)
        if middle.latency > target:
            cheap = middle
        else:
            dear = middle
    if not cheap.latency > target >= dear.latency or cheap.latency - dear.latency < 1e-9:
        return [Measure(dear.reads, latency=dear.latency)]
    share = (cheap.latency - target) / (cheap.latency - dear.latency)  # of the runs read by the dearer
    return [
        Measure(
            share * dear.reads + (1 - share) * cheap.reads,
            latency=share * dear.latency + (1 - share) * cheap.latency,
        )
    ]


# -- one case, in a worker process -----------------------------------------------------------------


@dataclass
class CaseResult:
    case: Case
    action: list[Measure]
    poller: list[Measure]
    oracle: list[Measure]
    plain: list[Measure] = field(default_factory=list)
    #: The simulated trials, in the order of `action` (for the rows by what the history showed).
    trials: list[Trial] = field(default_factory=list)
    #: Planning times in ms: the first plan (with the price's bisection), and a replan.
    plans: list[float] = field(default_factory=list)
    replans: list[float] = field(default_factory=list)
    how: str = "simulated"
    #: For the process rows: the same trials on the simulated clock, which the real processes must agree with.
    simulated: list[Measure] = field(default_factory=list)


def planning_times(trials: list[Trial]) -> tuple[list[float], list[float]]:
    """The planner alone on each trial's history: first plan (bisection) and a replan, in ms."""
    plans, replans = [], []
    for trial in trials:
        history = trial.planner_history()
        started = time.perf_counter()
        wait = plan_wait(history, 15.0, _timeout_for(trial.case))
        first = wait.next_read(0.0) or FLOOR
        plans.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        wait.observe(first, "RUNNING", first - PENDING)
        replans.append((time.perf_counter() - started) * 1000)
    return plans, replans


def simulated_case(case: Case, trials_per_case: int, seed: int, history_runs: int, plain: bool) -> CaseResult:
    trials = [make_trial(case, rep, seed, history_runs) for rep in range(trials_per_case)]
    action = [action_simulated(t, True, seed) for t in trials]
    latencies = [m.latency for m in action if not math.isnan(m.latency)]
    oracle = oracle_on(case, statistics.fmean(latencies) if latencies else 2.0)
    result = CaseResult(case, action, [poller_exact(t) for t in trials], oracle, trials=trials)
    if plain:
        result.plain = [action_simulated(t, False, seed) for t in trials]
    result.plans, result.replans = planning_times(trials)
    return result


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
    """Interleaved, after one discarded warm-up of each (page cache), the action's bytecode compiled
    first as the image has it (its Dockerfile runs compileall): with PYTHONDONTWRITEBYTECODE set, as
    here and in the image, a fresh checkout would otherwise compile every module at every start."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "hex_action"), str(ROOT / "entrypoint.py")], check=True
    )
    startup = Startup()
    with serve(HexSimulator(TOKEN)) as server:
        _time_import_requests()
        _time_to_trigger(server)
        for _ in range(repetitions):
            startup.import_requests.append(_time_import_requests())
            startup.to_trigger.append(_time_to_trigger(server))
    return startup


# -- putting it together ---------------------------------------------------------------------------


#: Cases also run as real processes (short ones: they take their duration in real time).
PROCESS_CASES = ("1 min, lognormal CV 20%", "1 min, 10% fail at 0.1 D")


def run_all(args: argparse.Namespace, progress: Callable[[str], None]) -> list[CaseResult]:
    """Every case on the simulated clock in worker processes, while the short ones also run in real time."""
    simulated: list[Future[CaseResult]] = []
    real: dict[tuple[str, int, str], Future[Measure]] = {}
    process_trials: dict[str, list[Trial]] = {}
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forking of this one's threads
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as workers:
        for case in sorted(ALL_CASES, key=lambda c: -c.nominal):  # the long ones first
            plain = case.label == "lognormal CV 20%"
            simulated.append(workers.submit(simulated_case, case, args.trials, args.seed, args.history_runs, plain))
        with ThreadPoolExecutor(max_workers=64) as pool:
            for case in ALL_CASES:
                if case.name not in PROCESS_CASES:
                    continue
                process_trials[case.name] = [
                    make_trial(case, 10_000 + rep, args.seed, args.history_runs) for rep in range(args.processes)
                ]
                for rep, trial in enumerate(process_trials[case.name]):
                    real[case.name, rep, "poller"] = pool.submit(poller_thread, trial)
                    real[case.name, rep, "action"] = pool.submit(action_process, trial)
                    time.sleep(0.2)  # stagger the interpreters' start-up on small machines
            progress(f"{len(real)} runs in real time (action processes, pollers); the simulated ones meanwhile...")
            done = {key: future.result() for key, future in real.items()}
        progress("real-time runs done, waiting for the simulated ones...")
        results = {r.case.name: r for r in (future.result() for future in simulated)}
    ordered = [results[case.name] for case in ALL_CASES]
    for case in ALL_CASES:
        if case.name in PROCESS_CASES:
            action = [done[case.name, rep, "action"] for rep in range(args.processes)]
            latencies = [m.latency for m in action if not math.isnan(m.latency)]
            oracle = oracle_on(case, statistics.fmean(latencies) if latencies else 2.0)
            poller = [done[case.name, rep, "poller"] for rep in range(args.processes)]
            trials = process_trials[case.name]
            ordered.append(
                CaseResult(
                    case,
                    action,
                    poller,
                    oracle,
                    trials=trials,
                    how="processes",
                    simulated=[action_simulated(t, True, args.seed) for t in trials],
                )
            )
    return ordered


def _mean(measures: list[Measure], what: Callable[[Measure], float]) -> float:
    values = [what(m) for m in measures if m.error is None]
    return statistics.fmean(values) if values else math.nan


def _p90(measures: list[Measure]) -> float:
    values = sorted(m.latency for m in measures if m.error is None)
    return values[min(len(values) - 1, math.ceil(0.9 * len(values)) - 1)] if values else math.nan


def _status(measures: list[Measure]) -> float:
    return _mean(measures, lambda m: m.status_reads)


def _latency(measures: list[Measure]) -> float:
    return _mean(measures, lambda m: m.latency)


def ratio(result: CaseResult) -> float:
    return _status(result.action) / _status(result.oracle)


def _row_name(result: CaseResult) -> str:
    return result.case.name + (f" ({len(result.action)} processes)" if result.how == "processes" else "")


def report(results: list[CaseResult], startup: Startup) -> list[str]:
    """The table, the rows without history, planning times, start-up, and PASS/MISS per target, as lines."""
    lines = [
        "| case | status reads: action / 5 s poller / oracle | list reads | mean latency: action / poller "
        "/ oracle | p90 latency: action / poller | action ÷ oracle reads |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {_row_name(r)} | {_status(r.action):.1f} / {_status(r.poller):.1f} / {_status(r.oracle):.1f} "
            f"| {_mean(r.action, lambda m: m.list_reads):.1f} "
            f"| {_latency(r.action):.2f} / {_latency(r.poller):.2f} / {_latency(r.oracle):.2f} s "
            f"| {_p90(r.action):.1f} / {_p90(r.poller):.1f} s | {ratio(r):.2f} |"
        )
    lines += [
        "",
        "Without history (the plain strategy, unchanged: gaps from 2 s growing to poll-interval 15 s), same runs:",
        "",
        "| case | status reads: action / 5 s poller | mean latency: action / poller | p90 latency: action / poller |",
        "|---|---|---|---|",
    ]
    for r in results:
        if r.plain:
            lines.append(
                f"| {r.case.name} | {_status(r.plain):.1f} / {_status(r.poller):.1f} "
                f"| {_latency(r.plain):.2f} / {_latency(r.poller):.2f} s "
                f"| {_p90(r.plain):.1f} / {_p90(r.poller):.1f} s |"
            )
    lines += ["", *by_history(results)]
    lines += [
        "",
        "planning time (the planner alone on each trial's history; first plan with the price's bisection / a replan):",
    ]
    for scale, _ in DURATIONS:
        plans = [t for r in results if r.case.scale == scale for t in r.plans]
        replans = [t for r in results if r.case.scale == scale for t in r.replans]
        if not plans or not replans:
            continue
        lines.append(
            f"- {scale}: median {statistics.median(plans):.0f} ms, max {max(plans):.0f} ms / "
            f"median {statistics.median(replans):.0f} ms, max {max(replans):.0f} ms"
        )
    trigger, imports = statistics.median(startup.to_trigger), statistics.median(startup.import_requests)
    lines += [
        "",
        f"start-up: spawn of `python entrypoint.py` to the trigger POST at the simulator, median {trigger:.3f} s; "
        f'`python -c "import requests"`, median {imports:.3f} s (n={len(startup.to_trigger)} each, interleaved); '
        f"ratio {startup.ratio:.2f}",
        "",
        "targets, every case with history:",
    ]
    for r in results:
        if r.how == "processes":
            continue
        mine, polled = _latency(r.action), _latency(r.poller)
        limit = READ_TARGETS[r.case.family]
        ok = mine <= LATENCY_TARGET and mine <= polled and ratio(r) <= limit
        lines.append(
            _verdict(
                ok,
                f"{_row_name(r)}: mean latency {mine:.2f} s (≤ {LATENCY_TARGET:g} s and ≤ the poller's "
                f"{polled:.2f} s), status reads {ratio(r):.2f}x the oracle's (≤ {limit:g}x)",
            )
        )
    lines += ["", "real processes against the simulated clock, on the same runs (the simulated rows' fidelity):"]
    for r in results:
        if r.how != "processes":
            continue
        real, simulated = r.action, r.simulated
        same_reads = abs(_status(real) - _status(simulated)) <= max(0.5, 0.05 * _status(simulated))
        offsets = read_offsets(real, simulated, [t.end for t in r.trials])
        late = statistics.median(offsets) if offsets else math.nan
        lines.append(
            _verdict(
                same_reads and late <= FIDELITY_OFFSET,
                f"{_row_name(r)}: status reads {_status(real):.1f} real / {_status(simulated):.1f} simulated "
                f"(within 5 %); the real reads come {late:.2f} s after the simulated ones, median of "
                f"{len(offsets)} (≤ {FIDELITY_OFFSET:g} s: HTTP round trips and timers); mean latency "
                f"{_latency(real):.2f} / {_latency(simulated):.2f} s (a read that lands just after an end in one and "
                "just before it in the other moves ten runs' mean by a second)",
            )
        )
    lines.append(
        _verdict(
            startup.ratio <= STARTUP_TARGET, f"start-up ≤ {STARTUP_TARGET:g}x `import requests`: {startup.ratio:.2f}x"
        )
    )
    return lines


def by_history(results: list[CaseResult]) -> list[str]:
    """The failure mixes split by whether the run's history showed a failure: the planner reads early
    only where one did, so the runs that fail after a history without one are seen late."""
    lines = [
        "The early-failure mixes by what the run's history showed (same runs as above):",
        "",
        "| case | history | runs | status reads: action / poller | mean latency: action / poller "
        "| failing runs: count, mean latency |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.case.family != "failures" or r.how != "simulated":
            continue
        for shown in (True, False):
            rows = [
                (a, p, t)
                for a, p, t in zip(r.action, r.poller, r.trials, strict=True)
                if any(status != "COMPLETED" for _, status in t.history) == shown
            ]
            if not rows:
                continue
            action, poller = [a for a, _, _ in rows], [p for _, p, _ in rows]
            failing = [a for a, _, t in rows if t.status != "COMPLETED"]
            lines.append(
                f"| {r.case.name} | {'a failure' if shown else 'no failure'} | {len(rows)} "
                f"| {_status(action):.1f} / {_status(poller):.1f} | {_latency(action):.2f} / {_latency(poller):.2f} s "
                f"| {len(failing)}, {_latency(failing):.1f} s |"
            )
    return lines


def read_offsets(real: list[Measure], simulated: list[Measure], ends: list[float]) -> list[float]:
    """How much later each real status read came than the same read on the simulated clock: the reads
    both made before the run ended (the plan's own; after the end the two may differ by a read)."""
    offsets = []
    for one, other, end in zip(real, simulated, ends, strict=True):
        before = [(a, b) for a, b in zip(one.reads_at, other.reads_at, strict=False) if a < end and b < end]
        offsets += [a - b for a, b in before]
    return offsets


def _verdict(ok: bool, text: str) -> str:
    return f"- {'PASS' if ok else '**MISS**'} {text}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs (10 simulated per case, 2 processes)")
    parser.add_argument("--trials", type=int, help="simulated runs per case (default 300)")
    parser.add_argument("--processes", type=int, help="real-process runs per short case (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the simulated runs (default 2)")
    parser.add_argument(
        "--history-runs", type=int, default=HISTORY_RUNS, help=f"prior runs in each history (default {HISTORY_RUNS})"
    )
    parser.add_argument("--startup-reps", type=int, help="start-up measurements (default 15)")
    parser.add_argument("--seed", type=int, default=1, help="seed for runs and histories (default 1)")
    args = parser.parse_args(argv)
    args.trials = args.trials or (10 if args.quick else 300)
    args.processes = args.processes or (2 if args.quick else 10)
    args.startup_reps = args.startup_reps or (3 if args.quick else 15)

    def progress(text: str) -> None:
        print(f"[{time.monotonic() - began:5.0f} s] {text}", file=sys.stderr, flush=True)

    began = time.monotonic()
    python = Path(sys.executable)
    shown = python.relative_to(ROOT) if python.is_relative_to(ROOT) else python
    command = shlex.join([str(shown), *sys.argv]) if argv is None else "bench.main()"
    print("# hex-action wait benchmark\n")
    print(f"command: `{command}` (in {ROOT}), Python {platform.python_version()}")
    print(
        f"action: defaults (poll-interval 15s, use-run-history true); poller: a read every {POLL_GAP:g} s; "
        f"oracle: the fewest reads of any fixed schedule that knows the true distribution, at the action's "
        f"mean latency. {args.trials} simulated runs per case (seed {args.seed}), each with its own history of "
        f"{args.history_runs} runs from the same distribution; pending {PENDING:g} s; rate limits on. "
        "Reads and latency are means per run.\n"
    )
    progress(f"start-up, {args.startup_reps} times each...")
    startup = measure_startup(args.startup_reps)
    results = run_all(args, progress)
    for line in report(results, startup):
        print(line)
    measures = [m for r in results for m in r.action + r.poller + r.plain]
    problems = [m for m in measures if m.error or m.throttled]
    for m in problems:
        print(f"\nWARNING: {m.error or ''} {f'{m.throttled} reads answered 429' if m.throttled else ''}".rstrip())
    print(f"\n(wall time {time.monotonic() - began:.0f} s)")
    return 1 if any(m.error for m in problems) else 0


if __name__ == "__main__":
    sys.exit(main())
