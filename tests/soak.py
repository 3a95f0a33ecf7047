"""`make soak`: many seeded chaos runs of the real entrypoint, with the figures of what they survived.

Each seed runs `entrypoint.py` as a process against its own simulator in chaos mode and checks
the invariants (tests/chaos_support.py). Prints the runs, the faults injected by kind, the
outcomes, and every invariant violation with its seed (rerun one with `--first-seed N --runs 1`).
Exit code 1 when any invariant broke.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the tests' helpers, as pytest's pythonpath has them

from chaos_support import Report, run_seed

from hex_action.simulator import CHAOS_KINDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="how many seeds to run (1000)")
    parser.add_argument("--first-seed", type=int, default=1, help="the first seed (1)")
    parser.add_argument("--workers", type=int, default=10, help="runs at once (10; most of a run is waiting)")
    args = parser.parse_args(argv)

    began = time.monotonic()
    reports: list[Report] = []
    seeds = range(args.first_seed, args.first_seed + args.runs)
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        futures = [pool.submit(run_seed, seed) for seed in seeds]
        for done, future in enumerate(as_completed(futures), start=1):
            reports.append(future.result())
            if done % 100 == 0 or done == len(futures):
                broken = sum(bool(r.violations) for r in reports)
                print(
                    f"  {done}/{len(futures)} runs, {broken} with violations, {time.monotonic() - began:.0f}s",
                    flush=True,
                )
    seconds = time.monotonic() - began

    faults: Counter[str] = Counter()
    for report in reports:
        faults.update(report.faults)
    outcomes = Counter(r.status or "(none)" for r in reports)
    violating = sorted((r for r in reports if r.violations), key=lambda r: r.scenario.seed)
    print(
        f"\nsoak: {len(reports)} seeded runs (seeds {seeds.start}-{seeds.stop - 1}) in {seconds:.0f}s, "
        f"{args.workers} at once"
    )
    print(f"faults injected: {sum(faults.values())}")
    for kind in CHAOS_KINDS:
        print(f"  {kind:<13} {faults[kind]}")
    print("outcomes: " + ", ".join(f"{status} {n}" for status, n in outcomes.most_common()))
    signalled = sum(r.scenario.signal is not None for r in reports)
    print(f"signals sent at random moments: {signalled}")
    print(f"invariant violations: {sum(len(r.violations) for r in violating)} in {len(violating)} runs")
    for report in violating[:10]:
        print(report.describe())
    return 1 if violating else 0


if __name__ == "__main__":
    sys.exit(main())
