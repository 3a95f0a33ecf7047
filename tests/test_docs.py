"""The documentation and the workflows agree with the action.

- README.md's inputs and outputs tables are action.yml's, parsed from the README (not regenerated);
- action.yml's inputs are exactly hex_action.settings.DEFAULTS, and its outputs exactly what the
  action writes (found by running it against the simulator, not by reading the code);
- every example is linked from the README and follows the rules users should copy (the action
  from `hex-action/hex-action@v1`, the token from a secret, a job timeout above the action's);
- every workflow pins third-party actions by commit SHA, grants no permissions by default and
  bounds every job; the self-test really runs the image's ENTRYPOINT after starting the simulator;
- the CHANGELOG has a section for the version in hex_action/__init__.py.
"""

from __future__ import annotations

import ast
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from runner_env import input_env
from runner_parser import read_output_file

from hex_action import __version__
from hex_action.cli import main
from hex_action.clock import FakeClock
from hex_action.inputs import parse_duration
from hex_action.settings import DEFAULTS
from hex_action.simulator import HexSimulator, SimServer, serve

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXAMPLES = sorted((ROOT / "examples").glob("*.yml"))
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION_REF = "hex-action/hex-action@v1"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses:\s*\S+\s+#\s*v\d+\.\d+\.\d+\s*$")


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _readme_table(begin: str, end: str) -> list[list[str]]:
    """The body rows of the Markdown table between two markers, as unescaped cell texts."""
    block = README.split(begin, 1)[1].split(end, 1)[0]
    lines = [line.strip() for line in block.strip().splitlines()]
    assert len(lines) >= 2, f"no table between {begin} and {end}"
    assert re.fullmatch(r"\|(-+\|)+", lines[1]), f"not a table header separator: {lines[1]!r}"
    rows = []
    for line in lines[2:]:
        assert line.startswith("|"), f"not a table row: {line!r}"
        assert line.endswith("|"), f"not a table row: {line!r}"
        cells = re.split(r"(?<!\\)\|", line[1:-1])
        rows.append([cell.strip().replace("\\|", "|") for cell in cells])
    return rows


def _code(cell: str) -> str:
    """`value` -> value; an empty cell -> ''."""
    if not cell:
        return ""
    assert cell.startswith("`"), f"expected a `code` cell, got {cell!r}"
    assert cell.endswith("`"), f"expected a `code` cell, got {cell!r}"
    return cell[1:-1]


def _words(text: str) -> str:
    return " ".join(str(text).split())


# ---------------------------------------------------------------------------------- README tables


def test_readme_inputs_table_is_action_yml() -> None:
    rows = _readme_table("<!-- inputs:begin -->", "<!-- inputs:end -->")
    table = [(_code(name), _code(default), description) for name, default, description in rows]
    expected = [
        (name, str(spec.get("default", "")), _words(spec["description"])) for name, spec in ACTION["inputs"].items()
    ]
    assert table == expected


def test_readme_outputs_table_is_action_yml() -> None:
    rows = _readme_table("<!-- outputs:begin -->", "<!-- outputs:end -->")
    table = [(_code(name), description) for name, description in rows]
    expected = [(name, _words(spec["description"])) for name, spec in ACTION["outputs"].items()]
    assert table == expected


# ------------------------------------------------------------------------- inputs and outputs


def test_action_inputs_are_the_settings_defaults() -> None:
    declared = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    assert declared == DEFAULTS
    assert list(declared) == list(DEFAULTS), "same order, so --help and the README read alike"


def test_action_inputs_are_not_required_so_the_action_reports_missing_ones_itself() -> None:
    # `required: true` is documentation only (the runner never enforces it); the action validates.
    assert [name for name, spec in ACTION["inputs"].items() if spec.get("required")] == []


@pytest.fixture
def restore_signal_handlers() -> Iterator[None]:
    """main() installs SIGINT/SIGTERM handlers; put pytest's back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


COMPLETES = "0b9a3c52-6f1e-4a8d-9c7b-2e5f8d1a4b63"
ERRORS = "1c8b4d63-7a2f-4b9e-8d6c-3f6a9e2b5c74"


def _run_action(
    server: SimServer, clock: FakeClock, tmp_path: Path, name: str, inputs: dict[str, str]
) -> tuple[int, dict[str, str]]:
    """Run the action in-process as the runner would (every declared input as INPUT_*, GITHUB_OUTPUT); its outputs."""
    output = tmp_path / f"{name}.output"
    output.touch()
    environ = input_env({**inputs, "api-token": "docs-token", "hex-url": server.url})
    environ |= {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp_path / f"{name}.summary"),
    }
    return main([], environ=environ, clock=clock), read_output_file(output)


@pytest.mark.usefixtures("restore_signal_handlers")
def test_every_declared_output_is_written_and_nothing_else(tmp_path: Path) -> None:
    declared = set(ACTION["outputs"])
    # Real HTTP to a simulator on loopback; one fake clock drives both sides, so nothing sleeps.
    clock = FakeClock()
    sim = HexSimulator("docs-token", clock=clock.wall)
    sim.configure_project(COMPLETES, pending_seconds=1, running_seconds=5)
    sim.configure_project(ERRORS, pending_seconds=1, running_seconds=5, final_status="ERRORED")
    pipeline = f"- {{name: a, project-id: {COMPLETES}}}\n- {{name: b, project-id: {COMPLETES}, needs: a}}"
    with serve(sim) as server:
        runs = {
            "completed": _run_action(server, clock, tmp_path, "completed", {"project-id": COMPLETES}),
            "errored": _run_action(server, clock, tmp_path, "errored", {"project-id": ERRORS}),
            "pipeline": _run_action(server, clock, tmp_path, "pipeline", {"pipeline": pipeline}),
        }
    assert {name: code for name, (code, _) in runs.items()} == {"completed": 0, "errored": 1, "pipeline": 0}
    for name, (_, outputs) in runs.items():
        assert set(outputs) <= declared, f"{name} wrote outputs action.yml does not declare"
    assert set(runs["completed"][1]) == declared, "a completed run writes every output"
    assert runs["completed"][1]["status"] == "COMPLETED"
    assert runs["errored"][1]["status"] == "ERRORED"
    assert [r["status"] for r in json.loads(runs["pipeline"][1]["results"])] == ["COMPLETED", "COMPLETED"]


# ---------------------------------------------------------------------------------------- examples


def test_examples_exist() -> None:
    assert {path.name for path in EXAMPLES} >= {
        "gate-deploy.yml",
        "on-merge.yml",
        "nightly.yml",
        "trigger-then-wait.yml",
        "matrix.yml",
        "pipeline-sequence.yml",
        "pipeline-graph.yml",
    }


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_is_linked_from_the_readme(example: Path) -> None:
    assert f"](examples/{example.name})" in README, f"README.md has no link to examples/{example.name}"


def _action_steps(workflow: dict[str, Any], ref: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if step.get("uses") == ref:
                yield job_id, job, step


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_follows_the_advice_it_teaches(example: Path) -> None:
    workflow = _load(example)
    text = example.read_text(encoding="utf-8")
    assert "permissions" in workflow, "a top-level `permissions:` (users copy it)"
    assert "commit SHA" in text, "the header says users may pin a commit SHA"
    steps = list(_action_steps(workflow, ACTION_REF))
    assert steps, f"no step uses {ACTION_REF}"
    for job_id, job, step in steps:
        where = f"{example.name}: job {job_id}"
        assert step["with"]["api-token"] == "${{ secrets.HEX_API_TOKEN }}", where
        timeout = parse_duration(str(step["with"].get("timeout", DEFAULTS["timeout"])))
        minutes = step.get("timeout-minutes", job.get("timeout-minutes"))
        assert minutes is not None, f"{where}: no timeout-minutes"
        # Room for the image build (a Dockerfile action is built in every job) and the cancel.
        assert minutes * 60 >= timeout + 5 * 60, f"{where}: timeout-minutes {minutes} not above timeout {timeout}s"


# --------------------------------------------------------------------------------- workflow hygiene


def _uses_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if re.match(r"\s*-?\s*uses:", line)]


@pytest.mark.parametrize("path", WORKFLOWS + EXAMPLES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_third_party_actions_are_pinned_by_sha_with_a_version_comment(path: Path) -> None:
    for line in _uses_lines(path):
        ref = line.split("uses:", 1)[1].split("#", 1)[0].strip()
        if ref.startswith("./") or ref == "./" or (path in EXAMPLES and ref == ACTION_REF):
            continue
        assert SHA_PIN.match(ref), f"{path.name}: {ref} is not pinned by a full commit SHA"
        assert VERSION_COMMENT.search(line), f"{path.name}: {line!r} lacks a `# vX.Y.Z` comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_grants_nothing_by_default_and_bounds_every_job(path: Path) -> None:
    workflow = _load(path)
    assert workflow["permissions"] == {}, "top-level `permissions: {}`, grants per job"
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {job_id} states its permissions"
        if "uses" not in job:  # a reusable-workflow call is bounded by the called jobs' own limits
            assert job.get("timeout-minutes"), f"job {job_id} has no timeout-minutes"


@pytest.mark.parametrize("path", WORKFLOWS + EXAMPLES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_checkout_does_not_persist_credentials(path: Path) -> None:
    for job in _load(path)["jobs"].values():
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, path.name


def _dotnet_argv(command_line: str) -> list[str]:
    """Split a command line the way .NET's Process does on Linux, for strings without backslashes:
    spaces separate words except inside double quotes, which are removed."""
    assert "\\" not in command_line
    words, word, quoted, started = [], [], False, False
    for char in command_line:
        if char == '"':
            quoted, started = not quoted, True
        elif char in " \t" and not quoted:
            if started:
                words.append("".join(word))
            word, started = [], False
        else:
            word.append(char)
            started = True
    if started:
        words.append("".join(word))
    assert not quoted, "unbalanced double quote"
    return words


def _self_test_program() -> tuple[dict[str, Any], str]:
    workflow = _load(ROOT / ".github" / "workflows" / "self-test.yml")
    job = workflow["jobs"]["self-test"]
    argv = _dotnet_argv(job["env"]["SIMULATOR_THEN_ACTION"])
    flags, program = argv[:-1], argv[-1]
    assert flags == ["-E", "-s", "-c"], argv
    return job, program


def _calls(program: str, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(program))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name
    ]


def test_self_test_runs_the_images_own_entrypoint_after_the_simulator() -> None:
    job, program = _self_test_program()
    for step in job["steps"]:
        if step.get("uses") == "./":
            assert step["with"]["entrypoint"] == "/usr/local/bin/python", step["name"]
            assert step["with"]["args"] == "${{ env.SIMULATOR_THEN_ACTION }}", step["name"]
            assert step["with"]["hex-url"] == "http://127.0.0.1:8765", step["name"]
    [execv] = _calls(program, "execv")
    exec_argv = ast.literal_eval(execv.args[1])
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    [entrypoint] = re.findall(r"^ENTRYPOINT\s+(\[.*\])\s*$", dockerfile, flags=re.MULTILINE)
    assert exec_argv == json.loads(entrypoint)


def test_self_test_simulator_command_starts_a_simulator(tmp_path: Path) -> None:
    _, program = _self_test_program()
    [popen] = _calls(program, "Popen")
    command: list[str] = ast.literal_eval(popen.args[0])
    assert command[:5] == ["/usr/local/bin/python", "-E", "-s", "-m", "hex_action.simulator"]
    port_file = tmp_path / "port"
    options = command[5:]
    options[options.index("--port") + 1] = "0"
    options[options.index("--port-file") + 1] = str(port_file)
    process = subprocess.Popen([sys.executable, "-E", "-s", "-m", "hex_action.simulator", *options], cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert port_file.exists(), f"the simulator did not start (exit code {process.poll()})"
    finally:
        process.terminate()
        process.wait(timeout=10)


# --------------------------------------------------------------------------------------- CHANGELOG


def test_changelog_has_a_section_for_the_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    heading = re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, flags=re.MULTILINE)
    assert heading, f"CHANGELOG.md has no '## [{__version__}] - YYYY-MM-DD' section"
    body = changelog[heading.end() :].split("\n## [", 1)[0]
    assert body.strip(), f"the {__version__} section is empty (release.yml uses it as the release notes)"
