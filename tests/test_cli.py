"""hex_action.cli: flags and INPUT_* variables, input errors before any request, exit codes."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
import yaml
from runner_parser import Command, process_output, read_output_file

from hex_action import __version__
from hex_action.cli import main
from hex_action.clock import FakeClock
from hex_action.input_help import DESCRIPTIONS
from hex_action.run import exit_code
from hex_action.settings import DEFAULTS, Settings, load_settings
from hex_action.signals import CancelSignal

#: The runner's environment marker: the GitHub presentation's tests run with it, as on a runner.
ON_GITHUB = {"GITHUB_ACTIONS": "true"}
PROJECT = "5a8591dd-4039-49df-9202-96385ba3eff8"
OTHER_PROJECT = "01936f3c-8b2a-7c3e-9f00-0123456789ab"
RUN = "0b9a3c52-6f1e-4a8d-9c7b-2e5f8d1a4b63"
RUN_URL = f"https://app.hex.tech/acme/app/{PROJECT}/run/{RUN}"
TOKEN = "hxtp-test-token-123"


@pytest.fixture(autouse=True)
def restore_signal_handlers() -> Iterator[None]:
    """main() installs SIGINT/SIGTERM handlers and a wakeup fd; put pytest's back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    wakeup_fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup_fd)
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    signal.set_wakeup_fd(wakeup_fd)


@pytest.fixture
def no_http() -> Iterator[responses.RequestsMock]:
    """No URL is registered, so any request would fail (and be recorded)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


# -- --help and --version -------------------------------------------------------------------------


def test_help_lists_every_input_flag_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"], environ={})
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: hex-action ")
    flat = " ".join(out.split())
    for name in DEFAULTS:
        assert f"--{name} " in out, name
        # action.yml's description is the flag's help (one source), with values and formats
        assert " ".join(DESCRIPTIONS[name].split()) in flat, name
    assert "--timeout DURATION" in out
    assert "--wait true|false" in out
    assert "--input-params JSON|YAML" in out
    assert "--output {github,text,json}, --format {github,text,json}" in out
    assert "Falls back to the HEX_URL environment variable." in flat
    assert "--version" in out
    assert "exit codes:\n  0  the run completed" in out
    assert "\n  1  the run failed, timed out or was cancelled, or the Hex API failed\n" in out
    assert "\n  2  invalid input or configuration, found before any request was sent\n" in out
    assert "\n  130, 143  outside GitHub, interrupted by SIGINT (Ctrl-C) or SIGTERM" in out
    for command in ("status", "cancel", "runs"):
        assert f"\n  {command} " in out, command


def test_flag_help_is_action_yml() -> None:
    action = yaml.safe_load((Path(__file__).resolve().parents[1] / "action.yml").read_text(encoding="utf-8"))
    expected = {name: spec["description"] for name, spec in action["inputs"].items()}
    assert expected == DESCRIPTIONS, "run python scripts/input_help.py"


@pytest.mark.parametrize("command", ["status", "cancel", "runs"])
def test_each_command_has_its_help_and_exit_codes(capsys: pytest.CaptureFixture[str], command: str) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"], environ={})
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: hex-action {command} ")
    assert "--project-id ID" in out
    assert "--input-params" not in out, "only the inputs the command reads"
    assert ("RUN_ID" in out) == (command != "runs")
    assert "exit codes:\n  0  " in out
    assert "\n  2  invalid input" in out


def test_a_usage_error_never_echoes_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(
            ["--api-tokn", "hxtp-secret-1", "--api-token", "hxtp-secret-2"], environ={"HEX_API_TOKEN": "hxtp-secret-3"}
        )
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert "unrecognized arguments: --api-tokn" in captured.err
    assert "hxtp-secret" not in captured.out + captured.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"], environ={})
    assert info.value.code == 0
    assert capsys.readouterr().out == f"hex-action {__version__}\n"


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--project_id", PROJECT], environ={})
    assert info.value.code == 2
    assert "unrecognized arguments: --project_id" in capsys.readouterr().err


# -- invalid input ---------------------------------------------------------------------------------


def test_invalid_input_exits_2_with_one_annotation_per_problem_and_no_request(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, no_http: responses.RequestsMock
) -> None:
    summary = tmp_path / "summary"
    output = tmp_path / "output"
    environ = {
        "HEX_API_TOKEN": TOKEN,
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "INPUT_PROJECT-ID": "nope",
        **ON_GITHUB,
    }
    assert main(["--timeout", "soon"], environ=environ) == 2
    assert read_output_file(output) == {"status": "INVALID_INPUT", "results": "[]"}

    captured = capsys.readouterr()
    timeout_error = (
        "Input 'timeout': 'soon' is not a duration. Fix: use seconds or a duration such as 90s, 15m or 1h30m."
    )
    project_error = (
        "Input 'project-id': 'nope' is not a Hex id (a UUID such as 5a8591dd-4039-49df-9202-96385ba3eff8). "
        "Fix: copy the id from the project's URL in Hex."
    )
    assert captured.out == (
        f"::add-mask::{TOKEN}\n"
        f"::error title=Invalid input 'timeout'::{timeout_error}\n"
        f"::error title=Invalid input 'project-id'::{project_error}\n"
    )
    assert captured.err == ""
    assert process_output(captured.out).commands == [
        Command("add-mask", {}, TOKEN),
        Command("error", {"title": "Invalid input 'timeout'"}, timeout_error),
        Command("error", {"title": "Invalid input 'project-id'"}, project_error),
    ]
    assert summary.read_text(encoding="utf-8") == (
        "### ❌ Hex run not started: invalid input\n"
        "\n"
        "- `timeout`: 'soon' is not a duration. **Fix:** use seconds or a duration such as 90s, 15m or 1h30m.\n"
        "- `project-id`: 'nope' is not a Hex id (a UUID such as 5a8591dd-4039-49df-9202-96385ba3eff8). "
        "**Fix:** copy the id from the project's URL in Hex.\n"
        "\n"
    )
    assert len(no_http.calls) == 0


def test_missing_token_and_project(capsys: pytest.CaptureFixture[str], no_http: responses.RequestsMock) -> None:
    assert main([], environ=ON_GITHUB) == 2
    out = capsys.readouterr().out
    assert out == (
        "::error title=Invalid input 'api-token'::Input 'api-token': no Hex API token was given. "
        "Fix: pass `api-token: ${{ secrets.HEX_API_TOKEN }}` or set the HEX_API_TOKEN environment variable.\n"
        "::error title=Invalid input 'project-id'::Input 'project-id': no project was given. "
        "Fix: set `project-id` to the id in the project's URL.\n"
        "status=INVALID_INPUT\n"
        "results=[]\n"
    )
    assert len(no_http.calls) == 0


def test_flags_win_over_input_variables(capsys: pytest.CaptureFixture[str], no_http: responses.RequestsMock) -> None:
    environ = {"INPUT_TIMEOUT": "soon", "INPUT_WAIT": "maybe", "INPUT_PROJECT_ID": "nope", **ON_GITHUB}
    assert main(["--timeout", "10m", "--project-id", f" {PROJECT} "], environ=environ) == 2
    titles = [c.properties["title"] for c in process_output(capsys.readouterr().out).named("error")]
    assert titles == ["Invalid input 'api-token'", "Invalid input 'wait'"]
    assert len(no_http.calls) == 0


def test_blank_flag_falls_back_to_the_input_variable(
    capsys: pytest.CaptureFixture[str], no_http: responses.RequestsMock
) -> None:
    assert main(["--timeout", "  "], environ={"INPUT_TIMEOUT": "soon", "HEX_API_TOKEN": TOKEN, **ON_GITHUB}) == 2
    titles = [c.properties["title"] for c in process_output(capsys.readouterr().out).named("error")]
    assert titles == ["Invalid input 'timeout'", "Invalid input 'project-id'"]


def test_token_from_a_flag_is_masked_first(capsys: pytest.CaptureFixture[str], no_http: responses.RequestsMock) -> None:
    environ = {"HEX_API_TOKEN": "env-token", **ON_GITHUB}
    assert main(["--api-token", "flag-token", "--project-id", "x"], environ=environ) == 2
    out = capsys.readouterr().out
    assert out.startswith("::add-mask::flag-token\n::error ")
    assert "env-token" not in out


def test_main_installs_the_cancel_handlers(capsys: pytest.CaptureFixture[str], no_http: responses.RequestsMock) -> None:
    main([], environ={})
    for sig in (signal.SIGINT, signal.SIGTERM):
        assert isinstance(getattr(signal.getsignal(sig), "__self__", None), CancelSignal), sig


# -- a run, with --output json -------------------------------------------------------------------


def test_output_json_prints_one_object_and_flags_win(capsys: pytest.CaptureFixture[str]) -> None:
    environ = {
        "HEX_API_TOKEN": TOKEN,
        "INPUT_PROJECT-ID": OTHER_PROJECT,  # the flag wins: no request may go to this project
        "INPUT_DRY-RUN": "false",
    }
    with responses.RequestsMock() as rsps:
        rsps.post(
            f"https://app.hex.tech/api/v1/projects/{PROJECT}/runs",
            status=201,
            json={
                "projectId": PROJECT,
                "runId": RUN,
                "runUrl": RUN_URL,
                "runStatusUrl": f"https://app.hex.tech/api/v1/projects/{PROJECT}/runs/{RUN}",
                "traceId": "trace-1",
                "projectVersion": 3,
            },
        )
        rsps.get(
            f"https://app.hex.tech/api/v1/projects/{PROJECT}",
            json={"id": PROJECT, "title": "Daily revenue", "lastPublishedAt": "2026-12-01T00:00:00Z"},
        )
        code = main(
            ["--output", "json", "--project-id", PROJECT, "--dry-run", "true"], environ=environ, clock=FakeClock()
        )
        assert code == 0
        read, call = rsps.calls
    assert read.request.method == "GET"
    assert json.loads(call.request.body) == {
        "dryRun": True,
        "updatePublishedResults": False,
        "useCachedSqlResults": True,
    }
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["User-Agent"] == f"hex-action/{__version__}"

    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"Running Hex project {PROJECT} on app.hex.tech",
        "Hex accepted the dry run of Daily revenue, project version 3",
        "Hex run of Daily revenue DRY_RUN: the request is valid; nothing was run",
    ]
    outputs = json.loads(captured.out)  # exactly one JSON document, nothing else on stdout
    assert outputs == {
        "run-id": RUN,
        "run-url": RUN_URL,
        "status": "DRY_RUN",
        "elapsed-seconds": 0,  # a number, as inside results
        "trace-id": "trace-1",
        "project-version": 3,
        "results": [  # an array here, not a JSON string as in GITHUB_OUTPUT
            {
                "name": PROJECT,
                "project-id": PROJECT,
                "project-name": "Daily revenue",
                "run-id": RUN,
                "run-url": RUN_URL,
                "status": "DRY_RUN",
                "elapsed-seconds": 0.0,
            }
        ],
    }
    assert TOKEN not in captured.out + captured.err
    assert "::" not in captured.err


# -- exit codes ------------------------------------------------------------------------------------


@pytest.fixture
def base_settings() -> Settings:
    return load_settings({"api-token": TOKEN, "project-id": PROJECT}, environ={})


@pytest.mark.parametrize(
    ("wait", "fail_on_error", "succeeded", "started", "code"),
    [
        (True, True, True, True, 0),
        (True, True, False, True, 1),
        (True, True, False, False, 1),
        (True, False, False, True, 0),
        (True, False, False, False, 0),
        (False, True, True, True, 0),
        (False, True, False, True, 0),  # wait: false, run started: the trigger did its job
        (False, True, False, False, 1),  # wait: false, but Hex refused to start the run
        (False, False, False, False, 0),
    ],
)
def test_exit_code(
    base_settings: Settings, wait: bool, fail_on_error: bool, succeeded: bool, started: bool, code: int
) -> None:
    settings = dataclasses.replace(base_settings, wait=wait, fail_on_error=fail_on_error)
    assert exit_code(settings, succeeded, started) == code


def test_a_bug_while_reading_inputs_is_reported_with_outputs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_http: responses.RequestsMock
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("'<' not supported")

    monkeypatch.setattr("hex_action.cli.load_settings", broken)
    output = tmp_path / "output"
    assert main([], environ={"HEX_API_TOKEN": TOKEN, "GITHUB_OUTPUT": str(output), **ON_GITHUB}) == 1
    out = capsys.readouterr().out
    assert "::error title=hex-action failed::Unexpected error in hex-action while reading the inputs: TypeError" in out
    assert read_output_file(output) == {"status": "NOT_STARTED", "results": "[]"}
    assert len(no_http.calls) == 0


def test_the_cli_module_loads_without_requests() -> None:
    # `--help` and input errors answer before any request: they should not pay for importing requests.
    code = "import sys, hex_action.cli; sys.exit('requests' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
