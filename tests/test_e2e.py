"""End to end: the real `entrypoint.py` as a process, with the runner's environment, against a
real HTTP simulator on 127.0.0.1.

Every exit path is driven here: success, Hex's failure statuses, the action's own timeout,
SIGINT/SIGTERM as the runner sends them, `wait: false`, dry runs, waiting on an existing run,
Hex API errors and retries, invalid inputs, and an unknown status (the command line outside
GitHub is tests/test_cli_e2e.py's).
Outputs are read back with the runner's GITHUB_OUTPUT algorithm and annotations with its
workflow-command parser (tests/e2e_support.py, tests/runner_parser.py).

Durations are kept short: the first status read comes 2 s after the trigger (Hex's read
floor), so most runs end in about 2.5 s. Groups of independent slow cases run side by side,
each against a simulator of its own; the quick tests share one simulator, reset per test.
Every test is marked `e2e` (module `pytestmark`).
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest
from e2e_support import (
    ActionProcess,
    ActionResult,
    SimClient,
    by_action,
    kinds,
    start_action,
)

from hex_action.simulator import HexSimulator, SimServer, serve

pytestmark = pytest.mark.e2e

#: Distinctive, so a leak is found by a plain substring search.
TOKEN = "hxtk-E2E-7f3a9c1d5b2e4a6f8091-SECRET"
#: How long after the signal the DELETE must reach Hex (the runner sends SIGTERM at +7.5 s).
CANCEL_BUDGET = 2.0


@pytest.fixture
def sim(http_sim: SimClient) -> SimClient:
    """This module's simulator, reset, accepting TOKEN (conftest's `http_sim`)."""
    return http_sim


Launcher = Callable[..., ActionProcess]
SimFactory = Callable[[], SimClient]


@pytest.fixture
def new_sim() -> Iterator[SimFactory]:
    """`new_sim()`: a simulator of its own, for cases run side by side (own log, own rate limits)."""
    servers: list[SimServer] = []

    def _new() -> SimClient:
        server = serve(HexSimulator(TOKEN))
        servers.append(server)
        return SimClient(server.url, TOKEN)

    yield _new
    with ThreadPoolExecutor() as pool:  # each takes up to 0.5 s to stop: stop them together
        list(pool.map(SimServer.close, servers))


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launcher]:
    """`launch(inputs, ...)` starts entrypoint.py in a directory of its own; leftovers are killed."""
    started: list[ActionProcess] = []
    numbers = itertools.count()

    def _launch(inputs: dict[str, str] | None = None, **kwargs: object) -> ActionProcess:
        process = start_action(tmp_path / f"step{next(numbers)}", inputs, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process

    yield _launch
    for process in started:
        process.kill()


Case = Callable[[SimClient, Launcher], None]


def run_side_by_side(new_sim: SimFactory, launch: Launcher, cases: Mapping[str, Case]) -> None:
    """Run independent cases at once, each against its own simulator, and report every failure.

    The runs mostly wait (the first status read is 2 s after the trigger), so a group costs
    about as long as its slowest case instead of the sum.
    """
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = {name: pool.submit(case, new_sim(), launch) for name, case in cases.items()}
    failures = [f"[{name}] {type(exc).__name__}: {exc}" for name, f in futures.items() if (exc := f.exception())]
    if failures:
        pytest.fail(f"{len(failures)} of {len(cases)} cases failed:\n\n" + "\n\n".join(failures), pytrace=False)


def new_project(sim: SimClient, **spec: object) -> str:
    """A project id configured at the simulator (fast by default)."""
    project_id = str(uuid.uuid4())
    sim.project(project_id, **{"pendingSeconds": 0.2, "runningSeconds": 1.0, **spec})
    return project_id


def base_inputs(sim: SimClient, project_id: str, **inputs: str) -> dict[str, str]:
    """The inputs of a typical workflow step (hyphenated names, as in `with:`)."""
    return {"api-token": TOKEN, "project-id": project_id, "hex-url": sim.url, **inputs}


def check_hygiene(result: ActionResult, token: str = TOKEN) -> None:
    """What holds on every exit path: the mask comes first, the token appears nowhere else,
    nothing crashed, and the file commands parse with the runner's algorithm (done on wait)."""
    lines = result.stdout.splitlines()
    if token:
        assert lines, result.describe()
        assert lines[0] == f"::add-mask::{token}", result.describe()
        assert result.stdout.count(token) == 1, result.describe()
        for channel in (result.stderr, result.output_file, result.summary):
            assert token not in channel, result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    assert len(result.summary.encode()) < 1024 * 1024


def one_error(result: ActionResult) -> str:
    """The single `::error` annotation's message."""
    errors = result.annotations("error")
    assert len(errors) == 1, result.describe()
    return errors[0].data


def action_run(sim: SimClient) -> dict[str, object]:
    """The one run stored at the simulator."""
    runs = sim.runs()
    assert len(runs) == 1, runs
    return runs[0]


# ------------------------------------------------------------------------------------ success


def test_completed_run_reports_every_output(sim: SimClient, launch: Launcher) -> None:
    project_id = new_project(sim, projectVersion=7)
    process = launch(base_inputs(sim, project_id))

    # run-id and run-url are in GITHUB_OUTPUT as soon as the trigger returns, before any status read.
    deadline = time.monotonic() + 10
    while not any(key == "run-id" for key, _ in process.outputs_so_far()):
        assert process.proc.poll() is None, process.wait().describe()
        assert time.monotonic() < deadline, "run-id never appeared in GITHUB_OUTPUT"
        time.sleep(0.02)
    early = dict(process.outputs_so_far())
    assert not kinds(sim.log(), "status"), "run-id should be written before the first status read"
    assert "status" not in early
    assert early["run-url"].endswith(early["run-id"])

    result = process.wait()
    check_hygiene(result)
    assert result.returncode == 0, result.describe()
    out = result.outputs
    run = action_run(sim)
    assert out["run-id"] == run["runId"] == early["run-id"]
    assert out["run-url"] == f"{sim.url}/app/{project_id}/runs/{run['runId']}"
    assert out["status"] == "COMPLETED"
    assert 0 < float(out["elapsed-seconds"]) < 10
    assert out["trace-id"]
    assert out["project-version"] == "7"
    results = json.loads(out["results"])
    assert results == [
        {
            "name": project_id,
            "project-id": project_id,
            "project-name": f"Simulated project {project_id[:8]}",
            "run-id": run["runId"],
            "run-url": out["run-url"],
            "status": "COMPLETED",
            "elapsed-seconds": pytest.approx(float(out["elapsed-seconds"])),
        }
    ]
    assert result.first_index("run-id") < result.first_index("status")
    assert result.first_index("run-url") < result.first_index("status")
    name = f"Simulated project {project_id[:8]}"
    assert f'[{name}]({out["run-url"]} "run {run["runId"]}")' in result.summary
    assert "COMPLETED" in result.summary
    assert not result.annotations("error")
    assert not result.annotations("warning")
    log = sim.log()
    assert len(kinds(log, "start")) == 1
    assert not kinds(log, "cancel")
    body = kinds(log, "start")[0]["body"]
    assert body["updatePublishedResults"] is False
    assert body["useCachedSqlResults"] is True
    assert "inputParams" not in body
    assert "viewId" not in body


# ---------------------------------------------------------------------- Hex's failure statuses


def _failure_status(status: str, fail_on_error: str, sim: SimClient, launch: Launcher) -> None:
    spec = {"runningSeconds": 60} if status == "KILLED" else {"finalStatus": status}
    project_id = new_project(sim, **spec)
    process = launch(base_inputs(sim, project_id, **{"fail-on-error": fail_on_error}))
    if status == "KILLED":  # a user cancels the run in Hex while the action waits
        sim.wait_for_kind("start")
        run_id = action_run(sim)["runId"]
        response = sim.api("DELETE", f"/projects/{project_id}/runs/{run_id}")
        assert response.status_code == 204, response.text
    result = process.wait()

    check_hygiene(result)
    assert result.returncode == (1 if fail_on_error == "true" else 0), result.describe()
    assert result.outputs["status"] == status, result.describe()
    run_url = result.outputs["run-url"]
    level, other = ("error", "warning") if fail_on_error == "true" else ("warning", "error")
    annotations = [a for a in result.annotations(level) if a.properties.get("title") != "hex-action"]
    assert len(annotations) == 1, result.describe()
    assert run_url in annotations[0].data
    assert status in annotations[0].data
    assert not result.annotations(other), result.describe()
    assert "What went wrong" in result.summary
    assert status in result.summary
    assert run_url in result.summary
    assert not kinds(sim.log(), "cancel")  # the action never cancels a run that ended on its own


def test_failure_statuses_fail_the_step_unless_fail_on_error_is_false(new_sim: SimFactory, launch: Launcher) -> None:
    cases = {
        f"{status} fail-on-error={fail_on_error}": partial(_failure_status, status, fail_on_error)
        for status, fail_on_error in [
            ("ERRORED", "true"),
            ("UNABLE_TO_ALLOCATE_KERNEL", "true"),
            ("KILLED", "true"),
            ("ERRORED", "false"),
            ("KILLED", "false"),
        ]
    }
    run_side_by_side(new_sim, launch, cases)


# -------------------------------------------------------------------------------------- timeout


def _timeout(cancel_on_timeout: str, sim: SimClient, launch: Launcher) -> None:
    project_id = new_project(sim, runningSeconds=60)
    inputs = base_inputs(sim, project_id, timeout="2.5s", **{"cancel-on-timeout": cancel_on_timeout})
    result = launch(inputs).wait()

    check_hygiene(result)
    assert result.returncode == 1, result.describe()
    assert result.outputs["status"] == "TIMED_OUT"
    assert 2.5 <= result.seconds < 10, result.describe()
    message = one_error(result)
    # The timeout counts from the action's start; the project read before the run takes a moment.
    assert re.search(r"Gave up waiting after 2\.[45]s", message), message
    assert "the last status was RUNNING" in message, message
    assert re.search(r"Gave up waiting after 2\.[45]s", result.summary)
    log = sim.log()
    run = action_run(sim)
    if cancel_on_timeout == "true":
        assert len(kinds(log, "cancel")) == 1
        assert run["status"] == "KILLED"
        assert "The run was cancelled." in message
    else:
        assert not kinds(log, "cancel")
        assert run["status"] == "RUNNING"
        assert "left running" in message
        assert result.outputs["run-url"] in message


def _unknown_status(sim: SimClient, launch: Launcher) -> None:
    # Hex has added statuses before: an unknown one is warned about once and waited on.
    project_id = new_project(sim, runningSeconds=60)
    sim.fault(method="GET", pathRegex="/runs/[^/]+$", status=200, body={"status": "FOO"}, count=100)
    result = launch(base_inputs(sim, project_id, timeout="4.5s", **{"use-run-history": "false"})).wait()

    check_hygiene(result)
    assert result.returncode == 1, result.describe()
    assert result.outputs["status"] == "TIMED_OUT"
    assert result.seconds >= 4.5
    warnings = [w for w in result.annotations("warning") if "FOO" in w.data]
    assert len(warnings) == 1, result.describe()
    assert len(kinds(sim.log(), "status")) >= 2  # read more than once, warned once
    assert "the last status was FOO" in one_error(result)
    assert len(kinds(sim.log(), "cancel")) == 1


def test_timeout_gives_up_and_cancels_unless_told_not_to(new_sim: SimFactory, launch: Launcher) -> None:
    cases: dict[str, Case] = {
        "cancel-on-timeout=true": partial(_timeout, "true"),
        "cancel-on-timeout=false": partial(_timeout, "false"),
        "unknown status FOO until the timeout": _unknown_status,
    }
    run_side_by_side(new_sim, launch, cases)


# -------------------------------------------------------------------------------- cancellation


def _running(sim: SimClient, launch: Launcher, **spec: object) -> tuple[ActionProcess, str]:
    project_id = new_project(sim, runningSeconds=60, **spec)
    process = launch(base_inputs(sim, project_id))
    return process, project_id


def _check_cancelled(sim: SimClient, result: ActionResult, signal_name: str) -> None:
    check_hygiene(result)
    assert result.returncode != 0, result.describe()
    assert result.outputs["status"] == "CANCELLED", result.describe()
    assert result.outputs["run-id"]
    assert "CANCELLED" in result.summary
    assert "What went wrong" in result.summary
    assert f"cancelled ({signal_name})" in one_error(result)
    assert len(kinds(sim.log(), "cancel")) == 1
    assert action_run(sim)["status"] == "KILLED"


def _signal_mid_wait(sig: signal.Signals, sim: SimClient, launch: Launcher) -> None:
    process, _ = _running(sim, launch)
    sim.wait_for_kind("status")
    sent = process.send(sig)
    result = process.wait(timeout=15)

    deletes = kinds(sim.log(), "cancel")
    assert deletes, result.describe()
    assert deletes[0]["time"] - sent < CANCEL_BUDGET, (deletes, sent)
    _check_cancelled(sim, result, sig.name)


def _runner_sequence(when: str, sim: SimClient, launch: Launcher) -> None:
    # The runner sends SIGINT, then SIGTERM 7.5 s later if the process is still there; here the
    # SIGTERM comes right away, or while the DELETE is in flight (slowed to 1 s at the simulator).
    process, _ = _running(sim, launch)
    sim.fault(method="DELETE", pathRegex="/runs/[^/]+$", status=None, delaySeconds=1.0)
    sim.wait_for_kind("status")
    sent = process.send(signal.SIGINT)
    if when == "during the cancel":
        sim.wait_for_kind("cancel", timeout=CANCEL_BUDGET)
    process.send(signal.SIGTERM)
    result = process.wait(timeout=15)

    deletes = kinds(sim.log(), "cancel")
    assert deletes, result.describe()
    assert deletes[0]["time"] - sent < CANCEL_BUDGET, (deletes, sent)
    _check_cancelled(sim, result, "SIGINT")  # the first signal names the cancel


def _signal_during_slow_read(sim: SimClient, launch: Launcher) -> None:
    process, _ = _running(sim, launch)
    sim.fault(method="GET", pathRegex="/runs/[^/]+$", status=None, delaySeconds=8.0)
    sim.wait_for_kind("status")  # logged on arrival; the answer is 8 s away
    sent = process.send(signal.SIGTERM)
    result = process.wait(timeout=15)

    deletes = kinds(sim.log(), "cancel")
    assert deletes, result.describe()
    assert deletes[0]["time"] - sent < CANCEL_BUDGET, (deletes, sent)
    assert time.time() - sent < 5, "the action waited for the slow read"
    _check_cancelled(sim, result, "SIGTERM")


def _signal_during_trigger(sim: SimClient, launch: Launcher) -> None:
    # The POST is not interrupted (its run id is needed), and the run it started is cancelled.
    process, _ = _running(sim, launch)
    sim.fault(method="POST", pathRegex="/runs$", status=None, delaySeconds=1.0)
    sim.wait_for_kind("start")
    process.send(signal.SIGINT)
    result = process.wait(timeout=15)

    log = sim.log()
    assert len(kinds(log, "start")) == 1
    assert not kinds(log, "status")
    _check_cancelled(sim, result, "SIGINT")
    assert kinds(log, "cancel")[0]["path"].endswith(result.outputs["run-id"])


def _signal_during_trigger_retry_after(sim: SimClient, launch: Launcher) -> None:
    # Waiting out Hex's Retry-After before the run exists: stop at once, nothing to cancel.
    project_id = new_project(sim)
    sim.fault(method="POST", pathRegex="/runs$", status=429, retryAfter=30, count=1)
    process = launch(base_inputs(sim, project_id))
    sim.wait_for_kind("start")
    # The simulator logs the start before its 429 reaches the action: a signal in between lands in
    # the request, not the wait this case is about (and is answered by a lookup for a run Hex may
    # have made, as "SIGINT during a slow trigger" shows). A second is well inside the 30 s wait.
    time.sleep(1.0)
    process.send(signal.SIGINT)
    result = process.wait(timeout=10)

    check_hygiene(result)
    assert result.returncode == 1, result.describe()
    assert result.seconds < 10  # not the 30 s Retry-After
    assert result.outputs["status"] == "CANCELLED"
    assert "run-id" not in result.outputs
    assert "before Hex started the run" in one_error(result)
    assert "CANCELLED" in result.summary
    assert [e["status"] for e in by_action(sim.log(), project_reads=False)] == [429]
    assert not sim.runs()


def test_sigint_and_sigterm_cancel_the_run_within_two_seconds(new_sim: SimFactory, launch: Launcher) -> None:
    cases: dict[str, Case] = {
        "SIGINT mid-wait": partial(_signal_mid_wait, signal.SIGINT),
        "SIGTERM mid-wait": partial(_signal_mid_wait, signal.SIGTERM),
        "SIGINT then SIGTERM back to back": partial(_runner_sequence, "back to back"),
        "SIGINT then SIGTERM during the cancel": partial(_runner_sequence, "during the cancel"),
        "SIGTERM during a slow status read": _signal_during_slow_read,
        "SIGINT during a slow trigger": _signal_during_trigger,
        "SIGINT while waiting out a trigger 429": _signal_during_trigger_retry_after,
    }
    run_side_by_side(new_sim, launch, cases)


# ------------------------------------------------------------------------- wait, dry run, run-id


def test_wait_false_reads_the_status_once(sim: SimClient, launch: Launcher) -> None:
    project_id = new_project(sim, pendingSeconds=0.5)
    # unset="empty": inputs the workflow leaves out arrive as empty strings and mean the default.
    result = launch(base_inputs(sim, project_id, wait="false"), unset="empty").wait()

    check_hygiene(result)
    assert result.returncode == 0, result.describe()
    assert result.outputs["status"] == "PENDING"
    assert result.outputs["run-id"] == action_run(sim)["runId"]
    log = sim.log()
    assert len(kinds(log, "start")) == 1
    assert len(kinds(log, "status")) == 1
    assert not kinds(log, "list")
    assert not kinds(log, "cancel")
    assert result.seconds < 5


def test_dry_run_sends_no_status_read(sim: SimClient, launch: Launcher) -> None:
    project_id = new_project(sim)
    result = launch(base_inputs(sim, project_id, **{"dry-run": "true"}), unset="empty").wait()

    check_hygiene(result)
    assert result.returncode == 0, result.describe()
    assert result.outputs["status"] == "DRY_RUN"
    assert result.outputs["run-id"]
    log = sim.log()
    assert [e["method"] for e in by_action(log, project_reads=False)] == ["POST"]
    assert kinds(log, "start")[0]["body"]["dryRun"] is True
    assert not sim.runs()  # Hex stores no run for a dry run
    assert "DRY_RUN" in result.summary


def test_run_id_waits_on_an_existing_run(sim: SimClient, launch: Launcher) -> None:
    project_id = new_project(sim)
    response = sim.api("POST", f"/projects/{project_id}/runs", {})
    assert response.status_code == 201, response.text
    run_id = response.json()["runId"]
    result = launch(base_inputs(sim, project_id, **{"run-id": run_id})).wait()

    check_hygiene(result)
    assert result.returncode == 0, result.describe()
    assert result.outputs["status"] == "COMPLETED"
    assert result.outputs["run-id"] == run_id
    assert result.outputs["run-url"].endswith(run_id)
    log = sim.log()
    assert not kinds(log, "start")
    assert not kinds(log, "cancel")
    assert kinds(log, "status")
    assert all(e["path"].endswith(run_id) for e in kinds(log, "status"))


# ----------------------------------------------------------------------------- Hex API errors

API_ERRORS = {
    "401-wrong-token": (
        {},
        {"api-token": "hxtk-not-the-right-one"},
        ["401", "Unauthorized", "Create a token in Hex"],
    ),
    "404-no-project": (
        {"exists": False},
        {},
        ["404", "Project not found", "Hex knows no such project"],
    ),
    "unpublished": (  # known from the project read: no start is sent
        {"published": False, "title": "Weekly KPIs"},
        {},
        ["Project 'Weekly KPIs' (", "has never been published", "Publish it in Hex"],
    ),
    "422-unpublished-unreadable-project": (  # the project read fails: Hex's 422 tells
        {"published": False, "exists": True},
        {},
        ["422", "Project is not published", "it must be published"],
    ),
    "422-unknown-input": (
        {"inputNames": ["region"]},
        {"input-params": '{"region": "EMEA", "regoin": "EU"}'},
        ["422", "unknown inputs: regoin", "The published app has no input named regoin", "Hex traceId:"],
    ),
}


@pytest.mark.parametrize("case", API_ERRORS, ids=list(API_ERRORS))
def test_api_error_fails_fast_with_hex_words_and_a_hint(sim: SimClient, launch: Launcher, case: str) -> None:
    spec, inputs, words = API_ERRORS[case]
    project_id = new_project(sim, **spec)
    if case == "422-unpublished-unreadable-project":
        sim.fault(method="GET", pathRegex=f"^/api/v1/projects/{project_id}$", status=403, count=1)
    all_inputs = base_inputs(sim, project_id, **inputs)
    result = launch(all_inputs).wait()

    check_hygiene(result, token=all_inputs["api-token"])
    assert result.returncode == 1, result.describe()
    assert result.seconds < 10
    assert result.outputs["status"] == "NOT_STARTED"
    message = one_error(result)
    for word in words:
        assert word in message, (word, message)
        assert word in result.summary.replace("&amp;", "&"), (word, result.summary)
    assert "What went wrong" in result.summary
    if "Hex traceId:" in words:
        assert f"Hex traceId: {result.outputs['trace-id']}" in message
    log = sim.log()
    sent = [request["method"] for request in by_action(log, project_reads=False)]
    assert sent == ([] if case == "unpublished" else ["POST"])
    assert len(kinds(log, "project")) == 1
    assert not sim.runs()


def _trigger_retried(status: int, retry_after: float | None, sim: SimClient, launch: Launcher) -> None:
    # 429 and 503 mean Hex created no run, so the POST may be sent again: still one run.
    project_id = new_project(sim)
    fault: dict[str, object] = {"method": "POST", "pathRegex": "/runs$", "status": status, "count": 1}
    if retry_after is not None:
        fault["retryAfter"] = retry_after
    sim.fault(**fault)
    result = launch(base_inputs(sim, project_id)).wait()

    check_hygiene(result)
    assert result.returncode == 0, result.describe()
    assert result.outputs["status"] == "COMPLETED"
    posts = kinds(sim.log(), "start")
    assert [p["status"] for p in posts] == [status, 201]
    if retry_after is not None:
        assert posts[1]["time"] - posts[0]["time"] >= retry_after
    assert len(sim.runs()) == 1


def _trigger_500_not_retried(sim: SimClient, launch: Launcher) -> None:
    # After a 500 Hex may have created the run: a second POST could start a second one.
    project_id = new_project(sim)
    sim.fault(method="POST", pathRegex="/runs$", status=500, count=5)
    result = launch(base_inputs(sim, project_id)).wait()

    check_hygiene(result)
    assert result.returncode == 1, result.describe()
    assert result.outputs["status"] == "NOT_STARTED"
    assert "500" in one_error(result)
    assert "Hex did not start one" in one_error(result)  # it looked, rather than guessed
    assert "What went wrong" in result.summary
    # One POST, then looks at the project's recent runs (of any status) for a run it may have made,
    # again for a while, as Hex's list may lag a run it has just made.
    requests_made = by_action(sim.log(), project_reads=False)
    calls = [(e["method"], e["path"].rsplit("/", 1)[-1]) for e in requests_made]
    assert calls[0] == ("POST", "runs")
    assert set(calls[1:]) == {("GET", "runs")}
    assert all("statusFilter" not in e["query"] for e in requests_made[1:])


def _status_read_5xx(sim: SimClient, launch: Launcher) -> None:
    project_id = new_project(sim)
    sim.fault(method="GET", pathRegex="/runs/[^/]+$", status=500, count=1)
    sim.fault(method="GET", pathRegex="/runs/[^/]+$", status=502, count=1)
    result = launch(base_inputs(sim, project_id, **{"use-run-history": "false"})).wait()

    check_hygiene(result)
    assert result.returncode == 0, result.describe()
    assert result.outputs["status"] == "COMPLETED"
    assert [e["status"] for e in kinds(sim.log(), "status")] == [500, 502, 200]
    assert not result.annotations("error")


def test_retries_only_where_safe(new_sim: SimFactory, launch: Launcher) -> None:
    cases: dict[str, Case] = {
        "trigger 429 with Retry-After then 201": partial(_trigger_retried, 429, 1),
        "trigger 503 (no kernel) then 201": partial(_trigger_retried, 503, None),
        "trigger 500 is never retried": _trigger_500_not_retried,
        "status read 500, 502, then 200": _status_read_5xx,
    }
    run_side_by_side(new_sim, launch, cases)


# -------------------------------------------------------------------------------- token hygiene


def _token_echoed(method: str, path: str, status: int, body: object, sim: SimClient, launch: Launcher) -> None:
    project_id = new_project(sim)
    sim.fault(method=method, pathRegex=path, status=status, body=body, count=1)
    # RUNNER_DEBUG=1 (a re-run with debug logging) turns on every ::debug:: line too.
    inputs = base_inputs(sim, project_id, **{"use-run-history": "false"})
    result = launch(inputs, env={"RUNNER_DEBUG": "1"}).wait()

    check_hygiene(result)  # the token only in the one ::add-mask:: line, nowhere else
    if status >= 500:
        assert result.returncode == 0, result.describe()  # retried; Hex's words never shown
    elif method == "GET" and status == 404:  # read-after-write lag on the new run: read again
        assert result.returncode == 0, result.describe()
        assert any("***" in w.data for w in result.annotations("warning")), result.describe()
    else:
        assert result.returncode == 1, result.describe()
        assert "***" in one_error(result), result.describe()  # Hex's words shown, token redacted
        assert "***" in result.summary.replace("\\*", "*")  # the summary escapes Markdown


def test_token_echoed_by_hex_never_leaks(new_sim: SimFactory, launch: Launcher) -> None:
    cases: dict[str, Case] = {
        "trigger 403, JSON": partial(_token_echoed, "POST", "/runs$", 403, {"message": "Token {token} may not run"}),
        "trigger 400, text": partial(_token_echoed, "POST", "/runs$", 400, "bad request for bearer {token}"),
        "status 404, tsoa": partial(
            _token_echoed, "GET", "/runs/[^/]+$", 404, {"reason": "no run for {token}", "traceId": "{token}"}
        ),
        "status 500, retried": partial(_token_echoed, "GET", "/runs/[^/]+$", 500, {"message": "token={token}"}),
    }
    run_side_by_side(new_sim, launch, cases)


# ---------------------------------------------------------------------------------- bad inputs

BAD_INPUTS = {
    "missing-token": ("api-token", {"api-token": ""}),
    "missing-project-id": ("project-id", {"project-id": ""}),
    "project-id-not-a-uuid": ("project-id", {"project-id": "my-project"}),
    "input-params-bad-json": ("input-params", {"input-params": '{"region": EMEA}'}),
    "input-params-not-an-object": ("input-params", {"input-params": '["EMEA"]'}),
    "poll-interval-below-floor": ("poll-interval", {"poll-interval": "1s"}),
    "timeout-not-a-duration": ("timeout", {"timeout": "soon"}),
    "view-id-with-input-params": ("view-id", {"view-id": str(uuid.uuid4()), "input-params": '{"a": 1}'}),
    "hex-url-plain-http": ("hex-url", {"hex-url": "http://hex.example.com"}),
    "hex-url-not-a-url": ("hex-url", {"hex-url": "app.hex.tech"}),
    "bad-boolean": ("wait", {"wait": "maybe"}),
    "notifications-not-an-array": ("notifications", {"notifications": '{"type": "ALL"}'}),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_exits_2_before_any_request(sim: SimClient, launch: Launcher, case: str) -> None:
    name, inputs = BAD_INPUTS[case]
    all_inputs = base_inputs(sim, str(uuid.uuid4()), **inputs)
    result = launch(all_inputs).wait()

    check_hygiene(result, token=all_inputs["api-token"])
    assert result.returncode == 2, result.describe()
    errors = result.annotations("error")
    assert len(errors) == 1, result.describe()
    assert errors[0].properties == {"title": f"Invalid input '{name}'"}
    assert f"Input '{name}'" in errors[0].data
    assert f"`{name}`" in result.summary
    assert sim.log() == []
    assert result.seconds < 5


# ---------------------------------------------------------------------- Hex text is not a command

INJECTED = "\n::warning title=injected::from Hex ##[warning title=injected]legacy"


@pytest.mark.parametrize("where", ["answers", "error"])
def test_hex_text_cannot_inject_workflow_commands(sim: SimClient, launch: Launcher, where: str) -> None:
    # Hex's answers are echoed in the log, annotations, outputs and summary; a newline or a
    # legacy `##[...]` command in them must not become a workflow command for the runner.
    project_id = new_project(sim)
    run_id = str(uuid.uuid4())
    if where == "answers":
        run_url = f"https://hex.example/app/{project_id}/runs/{run_id}{INJECTED}"
        trigger = {"runId": run_id, "runUrl": run_url, "projectVersion": "3" + INJECTED, "traceId": "t" + INJECTED}
        sim.fault(method="POST", pathRegex="/runs$", status=201, body=trigger)
        sim.fault(method="GET", pathRegex="/runs/[^/]+$", status=200, body={"status": "FOO" + INJECTED})
        sim.fault(method="GET", pathRegex="/runs/[^/]+$", status=200, body={"status": "COMPLETED", "elapsedTime": 900})
    else:
        sim.fault(method="POST", pathRegex="/runs$", status=400, body={"message": "bad" + INJECTED})
    result = launch(base_inputs(sim, project_id, **{"use-run-history": "false"})).wait()

    check_hygiene(result)
    injected = [c for c in result.commands if c.properties.get("title") == "injected"]
    assert not injected, result.describe()
    assert [c.name for c in result.commands if c.name not in ("error", "warning", "debug")] == ["add-mask"]
    if where == "answers":
        assert result.returncode == 0, result.describe()
        assert result.outputs["status"] == "COMPLETED"
        assert result.outputs["run-url"] == run_url  # outputs keep Hex's value, safely delimited
        assert len(result.annotations("warning")) == 1  # the unknown status, escaped
    else:
        assert result.returncode == 1, result.describe()
        assert "bad" in one_error(result)


# ----------------------------------------------------------------------------- a slow trigger


def test_a_trigger_answered_after_the_timeout_is_still_followed_and_cancelled(sim: SimClient, launch: Launcher) -> None:
    project_id = new_project(sim, runningSeconds=60)
    # Hex creates the run but answers only after the action's timeout has run out: the start
    # keeps its own read timeout, so the action learns the run id and cancels the run.
    sim.fault(method="POST", pathRegex="/runs$", status=None, delaySeconds=2.0)
    result = launch(base_inputs(sim, project_id, timeout="1s")).wait()

    check_hygiene(result)
    assert result.returncode == 1, result.describe()
    (run,) = sim.runs()
    assert run["status"] == "KILLED", "no orphan run is left holding a kernel"
    assert result.outputs["status"] == "TIMED_OUT"
    assert result.outputs["run-id"] == run["runId"]
    assert "did not start" not in one_error(result)
