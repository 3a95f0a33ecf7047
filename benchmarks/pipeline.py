"""Pipeline benchmark: wall time of a graph pipeline against the sum of its steps' durations.

Runs the demo pipeline (scripts/demo_pipeline.yml: extract, then two transforms at once,
then a report) as `python entrypoint.py --output json` against a local Hex simulator, with
run durations set per project, once without and once with run history, and prints the
action's total time against the critical path (the least any scheduler could take) and
against the steps one after another: with steps of minutes, in-process on a simulated clock
(the real engine, client and schedule), and with steps of seconds as a real process.
`make bench` runs it after the wait benchmark.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import QuietObserver  # noqa: E402 - benchmarks/, beside this script

from hex_action.client import HexClient  # noqa: E402
from hex_action.clock import FakeClock  # noqa: E402
from hex_action.engine import Engine  # noqa: E402
from hex_action.settings import load_settings  # noqa: E402
from hex_action.signals import CancelSignal  # noqa: E402
from hex_action.sim_transport import simulated_session  # noqa: E402
from hex_action.simulator import HexSimulator, serve  # noqa: E402

TOKEN = "bench-pipeline-token"  # noqa: S105 - the simulator's made-up token
PIPELINE = ROOT / "scripts" / "demo_pipeline.yml"
#: Seconds each step's run takes at the simulator (after PENDING), by step name: minutes, as
#: real pipelines take, on a simulated clock; and the same in seconds as real processes.
RUNNING = {"extract": 318.0, "transform-orders": 462.0, "transform-customers": 684.0, "report": 216.0}
#: Not whole seconds, so that no strategy's reads land on the ends by luck.
RUNNING_SHORT = {"extract": 5.3, "transform-orders": 7.7, "transform-customers": 11.4, "report": 3.6}
PENDING = 1.0
HEX = "https://hex.sim"


def _configure(simulator: HexSimulator, steps: list[dict[str, Any]], running: dict[str, float]) -> None:
    rng = random.Random(1)
    for step in steps:
        seconds = running[step["name"]]
        history = [PENDING + seconds * rng.uniform(0.95, 1.05) for _ in range(10)]
        simulator.configure_project(
            step["project-id"], pending_seconds=PENDING, running_seconds=seconds, history=history
        )


def run_simulated(steps: list[dict[str, Any]], use_history: bool) -> dict[str, float]:
    """The real engine, client and schedule in-process, against the simulator on a fake clock."""
    clock = FakeClock()
    simulator = HexSimulator(TOKEN, clock=clock.wall)
    _configure(simulator, steps, RUNNING)
    inputs = {"api-token": TOKEN, "hex-url": HEX, "pipeline": PIPELINE.read_text(encoding="utf-8")}
    settings = load_settings({**inputs, "use-run-history": str(use_history).lower(), "timeout": "2h"}, {})
    client = HexClient(settings.api_base_url, TOKEN, clock, session=simulated_session(simulator, HEX))
    began = clock.now()
    results = Engine(settings, client, clock, CancelSignal(), QuietObserver(), random.Random(1)).run()
    if any(r.status != "COMPLETED" for r in results):
        raise SystemExit(f"the pipeline failed: {[(r.name, r.status) for r in results]}")
    reads = sum(1 for entry in simulator.requests_log() if entry["method"] == "GET")
    return {"elapsed": clock.now() - began, "wall": float("nan"), "reads": float(reads)}


def run_once(steps: list[dict[str, Any]], use_history: bool) -> dict[str, float]:
    """One run of the pipeline as a process; its figures in seconds."""
    simulator = HexSimulator(TOKEN)
    _configure(simulator, steps, RUNNING_SHORT)
    with serve(simulator) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "HEX_"))}
        env.update(
            {
                "HEX_API_TOKEN": TOKEN,
                "INPUT_HEX-URL": server.url,
                "INPUT_PIPELINE": PIPELINE.read_text(encoding="utf-8"),
                "INPUT_USE-RUN-HISTORY": str(use_history).lower(),
            }
        )
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, str(ROOT / "entrypoint.py"), "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        wall = time.monotonic() - began
        reads = sum(1 for entry in simulator.requests_log() if entry["method"] == "GET")
    if done.returncode != 0:
        raise SystemExit(f"the pipeline failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    outputs = json.loads(done.stdout)  # --output json: one document on stdout
    return {"elapsed": float(outputs["elapsed-seconds"]), "wall": wall, "reads": float(reads)}


def main() -> int:
    """Run the pipeline with and without run history and print the figures."""
    steps = yaml.safe_load(PIPELINE.read_text(encoding="utf-8"))
    print("# hex-action pipeline benchmark\n")
    print(f"command: `{Path(sys.executable).name} benchmarks/pipeline.py`; pipeline: {PIPELINE.relative_to(ROOT)}")
    print("(extract, then two transforms at once, then a report); runs: pending 1 s + running as below; history:")
    print("10 prior runs within ±5%. The critical path is the least any scheduler could take.\n")
    print("| steps | run history | the action's total time | critical path | steps one after another | reads |")
    print("|---|---|---|---|---|---|")
    for label, running, runner in (
        ("minutes (simulated clock)", RUNNING, run_simulated),
        ("seconds (real process)", RUNNING_SHORT, run_once),
    ):
        hex_times = {name: PENDING + seconds for name, seconds in running.items()}
        critical = hex_times["extract"] + max(hex_times["transform-orders"], hex_times["transform-customers"])
        critical += hex_times["report"]
        in_order = sum(hex_times.values())
        for use_history in (False, True):
            figures = runner(steps, use_history)
            print(
                f"| {label} | {'yes' if use_history else 'no'} | {_time(figures['elapsed'])} "
                f"| {_time(critical)} (+{figures['elapsed'] / critical - 1:.0%}) "
                f"| {_time(in_order)} ({_saved(1 - figures['elapsed'] / in_order)}) | {figures['reads']:.0f} |"
            )
    return 0


def _saved(share: float) -> str:
    return f"{share:.0%} saved" if share >= 0 else f"{-share:.0%} longer"


def _time(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.1f} s"


if __name__ == "__main__":
    sys.exit(main())
