"""End to end, outside GitHub: the real CLI (`entrypoint.py`) as a process against the simulator,
with no GitHub variable set, as a person at a terminal or a cron job runs it.

What must hold on every path: the token appears in no byte of stdout or stderr, whether it
came by flag, HEX_API_TOKEN or INPUT_API-TOKEN (and even when Hex echoes it back); no
workflow command is written; with `--output json` stdout is exactly one JSON document. Then
the commands (`status`, `cancel`, `runs`), progress lines (a retry waiting, a heartbeat),
and Ctrl-C (SIGINT exits 130 after cancelling the run). Every test is marked `e2e`.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from e2e_support import ActionProcess, ActionResult, SimClient, kinds, start_action

pytestmark = pytest.mark.e2e

#: Distinctive, so that any piece of it is found by a plain substring search.
TOKEN = "hxtk-CLI-9e41b7c2d05f4a3688e1-SECRET"
#: Every run of the token this long is searched for: a truncated or split token is a leak too.
WINDOW = 8
#: A line the runner would read as a workflow command (or the legacy form).
WORKFLOW_COMMAND = re.compile(r"^\s*::|##\[", re.MULTILINE)

Launcher = Callable[..., ActionProcess]


@pytest.fixture
def sim(http_sim: SimClient) -> SimClient:
    """This module's simulator, reset, accepting TOKEN (conftest's `http_sim`)."""
    return http_sim


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Launcher]:
    """`cli(*args, token_by=..., env=...)` starts the CLI outside GitHub; leftovers are killed."""
    started: list[ActionProcess] = []
    numbers = itertools.count()

    def _cli(*args: str, token_by: str = "env", env: dict[str, str] | None = None) -> ActionProcess:  # noqa: S107
        inputs: dict[str, str] = {}
        extra = dict(env or {})
        args_list = list(args)
        if token_by == "flag":
            args_list += ["--api-token", TOKEN]
        elif token_by == "env":
            extra["HEX_API_TOKEN"] = TOKEN
        elif token_by == "input":
            inputs["api-token"] = TOKEN  # INPUT_API-TOKEN, as a wrapper script might set it
        process = start_action(tmp_path / f"cli{next(numbers)}", inputs, github=False, args=args_list, env=extra)
        started.append(process)
        return process

    yield _cli
    for process in started:
        process.kill()


def new_project(sim: SimClient, **spec: object) -> str:
    project_id = str(uuid.uuid4())
    sim.project(project_id, **{"pendingSeconds": 0.2, "runningSeconds": 1.0, **spec})
    return project_id


def check_clean(result: ActionResult, *, as_json: bool) -> Any:
    """No token in any form, no workflow command, and with JSON one document on stdout (returned)."""
    everything = result.stdout + result.stderr
    for start in range(len(TOKEN) - WINDOW + 1):
        piece = TOKEN[start : start + WINDOW]
        assert piece not in everything, f"token piece {piece!r} leaked\n{result.describe()}"
    assert not WORKFLOW_COMMAND.search(everything), result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    assert result.output_file == ""
    assert result.summary == ""
    if not as_json:
        assert result.stdout == "", "text mode writes to stderr only\n" + result.describe()
        return None
    return json.loads(result.stdout)  # one document and nothing else: anything more fails here


def wait_all(processes: list[ActionProcess], timeout: float = 60.0) -> list[ActionResult]:
    with ThreadPoolExecutor(max_workers=len(processes)) as pool:
        return list(pool.map(lambda p: p.wait(timeout), processes))


# ------------------------------------------------------------------------------ the token


@pytest.mark.parametrize("token_by", ["flag", "env", "input"])
def test_the_token_is_never_shown_outside_github(sim: SimClient, cli: Launcher, token_by: str) -> None:
    fine, failing, echoing = new_project(sim), new_project(sim, finalStatus="ERRORED"), new_project(sim)
    # Hex echoing the token back in an error body: the action must still not show it.
    sim.fault(method="POST", pathRegex=f"{echoing}/runs$", status=401, body={"message": "bad token {token}"})
    url = ["--hex-url", sim.url]
    processes = {
        "success, text": cli("--project-id", fine, *url, token_by=token_by),
        "failure, json": cli("--project-id", failing, *url, "--output", "json", token_by=token_by),
        "api error, text": cli("--project-id", echoing, *url, token_by=token_by),
        "invalid input, json": cli(
            "--project-id", fine, *url, "--timeout", "soon", "--output", "json", token_by=token_by
        ),
        "debug, text": cli("--project-id", fine, *url, "--verbose", token_by=token_by),
        "usage error": cli("--api-tokn", TOKEN, "--project-id", fine, token_by=token_by),
    }
    results = dict(zip(processes, wait_all(list(processes.values())), strict=True))
    for name, result in results.items():
        document = check_clean(result, as_json="json" in name)
        expected = {"success": 0, "failure": 1, "api error": 1, "invalid input": 2, "debug": 0, "usage error": 2}
        assert result.returncode == expected[name.split(",")[0]], f"{name}\n{result.describe()}"
        if document is not None:
            assert set(document) == {
                "run-id",
                "run-url",
                "status",
                "elapsed-seconds",
                "trace-id",
                "project-version",
                "results",
            }
    assert "***" in results["api error, text"].stderr, "Hex's echo of the token is shown redacted"
    assert "debug: " in results["debug, text"].stderr


# ------------------------------------------------------------------------------ JSON


def test_json_is_one_document_with_numbers_for_every_ending(sim: SimClient, cli: Launcher) -> None:
    fine, failing, slow = new_project(sim), new_project(sim, finalStatus="ERRORED"), new_project(sim, runningSeconds=60)
    missing = new_project(sim, exists=False)
    url = ["--hex-url", sim.url, "--output", "json"]
    processes = {
        "COMPLETED": cli("--project-id", fine, *url),
        "ERRORED": cli("--project-id", failing, *url),
        "TIMED_OUT": cli("--project-id", slow, *url, "--timeout", "3s"),
        "NOT_STARTED": cli("--project-id", missing, *url),
        "DRY_RUN": cli("--project-id", fine, *url, "--dry-run", "true"),
        "INVALID_INPUT": cli("--project-id", "nope", *url),
    }
    results = dict(zip(processes, wait_all(list(processes.values())), strict=True))
    for status, result in results.items():
        document = check_clean(result, as_json=True)
        assert document["status"] == status, result.describe()
        assert isinstance(document["results"], list)
        if status in ("COMPLETED", "ERRORED", "TIMED_OUT"):
            assert isinstance(document["elapsed-seconds"], int | float), result.describe()
            assert isinstance(document["project-version"], int)
            assert document["results"][0]["run-id"] == document["run-id"]
            assert document["run-url"].endswith(document["run-id"])
    assert results["COMPLETED"].returncode == 0
    assert results["ERRORED"].returncode == 1
    assert "error: The Hex run ended ERRORED." in results["ERRORED"].stderr
    assert results["ERRORED"].stderr.count("ended ERRORED") == 1, "each error said once"
    assert results["TIMED_OUT"].returncode == 1
    assert "the timeout" in results["TIMED_OUT"].stderr
    assert results["NOT_STARTED"].returncode == 1
    assert results["INVALID_INPUT"].returncode == 2
    assert "error: Input 'project-id'" in results["INVALID_INPUT"].stderr
    assert "nothing was run" in results["DRY_RUN"].stderr
    assert "Started run" not in results["DRY_RUN"].stderr, "a dry run starts nothing"


def test_input_params_take_yaml_and_hex_url_comes_from_the_environment(sim: SimClient, cli: Launcher) -> None:
    project = new_project(sim)
    result = cli(
        "--project-id",
        project,
        "--input-params",
        "region: EMEA\nyears: [2024]",
        "--output",
        "json",
        env={"HEX_URL": sim.url},
    ).wait()
    document = check_clean(result, as_json=True)
    assert document["status"] == "COMPLETED", result.describe()
    (start,) = kinds(sim.log(), "start")
    assert start["body"]["inputParams"] == {"region": "EMEA", "years": [2024]}


# ---------------------------------------------------------------------- status, cancel, runs


def test_status_runs_and_cancel(sim: SimClient, cli: Launcher) -> None:
    project = new_project(sim, runningSeconds=120)
    url = ["--hex-url", sim.url]
    started = cli("--project-id", project, *url, "--wait", "false", "--output", "json").wait()
    document = check_clean(started, as_json=True)
    assert started.returncode == 0, started.describe()
    run_id = document["run-id"]
    assert "left running (wait is false)" in started.stderr
    assert f"Hex run {run_id} {document['status']} in" not in started.stderr

    status = cli("status", run_id, "--project-id", project, *url, "--output", "json").wait()
    read = check_clean(status, as_json=True)
    assert status.returncode == 0, status.describe()
    assert read["run-id"] == run_id
    assert read["status"] in ("PENDING", "RUNNING")
    assert f"Hex run {run_id} is {read['status']}" in status.stderr
    assert len(kinds(sim.log(), "status")) == 2, "one read each (the trigger's and the status command's)"

    listing = cli("runs", "--project-id", project, *url, "--output", "json").wait()
    runs = check_clean(listing, as_json=True)
    assert listing.returncode == 0, listing.describe()
    assert [r["run-id"] for r in runs["runs"]] == [run_id]
    assert run_id in listing.stderr

    cancelled = cli("cancel", run_id, "--project-id", project, *url, "--output", "json").wait()
    outcome = check_clean(cancelled, as_json=True)
    assert cancelled.returncode == 0, cancelled.describe()
    assert outcome["status"] == "CANCELLED"
    assert sim.runs()[0]["status"] == "KILLED"
    assert f"Hex run {run_id} was cancelled" in cancelled.stderr

    after = cli("status", run_id, "--project-id", project, *url).wait()
    check_clean(after, as_json=False)
    assert after.returncode == 1, "a killed run is a failure"
    assert "KILLED" in after.stderr

    again = cli("cancel", run_id, "--project-id", project, *url).wait()
    check_clean(again, as_json=False)
    assert again.returncode == 0, again.describe()
    assert "Nothing to cancel: the run had already ended KILLED." in again.stderr

    unknown = str(uuid.uuid4())
    nothing = cli("status", unknown, "--project-id", project, *url, "--output", "json").wait()
    assert check_clean(nothing, as_json=True)["status"] == "UNKNOWN"
    assert nothing.returncode == 1
    assert "Hex knows no such project or run" in nothing.stderr


def test_following_an_existing_run_says_so(sim: SimClient, cli: Launcher) -> None:
    project = new_project(sim, runningSeconds=2)
    run_id = sim.api("POST", f"/projects/{project}/runs", {}).json()["runId"]
    result = cli("status", run_id, "--project-id", project, "--hex-url", sim.url, "--wait").wait()
    check_clean(result, as_json=False)
    assert result.returncode == 0, result.describe()
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Following run")]
    assert line.startswith(f"Following run {run_id} of "), line
    assert line.endswith(", started before"), line
    assert "Started run" not in result.stderr
    assert "(link follows)" not in result.stderr


# ------------------------------------------------------------------------- progress, signals


def test_retries_and_heartbeats_print_and_ctrl_c_exits_130(sim: SimClient, cli: Launcher) -> None:
    # Slow cases side by side: a 429 with Retry-After, a wait long enough for a heartbeat, a Ctrl-C.
    retried, slow, interrupted = (
        new_project(sim),
        new_project(sim, runningSeconds=45),
        new_project(sim, runningSeconds=60),
    )
    sim.fault(method="POST", pathRegex=f"{retried}/runs$", status=429, retryAfter=2)
    url = ["--hex-url", sim.url, "--use-run-history", "false"]
    retry = cli("--project-id", retried, *url)
    heartbeat = cli("--project-id", slow, *url, "--poll-interval", "5s")  # a read at least every 5 s
    ctrl_c = cli("--project-id", interrupted, *url, "--output", "json")
    sim.wait_for(lambda log: any(interrupted in e["path"] for e in kinds(log, "status")), timeout=15, what="a read")
    ctrl_c.proc.send_signal(signal.SIGINT)
    sent = time.monotonic()

    result = ctrl_c.wait(15)
    document = check_clean(result, as_json=True)
    assert result.returncode == 130, result.describe()
    assert document["status"] == "CANCELLED"
    assert time.monotonic() - sent < 5
    run = next(r for r in sim.runs() if r["projectId"] == interrupted)
    assert run["status"] == "KILLED", "Ctrl-C cancels the run before exiting"
    assert "The run was cancelled." in result.stderr

    result = retry.wait(30)
    check_clean(result, as_json=False)
    assert result.returncode == 0, result.describe()
    (line,) = [line for line in result.stderr.splitlines() if "Trying again" in line]
    assert re.search(r"Hex answered 429 .*\. Trying again in 2s \(at \d\d:\d\d:\d\d UTC\)\.$", line), line

    result = heartbeat.wait(90)
    check_clean(result, as_json=False)
    assert result.returncode == 0, result.describe()
    beats = [line for line in result.stderr.splitlines() if line.startswith("Still RUNNING after waiting")]
    assert beats, result.describe()
    assert all("next status read in" in line for line in beats)
    assert len(beats) == 1, "a heartbeat after 30 s of silence, not one line per read"
    assert len(kinds(sim.log(), "status")) > len(beats) + 2


def test_sigterm_exits_143_after_cancelling(sim: SimClient, cli: Launcher) -> None:
    project = new_project(sim, runningSeconds=60)
    process = cli("--project-id", project, "--hex-url", sim.url)
    sim.wait_for(lambda log: bool(kinds(log, "start")), timeout=15, what="a start")
    process.proc.send_signal(signal.SIGTERM)
    result = process.wait(15)
    check_clean(result, as_json=False)
    assert result.returncode == 143, result.describe()
    assert sim.runs()[0]["status"] == "KILLED"
