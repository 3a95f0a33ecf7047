"""hex_action.present: the choice of presentation, the shared sentences, heartbeats, text and JSON."""

from __future__ import annotations

import io
import itertools
import json
import tomllib
from pathlib import Path

import pytest
import yaml

from hex_action.client import RetryWait
from hex_action.errors import InputError, InputProblem
from hex_action.outcome import StepResult, seconds_value
from hex_action.present import Outcome, choose, default_format, words
from hex_action.present.github_presenter import GitHubPresenter
from hex_action.present.model import seconds_text
from hex_action.present.text import OUTPUT_NAMES, JsonPresenter, TextPresenter, clean, outputs_document
from hex_action.settings import load_settings
from hex_action.steps import StepSpec

PROJECT = "5a8591dd-4039-49df-9202-96385ba3eff8"
RUN = "0b9a3c52-6f1e-4a8d-9c7b-2e5f8d1a4b63"
URL = f"https://app.hex.tech/acme/app/{PROJECT}/run/{RUN}"
TOKEN = "hxtp-present-token"


def result(status: str = "COMPLETED", **fields: object) -> StepResult:
    values: dict[str, object] = {"run_id": RUN, "run_url": URL, "status": status, "elapsed_seconds": 4.0}
    values.update(fields)
    return StepResult(name=PROJECT, project_id=PROJECT, **values)  # type: ignore[arg-type]


def outcome(r: StepResult, **fields: object) -> Outcome:
    values: dict[str, object] = {"command": "run", "results": [r], "status": r.status, "waited": 6.0, "exit_code": 0}
    values.update(fields)
    return Outcome(**values)  # type: ignore[arg-type]


# -- choosing -------------------------------------------------------------------------------------


def test_github_only_inside_a_github_job() -> None:
    assert default_format({"GITHUB_ACTIONS": "true"}) == "github"
    assert default_format({}) == "text"
    assert default_format({"GITHUB_ACTIONS": "false", "GITHUB_OUTPUT": "/tmp/x"}) == "text"
    assert isinstance(choose("json", {}, TOKEN), JsonPresenter)
    assert type(choose("text", {}, TOKEN)) is TextPresenter


def test_only_the_github_presenter_registers_the_mask(capsys: pytest.CaptureFixture[str]) -> None:
    choose("text", {}, TOKEN)
    choose("json", {}, TOKEN)
    assert capsys.readouterr().out == ""
    assert isinstance(choose("github", {}, TOKEN), GitHubPresenter)
    assert capsys.readouterr().out == f"::add-mask::{TOKEN}\n"


# -- the sentences ----------------------------------------------------------------------------------


def test_started_lines_say_what_happened() -> None:
    r = result("", project_version="3")
    assert words.started_line(r, StepSpec(PROJECT, PROJECT), False) == f"Started run {RUN}, project version 3: {URL}"
    followed = StepSpec(PROJECT, PROJECT, existing_run_id=RUN)
    assert words.started_line(result("", run_url=None), followed, False) == (
        f"Following run {RUN} of project {PROJECT}, started before"
    )
    dry = StepSpec(PROJECT, PROJECT, dry_run=True)
    assert words.started_line(r, dry, False) == f"Hex accepted the dry run of project {PROJECT}, project version 3"


def test_verdicts_label_every_duration_and_do_not_pass_a_started_run_off_as_a_result() -> None:
    assert words.verdict(outcome(result())) == f"Hex run {RUN} COMPLETED (run time 4s, waited 6s)"
    left = outcome(result("PENDING"), started_only=True)
    assert words.verdict(left) == (
        f"Hex run {RUN} was started and left running (wait is false); its status was PENDING when last read"
    )
    assert words.verdict(outcome(result("RUNNING"), command="status")) == f"Hex run {RUN} is RUNNING (run time 4s)"
    unknown = outcome(result("UNKNOWN", elapsed_seconds=0.2))
    assert words.verdict(unknown) == f"Hex run {RUN} UNKNOWN (waited 6s)", "no run time for a run Hex does not know"


def test_retry_line_says_what_hex_said_how_long_and_until_when() -> None:
    wait = RetryWait("status", "Hex answered 429 Too Many Requests to GET /x: slow down.", 45.0, 1_767_225_645.0)
    assert words.retry_line(wait) == (
        "Hex answered 429 Too Many Requests to GET /x: slow down. Trying again in 45s (at 00:00:45 UTC)."
    )


def test_heartbeats_come_after_a_quarter_of_the_time_waited_and_a_minimum() -> None:
    beats = words.Heartbeats()
    shown = [t for t in range(0, 3601, 2) if beats.due("a", float(t))]
    assert shown[:3] == [30, 60, 90]
    assert all(b - a >= max(words.HEARTBEAT_MIN, words.HEARTBEAT_SHARE * b) for a, b in itertools.pairwise(shown))
    assert len(shown) < 25, "an hour's wait adds a few lines, not one per read"
    beats.note("b", 100.0)  # a status change was just shown
    assert not beats.due("b", 120.0)


# -- text -------------------------------------------------------------------------------------------


def test_text_redacts_every_token_and_strips_terminal_controls() -> None:
    stream = io.StringIO()
    presenter = TextPresenter([TOKEN, "other-token"], stream=stream)
    presenter.warning(f"Hex said \x1b[31m{TOKEN}\x1b[0m\nand other-token\r")
    assert stream.getvalue() == "warning: Hex said ?[31m***?[0m and *** \n"
    assert clean("a\r\nb\tc") == "a b?c"


def test_text_says_each_error_once_and_writes_nothing_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    presenter = TextPresenter([TOKEN])
    failed = result("ERRORED", message=f"The Hex run ended ERRORED. See {URL}")
    assert presenter.finish(outcome(failed, exit_code=1)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        captured.err == f"Hex run {RUN} ERRORED (run time 4s, waited 6s)\nerror: The Hex run ended ERRORED. See {URL}\n"
    )


def test_text_input_errors_name_the_input_and_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    TextPresenter([TOKEN]).input_error(InputError([InputProblem("timeout", "'soon' is not a duration.", "use 15m.")]))
    assert capsys.readouterr().err == "error: Input 'timeout': 'soon' is not a duration. Fix: use 15m.\n"


# -- json -------------------------------------------------------------------------------------------


def test_json_has_every_output_numbers_as_numbers_and_nothing_else_on_stdout() -> None:
    out, err = io.StringIO(), io.StringIO()
    presenter = JsonPresenter([TOKEN], stream=err, out=out)
    assert presenter.finish(outcome(result(project_version="7"), trace_id="t-1")) == 0
    document = json.loads(out.getvalue())
    assert document == {
        "run-id": RUN,
        "run-url": URL,
        "status": "COMPLETED",
        "elapsed-seconds": 4,
        "trace-id": "t-1",
        "project-version": 7,
        "results": [
            {
                "name": PROJECT,
                "project-id": PROJECT,
                "project-name": None,
                "run-id": RUN,
                "run-url": URL,
                "status": "COMPLETED",
                "elapsed-seconds": 4,
            }
        ],
    }
    # One form for the same number at the top and in `results` (4, not 4 and 4.0).
    assert '"elapsed-seconds": 4,' in out.getvalue()
    assert '"elapsed-seconds": 4.0' not in out.getvalue()
    assert err.getvalue().startswith(f"Hex run {RUN} COMPLETED")


def test_seconds_are_milliseconds_with_whole_ones_as_integers() -> None:
    assert [seconds_value(s) for s in (4.0, 4.25, 6.0004, 0.0001, 1234.5678)] == [4, 4.25, 6, 0, 1234.568]
    assert [type(seconds_value(s)) for s in (4.0, 4.25)] == [int, float]
    assert [seconds_text(s) for s in (4.0, 4.25, None)] == ["4", "4.25", "0"]


def test_json_for_invalid_input_and_a_pipeline() -> None:
    assert outputs_document({"status": "INVALID_INPUT", "results": "[]"}) == {
        "run-id": None,
        "run-url": None,
        "status": "INVALID_INPUT",
        "elapsed-seconds": None,
        "trace-id": None,
        "project-version": None,
        "results": [],
    }
    settings = load_settings(
        {"api-token": TOKEN, "pipeline": f"- {{name: a, project-id: {PROJECT}}}\n- {{name: b, project-id: {PROJECT}}}"},
        environ={},
    )
    steps = [StepResult(name=s.name, project_id=s.project_id, status="COMPLETED") for s in settings.steps]
    document = outputs_document(Outcome("run", steps, "COMPLETED", 12.5, 0, pipeline=True).outputs())
    assert document["elapsed-seconds"] == 12.5
    assert [r["name"] for r in document["results"]] == ["a", "b"]


def test_json_lost_on_a_closed_stdout_is_a_failure() -> None:
    out = io.StringIO()
    out.close()
    err = io.StringIO()
    presenter = JsonPresenter([TOKEN], stream=err, out=out)
    assert presenter.finish(outcome(result())) == 1
    assert "could not write the JSON document" in err.getvalue()


def test_the_wheel_lists_every_subpackage() -> None:
    # setuptools is given an explicit package list: a new subpackage left out of it would be
    # missing from the installed command (`pipx install hex-action`), while the tests still pass.
    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "hex_action").rglob("__init__.py")}
    assert found <= listed


def test_the_json_keys_are_the_actions_outputs() -> None:
    action = yaml.safe_load((Path(__file__).resolve().parents[1] / "action.yml").read_text(encoding="utf-8"))
    assert list(OUTPUT_NAMES) == list(action["outputs"])


def test_github_shows_retries_and_heartbeats_as_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    presenter = GitHubPresenter({"GITHUB_ACTIONS": "true"}, TOKEN)
    presenter.retrying(
        RetryWait("start", "Hex answered 503 Service Unavailable to POST /x: busy", 30.0, 1_767_225_630.0)
    )
    running = result("RUNNING")
    presenter.status_changed(running, "PENDING", 2.0)
    for waited in (10.0, 20.0, 33.0, 40.0, 50.0):  # one read every 10 s or so
        presenter.waiting(running, waited, 10.0)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"::add-mask::{TOKEN}",
        "Hex answered 503 Service Unavailable to POST /x: busy. Trying again in 30s (at 00:00:30 UTC).",
        "Status RUNNING after 2s",
        "Still RUNNING after waiting 33s; next status read in 10s",
    ]
