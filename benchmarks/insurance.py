"""`make bench-insurance`: what planning for failures a history has not shown would cost, on `make bench`'s runs.

The planner reads where the project's history says the run will end, failures included. A
history of ten runs that shows no failure gets no reads for one, so in the benchmark's
early-failure mix (10 % of runs fail at about 0.1 D) a third of the histories show none,
and a failing run after one of them is seen at the first planned read: half a minute late at
1 min, minutes late at 10 min and 1 h. The
alternative is insurance: believe in an unseen failure anyway, as some runs' worth of
evidence (0.5 is the Krichevsky-Trofimov estimate of a share never seen), spread on a log
scale from the 2 s floor to the typical run time, and read for it. The plan's price of
latency stays set by the runs the history shows, as the planner sets it.

This prints, for each amount of insurance and each target mean latency, on the same trials
as `make bench` (same seed, same histories): the steady cases' status reads over the
oracle's (CV 5 % and CV 20 %, target 1.3), the early-failure mix's mean latency against
the 5 s poller's on the same runs (target: at most 2.5 s and the poller's) and its reads over
the oracle's (target 1.5), and how many of these nine cases meet their targets. Insurance 0
at 2 s is the shipped planner.

The reads are replayed by the planner, the schedule and the read budget alone (`replay`):
they decide every read, so the engine, client and simulator add nothing but time. tests/test_bench.py
checks that the replay reads exactly when `make bench`'s engine does.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # benchmarks/ is on the path above; bench puts the repository on it

from hex_action.oracle import FLOOR, EndTime, LogNormal, Plan, plan_for_latency
from hex_action.planner import LONGEST_GAP, TARGET_LATENCY, History, WaitPlan, estimate
from hex_action.ratelimit import status_read_limiter
from hex_action.run_lookup import HISTORY_RUNS
from hex_action.schedule import PollSchedule

#: The steady cases that pay for insurance, and the mix it is for.
STEADY = ("lognormal CV 5%", "lognormal CV 20%")
MIX = "10% fail at 0.1 D"
#: The action's default `poll-interval`.
POLL_INTERVAL = 15.0


def insured(history: History, worth: float) -> tuple[LogNormal, ...]:
    """The planner's estimate, plus `worth` runs' worth of a failure the history has not shown."""
    seen = estimate(history)
    if worth <= 0 or history.failed or not history.completed:
        return seen
    share = worth / (len(history.completed) + worth)
    low, high = math.log(FLOOR), statistics.median(math.log(d) for d in history.completed)
    unseen = LogNormal(share, (low + high) / 2, (high - low) / 4)  # about 95 % between the floor and the median
    return (*(LogNormal(c.weight * (1 - share), c.mu, c.sigma) for c in seen), unseen)


@dataclass
class InsuredPlan(WaitPlan):
    """A WaitPlan over insured durations whose price of latency is set on the durations the history shows."""

    seen: tuple[LogNormal, ...] = field(default=(), repr=False)

    def _make(self, elapsed: float) -> Plan:
        if self._price is None and self.seen:
            grid = self._grid(EndTime(self.seen, self.started), elapsed)
            self._price = plan_for_latency(grid, self.target, FLOOR, self.longest_gap).price
        return super()._make(elapsed)


def replay(trial: bench.Trial, worth: float = 0.0, target: float = TARGET_LATENCY, seed: int = 1) -> bench.Measure:
    """The status reads of the action's wait for `trial`'s run, and the latency of the read that sees its end.

    As the engine does: the first read where the plan puts it, then each read's status (PENDING
    for the simulator's first second, then RUNNING with Hex's elapsedTime) tells the schedule.
    The schedule's jitter (past the plan's horizon) is drawn as `make bench` draws the engine's,
    from `seed`, and the client's read budget holds a read back as it holds the engine's (reads
    at the floor for long would pass 6 in 12 s); the project and history reads come first.
    """
    history = trial.planner_history()
    limit = bench._timeout_for(trial.case)
    schedule = PollSchedule(POLL_INTERVAL, random.Random(f"{seed}/{trial.case.name}/{trial.rep}/action"))
    schedule.plan = InsuredPlan(
        insured(history, worth), max(POLL_INTERVAL, LONGEST_GAP), limit, target, seen=estimate(history)
    )
    budget = status_read_limiter()
    budget.record(0.0)  # the project's read
    budget.record(0.0)  # the history's
    at, reads = schedule.next_delay(0.0), 0
    while at <= limit:
        at = budget.next_allowed(at)
        budget.record(at)
        reads += 1
        if at >= trial.end:
            return bench.Measure(status_reads=reads, list_reads=1, latency=at - trial.end)
        running = at - bench.PENDING if at >= bench.PENDING else None
        at += schedule.next_delay(at, "RUNNING" if running is not None else "PENDING", running)
    return bench.Measure(status_reads=reads, list_reads=1, error="the wait timed out")


@dataclass(frozen=True)
class Row:
    """One case under one variant: the action's means, the poller's latency, the oracle's reads there."""

    worth: float
    target: float
    case: bench.Case
    reads: float
    latency: float
    poller_latency: float
    oracle_reads: float

    @property
    def ratio(self) -> float:
        return self.reads / self.oracle_reads

    @property
    def met(self) -> bool:
        latency_ok = self.latency <= bench.LATENCY_TARGET and self.latency <= self.poller_latency
        return latency_ok and self.ratio <= bench.READ_TARGETS[self.case.family]


def measure_case(case: bench.Case, worth: float, target: float, trials: int, seed: int) -> Row:
    """One case under one variant, on `make bench`'s trials for that seed."""
    runs = [bench.make_trial(case, rep, seed, HISTORY_RUNS) for rep in range(trials)]
    action = [replay(t, worth, target, seed) for t in runs]
    lost = [t.rep for t, m in zip(runs, action, strict=True) if m.error]
    if lost:  # a mean over what was seen would flatter the variant
        raise RuntimeError(f"{case.name}, insurance {worth:g} at {target:g} s: no read saw the end of runs {lost}")
    latency = statistics.fmean(m.latency for m in action)
    [oracle] = bench.oracle_on(case, latency)
    return Row(
        worth,
        target,
        case,
        statistics.fmean(m.status_reads for m in action),
        latency,
        statistics.fmean(bench.poller_exact(t).latency for t in runs),
        oracle.status_reads,
    )


def table(rows: list[Row]) -> list[str]:
    """One line per variant: the steady cases' read ratios, the mix's latency, and the cases met."""
    scales = [scale for scale, _ in bench.DURATIONS]
    head = [f"CV {label.split()[-1]}, {scale}: reads ÷ oracle" for label in STEADY for scale in scales]
    head += [f"mix {scale}: latency / poller, reads ÷ oracle" for scale in scales]
    lines = [
        "| insurance (runs' worth) | target latency | " + " | ".join(head) + " | cases met |",
        "|---" * (len(head) + 3) + "|",
    ]
    variants = list(dict.fromkeys((r.worth, r.target) for r in rows))  # in the order measured
    for worth, target in variants:
        mine = {r.case.name: r for r in rows if (r.worth, r.target) == (worth, target)}
        cells = []
        for label in STEADY:
            for scale in scales:
                row = mine[f"{scale}, {label}"]
                cells.append(f"{row.ratio:.2f}" + ("" if row.met else " ✗"))
        for scale in scales:
            row = mine[f"{scale}, {MIX}"]
            shown = f"{row.latency:.2f} / {row.poller_latency:.2f} s, {row.ratio:.2f}"
            cells.append(shown + ("" if row.met else " ✗"))
        met = sum(r.met for r in mine.values())
        lines.append(f"| {worth:g} | {target:g} s | " + " | ".join(cells) + f" | {met} of {len(mine)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=300, help="runs per case, as make bench (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="seed for runs and histories, as make bench (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--variants",
        default="0@2,0.02@2,0.1@2,0.5@2,0.5@1.5",
        help="insurance in runs' worth @ target mean latency in s, comma-separated (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.trials < 1 or args.workers < 1:
        parser.error("--trials and --workers take a whole number of at least 1")
    try:
        variants = [(float(w), float(t)) for w, t in (v.split("@") for v in args.variants.split(","))]
    except ValueError:
        variants = []
    if not variants or not all(0 <= w < math.inf and 0 < t < math.inf for w, t in variants):
        fix = "write worth@target pairs, a worth of 0 or more and a target in seconds, such as 0@2,0.5@1.5"
        parser.error(f"--variants {args.variants!r}: {fix}")
    chosen = [c for c in bench.ALL_CASES if c.label in (*STEADY, MIX)]
    began = time.monotonic()
    print("# Insuring against failures the history has not shown\n")
    print(
        f"{args.trials} runs per case (seed {args.seed}), each with its own history of {HISTORY_RUNS} runs, "
        "as in make bench. Steady cases: status reads ÷ the oracle's at the same latency (target 1.3). "
        "The mix: mean latency / the 5 s poller's on the same runs (target: at most 2.5 s and the poller's), "
        "and status reads ÷ the oracle's (target 1.5). "
        "✗: a target of that case missed (a steady case's latency counts too: at most 2.5 s and the poller's). "
        "Insurance 0 at 2 s is the shipped planner.\n"
    )
    jobs = [(c, w, t, args.trials, args.seed) for w, t in variants for c in chosen]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
        rows = list(pool.map(_measure_job, jobs))
    for line in table(rows):
        print(line)
    print(f"\n(wall time {time.monotonic() - began:.0f} s)")
    return 0


def _measure_job(job: tuple[bench.Case, float, float, int, int]) -> Row:
    return measure_case(*job)


if __name__ == "__main__":
    sys.exit(main())
