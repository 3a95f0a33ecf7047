"""hex_action.report: the overall status, the results output, and the Reporter (the summary: test_summary.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from runner_parser import process_output, read_output_file

from hex_action.engine import StepResult
from hex_action.github import GitHub
from hex_action.report import Reporter, overall_status, results_json

A = "5a8591dd-4039-49df-9202-96385ba3eff8"
B = "01936f3c-8b2a-7c3e-9f00-0123456789ab"
RUN_1 = "0b9a3c52-6f1e-4a8d-9c7b-2e5f8d1a4b63"
URL_1 = f"https://app.hex.tech/acme/app/{A}/run/{RUN_1}"


def result(name: str, status: str, project_id: str = A, **fields: Any) -> StepResult:
    return StepResult(name=name, project_id=project_id, status=status, **fields)


# -- overall_status --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "overall"),
    [
        (["COMPLETED"], "COMPLETED"),
        (["DRY_RUN"], "DRY_RUN"),
        (["DRY_RUN", "DRY_RUN"], "DRY_RUN"),
        (["COMPLETED", "DRY_RUN"], "COMPLETED"),
        (["COMPLETED", "COMPLETED"], "COMPLETED"),
        (["ERRORED"], "ERRORED"),
        (["RUNNING"], "RUNNING"),  # wait: false
        (["NOT_STARTED"], "NOT_STARTED"),
        ([""], "CANCELLED"),
        (["COMPLETED", "KILLED", "SKIPPED"], "KILLED"),
        (["COMPLETED", "TIMED_OUT", "ERRORED"], "TIMED_OUT"),
        # Consequences written before their cause: fail-fast cancels, needs skips.
        (["CANCELLED", "ERRORED"], "ERRORED"),
        (["SKIPPED", "UNABLE_TO_ALLOCATE_KERNEL"], "UNABLE_TO_ALLOCATE_KERNEL"),
        (["SKIPPED", "CANCELLED", "ERRORED"], "ERRORED"),
        # A cancel: the run in flight is CANCELLED, steps not started are SKIPPED.
        (["COMPLETED", "CANCELLED", "SKIPPED"], "CANCELLED"),
        (["SKIPPED", "CANCELLED"], "CANCELLED"),
    ],
)
def test_overall_status(statuses: list[str], overall: str) -> None:
    results = [result(f"s{i}", status) for i, status in enumerate(statuses)]
    assert overall_status(results) == overall


# -- results_json ----------------------------------------------------------------------------------


def test_results_json_in_written_order() -> None:
    results = [
        result(
            "extract",
            "COMPLETED",
            run_id=RUN_1,
            run_url=URL_1,
            elapsed_seconds=61.23456,
            start_order=2,
            project_name="Extract orders",
        ),
        result("load", "SKIPPED", project_id=B, start_order=None),
        result("first", "ERRORED", run_id="r-2", elapsed_seconds=0.5, start_order=1),
    ]
    text = results_json(results)
    assert "\n" not in text
    assert json.loads(text) == [
        {
            "name": "extract",
            "project-id": A,
            "project-name": "Extract orders",
            "run-id": RUN_1,
            "run-url": URL_1,
            "status": "COMPLETED",
            "elapsed-seconds": 61.235,
        },
        {
            "name": "load",
            "project-id": B,
            "project-name": None,
            "run-id": None,
            "run-url": None,
            "status": "SKIPPED",
            "elapsed-seconds": None,
        },
        {
            "name": "first",
            "project-id": A,
            "project-name": None,
            "run-id": "r-2",
            "run-url": None,
            "status": "ERRORED",
            "elapsed-seconds": 0.5,
        },
    ]
    assert text.startswith('[{"name":"extract","project-id":')
    assert json.loads(results_json([result("x", "")]))[0]["status"] is None


# -- Reporter --------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    return {"GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}


def test_run_started_single_writes_run_id_and_url_at_once(files: dict[str, str]) -> None:
    stream = io.StringIO()
    reporter = Reporter(GitHub(files, stream), pipeline=False)
    r = result(A, "", run_id=RUN_1, run_url=URL_1, project_version="7", trace_id="trace-1")
    reporter.run_started(r)
    assert stream.getvalue() == f"Started run {RUN_1}, project version 7: {URL_1}\n"
    assert read_output_file(files["GITHUB_OUTPUT"]) == {
        "run-id": RUN_1,
        "run-url": URL_1,
        "project-version": "7",
        "trace-id": "trace-1",
    }
    assert reporter.trace_id == "trace-1"


def test_run_started_single_without_url_yet(files: dict[str, str]) -> None:
    stream = io.StringIO()
    reporter = Reporter(GitHub(files, stream), pipeline=False)
    reporter.run_started(result(A, "", run_id=RUN_1))
    assert stream.getvalue() == f"Started run {RUN_1}: (link follows)\n"
    assert read_output_file(files["GITHUB_OUTPUT"]) == {"run-id": RUN_1}


def test_run_started_in_a_pipeline_writes_no_single_run_outputs(files: dict[str, str]) -> None:
    stream = io.StringIO()
    reporter = Reporter(GitHub(files, stream), pipeline=True)
    reporter.run_started(result("extract", "", run_id=RUN_1, run_url=URL_1, trace_id="trace-2"))
    assert stream.getvalue() == f"Started step 'extract' run {RUN_1}: {URL_1}\n"
    assert read_output_file(files["GITHUB_OUTPUT"]) == {}
    assert reporter.trace_id == "trace-2"


def test_step_finished_rewrites_results_in_a_pipeline(files: dict[str, str]) -> None:
    stream = io.StringIO()
    reporter = Reporter(GitHub(files, stream), pipeline=True)
    first = result("extract", "", run_id="r1")
    second = result("load", "")
    reporter.steps = [first, second]

    first.status = "COMPLETED"
    reporter.step_finished(first)
    assert json.loads(read_output_file(files["GITHUB_OUTPUT"])["results"]) == [
        {
            "name": "extract",
            "project-id": A,
            "project-name": None,
            "run-id": "r1",
            "run-url": None,
            "status": "COMPLETED",
            "elapsed-seconds": None,
        },
        {
            "name": "load",
            "project-id": A,
            "project-name": None,
            "run-id": None,
            "run-url": None,
            "status": None,
            "elapsed-seconds": None,
        },
    ]

    second.status, second.message = "SKIPPED", "Skipped because 'extract' did not complete."
    reporter.step_finished(second)
    latest = json.loads(read_output_file(files["GITHUB_OUTPUT"])["results"])
    assert [entry["status"] for entry in latest] == ["COMPLETED", "SKIPPED"]

    log = stream.getvalue()
    # COMPLETED was logged when it was read; the action's own SKIPPED is logged here.
    assert log.startswith("[load] SKIPPED\n::stop-commands::")
    processor = process_output(log)
    assert processor.commands == []
    assert processor.log == [
        "[load] SKIPPED",
        "[load] Skipped because 'extract' did not complete.",
    ]


def test_step_finished_for_a_single_run_writes_nothing(files: dict[str, str]) -> None:
    stream = io.StringIO()
    reporter = Reporter(GitHub(files, stream), pipeline=False)
    r = result(A, "ERRORED", message="The Hex run ended ERRORED.", trace_id="trace-9")
    reporter.steps = [r]
    reporter.step_finished(r)
    assert stream.getvalue() == ""
    assert read_output_file(files["GITHUB_OUTPUT"]) == {}
    assert reporter.trace_id == "trace-9"


def test_status_changed_lines() -> None:
    stream = io.StringIO()
    single = Reporter(GitHub({}, stream), pipeline=False)
    single.status_changed(result(A, "RUNNING"), "PENDING", 3.0)
    single.status_changed(result(A, ""), "RUNNING", 75.0)
    Reporter(GitHub({}, stream), pipeline=True).status_changed(result("load", "COMPLETED"), "RUNNING", 3725.0)
    assert (
        stream.getvalue()
        == "Status RUNNING after 3s\nStatus (none) after 1m15s\n[load] Status COMPLETED after 1h2m5s\n"
    )


@pytest.mark.parametrize(
    "hostile",
    [
        "##[set-output name=status]COMPLETED",
        "RUNNING\n::error::injected",
        "::stop-commands::pause",
        "RUNNING\r::add-mask::x",
    ],
)
def test_hex_strings_in_log_lines_cannot_inject_commands(hostile: str, files: dict[str, str]) -> None:
    stream = io.StringIO()
    reporter = Reporter(GitHub(files, stream), pipeline=False)
    r = result(A, hostile, run_id=f"r-1 {hostile}", run_url=f"https://h/{hostile}", project_version=hostile)
    reporter.run_started(r)
    reporter.status_changed(r, "PENDING", 2.0)
    reporter.warning(f"Hex reported status '{hostile}'")
    processor = process_output(stream.getvalue())
    assert [(c.name, c.data) for c in processor.commands] == [("warning", f"Hex reported status '{hostile}'")]
    assert processor.stop_token is None
    assert read_output_file(files["GITHUB_OUTPUT"])["run-url"] == f"https://h/{hostile}"


def test_warning_is_an_annotation() -> None:
    stream = io.StringIO()
    Reporter(GitHub({}, stream), pipeline=False).warning("Run history unavailable, waiting without it: 500")
    assert stream.getvalue() == "::warning title=hex-action::Run history unavailable, waiting without it: 500\n"
