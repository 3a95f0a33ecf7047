"""Writes to the runner's files and to stdout can fail (disk full, read-only, a closed or broken pipe).

Whatever fails, the rest is still attempted, the run is still reported (or cancelled), one
`::error` names what could not be written and the OS error, the exit code is 1, and there is
no traceback. Checked on the GitHub class, and on the real entrypoint as a process.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import SimClient, start_action
from runner_parser import output_pairs, process_output

from hex_action.github import GitHub
from hex_action.simulator import HexSimulator, serve

FULL = "/dev/full"  # every write fails with ENOSPC: a full disk
TOKEN = "hxtp_write-failure-token"


def errors(stream: str) -> list[str]:
    return [c.data for c in process_output(stream).commands if c.name == "error"]


# -- the GitHub class ---------------------------------------------------------------------------------


def test_a_full_output_file_is_reported_once_and_the_summary_still_written(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    stream = io.StringIO()
    gh = GitHub({"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": FULL, "GITHUB_STEP_SUMMARY": str(summary)}, stream)
    gh.set_output("run-id", "abc")
    gh.set_output("status", "COMPLETED")
    gh.summary("### done\n")
    assert summary.read_text(encoding="utf-8") == "### done\n"
    assert gh.outputs == {"run-id": "abc", "status": "COMPLETED"}, "kept for --output json"
    assert gh.report_write_failures() is True
    (error,) = errors(stream.getvalue())
    assert "GITHUB_OUTPUT" in error
    assert FULL in error
    assert "No space left on device" in error


def test_an_unwritable_summary_leaves_the_outputs_alone(tmp_path: Path) -> None:
    output = tmp_path / "output"
    output.write_text("", encoding="utf-8")
    stream = io.StringIO()
    directory = tmp_path / "a-directory"
    directory.mkdir()
    gh = GitHub({"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(directory)}, stream)
    gh.summary("### one\n")
    gh.set_output("status", "COMPLETED")
    gh.summary("### two\n")
    assert dict(output_pairs(output.read_text(encoding="utf-8"))) == {"status": "COMPLETED"}
    assert gh.report_write_failures() is True
    (error,) = errors(stream.getvalue())
    assert "GITHUB_STEP_SUMMARY" in error
    assert "Is a directory" in error


def test_nothing_to_report_when_every_write_succeeded(tmp_path: Path) -> None:
    stream = io.StringIO()
    gh = GitHub({"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "o")}, stream)
    gh.set_output("status", "COMPLETED")
    assert gh.report_write_failures() is False
    assert errors(stream.getvalue()) == []


class Broken(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_broken_stdout_is_reported_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gh = GitHub({"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "o")}, Broken())
    gh.line("Running Hex project")
    gh.annotate("error", "the run failed")
    gh.set_output("status", "ERRORED")
    assert gh.report_write_failures() is True
    (error,) = errors(capsys.readouterr().err)
    assert "stdout" in error
    assert "Broken pipe" in error


# -- the real entrypoint --------------------------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[SimClient]:
    with serve(HexSimulator(TOKEN)) as server:
        yield SimClient(server.url, TOKEN)


def inputs(sim: SimClient, **more: str) -> dict[str, str]:
    project_id = str(uuid.uuid4())
    sim.project(project_id, pendingSeconds=0.1, runningSeconds=0.5)
    return {"api-token": TOKEN, "project-id": project_id, "hex-url": sim.url, "use-run-history": "false", **more}


def test_entrypoint_with_a_full_github_output(sim: SimClient, tmp_path: Path) -> None:
    result = start_action(tmp_path, inputs(sim), env={"GITHUB_OUTPUT": FULL}).wait()
    assert result.returncode == 1, result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    (error,) = [e for e in errors(result.stdout) if "GITHUB_OUTPUT" in e]
    assert "No space left on device" in error, error
    assert "COMPLETED" in result.summary, "the summary is still written"
    assert sim.runs()[0]["status"] == "COMPLETED"


def test_entrypoint_with_a_full_step_summary(sim: SimClient, tmp_path: Path) -> None:
    result = start_action(tmp_path, inputs(sim), env={"GITHUB_STEP_SUMMARY": FULL}).wait()
    assert result.returncode == 1, result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    (error,) = errors(result.stdout)
    assert "GITHUB_STEP_SUMMARY" in error
    assert "No space left on device" in error
    assert result.outputs["status"] == "COMPLETED", "the outputs are still written"


def test_entrypoint_with_a_full_output_on_an_input_error(sim: SimClient, tmp_path: Path) -> None:
    result = start_action(tmp_path, inputs(sim, timeout="soon"), env={"GITHUB_OUTPUT": FULL}).wait()
    assert result.returncode == 2, result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    assert any("GITHUB_OUTPUT" in e and "No space left" in e for e in errors(result.stdout)), result.describe()
    assert "invalid input" in result.summary


@pytest.mark.parametrize("stdout", ["closed", "broken", "full"])
def test_entrypoint_with_a_closed_or_broken_stdout(sim: SimClient, tmp_path: Path, stdout: str) -> None:
    process = start_action(tmp_path, inputs(sim), stdout=stdout)
    result = process.wait()
    assert result.returncode == 1, result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    assert "Exception ignored" not in result.stderr, result.describe()
    (error,) = errors(result.stderr)
    assert "stdout" in error, error
    assert result.outputs["status"] == "COMPLETED", "the outputs are still written"
    assert "COMPLETED" in result.summary
