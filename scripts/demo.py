"""`make demo`: run the action against the local Hex simulator and show what a workflow would see.

No Hex account is needed: a simulator serves Hex's run API on 127.0.0.1, the real
`entrypoint.py` runs as a process with the environment the GitHub runner gives a Docker
action, and the step outputs and job summary it wrote are printed afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from runner_parser import read_output_file  # noqa: E402 - the runner's own parsing rules, ported

from hex_action.simulator import HexSimulator, serve  # noqa: E402 - after the path is set

TOKEN = "hxtw_demo_token_not_a_real_secret"  # noqa: S105 - the simulator's made-up token
PROJECT = "019a26ea-83df-7003-a89d-abc76d32842e"
DEMO_TITLES = {
    "extract": "Extract orders and customers",
    "transform-orders": "Transform orders",
    "transform-customers": "Transform customers",
    "report": "Revenue report",
}


def run_action(url: str, inputs: dict[str, str], title: str) -> int:
    """Run entrypoint.py with the runner's environment; show its log, outputs and job summary."""
    declared = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    with tempfile.TemporaryDirectory() as tmp:
        summary, outputs = Path(tmp, "summary"), Path(tmp, "outputs")
        summary.touch()
        outputs.touch()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
        env.update({f"INPUT_{name.upper()}": "" for name in declared})  # the runner passes every input
        env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
        env.update({"INPUT_API-TOKEN": TOKEN, "INPUT_HEX-URL": url})
        env.update({"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)})
        print(f"\n=== {title} ===\n--- log ---", flush=True)
        # The GitHub presentation, as in a workflow (outside one the command line speaks plain text);
        # without GITHUB_ACTIONS, so that debug lines stay hidden as the runner hides them.
        command = [sys.executable, str(ROOT / "entrypoint.py"), "--output", "github"]
        code = subprocess.run(command, env=env, cwd=tmp, check=False).returncode
        print(f"--- exit code: {code} ---\n--- step outputs ($GITHUB_OUTPUT, as the runner reads it) ---")
        for name, value in read_output_file(outputs).items():
            if name == "results":  # one line per step
                print("results:", *(f"  {json.dumps(step)}" for step in json.loads(value)), sep="\n")
            else:
                print(f"{name}: {value}")
        print("--- job summary ($GITHUB_STEP_SUMMARY) ---")
        print(summary.read_text().rstrip())
        return code


def main() -> int:
    """Start the simulator, run a project and a pipeline, show the results."""
    simulator = HexSimulator(TOKEN, default_pending_seconds=0.5, default_running_seconds=3.0)
    simulator.configure_project(
        PROJECT, title="Daily revenue", pending_seconds=0.5, running_seconds=4.0, history=[3.8, 4.1, 4.0, 4.2]
    )
    # The demo pipeline's projects, by name (their ids are in scripts/demo_pipeline.yml).
    for step in yaml.safe_load((ROOT / "scripts" / "demo_pipeline.yml").read_text()):
        simulator.configure_project(step["project-id"], title=DEMO_TITLES[step["name"]])
    with serve(simulator) as server:
        print(f"Hex simulator on {server.url} (token {TOKEN[:9]}…)")
        codes = [
            run_action(
                server.url,
                {"project-id": PROJECT, "input-params": '{"region": "EMEA", "as_of": "2026-11-27"}'},
                "One project, waiting for the result",
            )
        ]
        pipeline = (ROOT / "scripts" / "demo_pipeline.yml").read_text()
        codes.append(run_action(server.url, {"pipeline": pipeline}, "A pipeline: extract, two transforms, report"))
        requests_made = simulator.requests_log()
        print(f"\nThe simulator answered {len(requests_made)} API requests in all.")
    return 0 if all(code == 0 for code in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
