"""Helpers for the end-to-end tests: run the real `entrypoint.py` as the runner would.

The runner gives a Docker action every input declared in action.yml as `INPUT_<NAME>` with
hyphens kept (`INPUT_PROJECT-ID`), fresh `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` files, and
`GITHUB_ACTIONS=true`; after the process exits it reads the file commands with its own parser,
and it parses workflow commands from stdout and stderr (shared/github-actions-runtime.md,
B1-B3). This module reproduces that: `start_action` launches the process like the image's
ENTRYPOINT (`python -E -s -u entrypoint.py`) with the environment of tests/runner_env.py,
`ActionResult` holds what the runner would see, read with the port of the runner's parsers in
tests/runner_parser.py, and `SimClient` drives and inspects a simulator through its `/_sim/`
admin endpoints.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from runner_env import inherited_env, input_env, input_variable
from runner_parser import Command, FileCommandError, output_pairs, process_output

REPO = Path(__file__).resolve().parents[1]
ENTRYPOINT = REPO / "entrypoint.py"
#: How the image starts the action (Dockerfile ENTRYPOINT), minus the absolute interpreter path.
PYTHON_FLAGS = ("-E", "-s", "-u")
#: The User-Agent of the test's own API calls, so they can be told apart from the action's.
TEST_AGENT = "hex-action-e2e-test"

_STATUS_PATH = re.compile(r"^/api/v1/projects/[^/]+/runs/[^/]+/?$")
_RUNS_PATH = re.compile(r"^/api/v1/projects/[^/]+/runs/?$")
_PROJECT_PATH = re.compile(r"^/api/v1/projects/[^/]+/?$")


# ---------------------------------------------------------------------------------- a process


@dataclass
class ActionResult:
    """Everything the runner would see of one finished action process."""

    returncode: int
    stdout: str
    stderr: str
    output_file: str
    summary: str
    seconds: float
    output_pairs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def outputs(self) -> dict[str, str]:
        """The step outputs after the runner applied every pair (a later pair wins)."""
        return dict(self.output_pairs)

    def first_index(self, name: str) -> int:
        """Position of the first pair written for output `name` (ValueError if none)."""
        return next(i for i, (key, _) in enumerate(self.output_pairs) if key == name)

    @property
    def commands(self) -> list[Command]:
        """The workflow commands the runner acts on (stop-commands blocks and plain text excluded)."""
        return process_output(self.stdout).commands + process_output(self.stderr).commands

    def annotations(self, level: str) -> list[Command]:
        """The `error`, `warning` or `notice` annotations the step raised."""
        return [c for c in self.commands if c.name.lower() == level]

    def everything(self) -> str:
        """Every channel the runner shows or keeps: logs, outputs, summary."""
        return "\n".join((self.stdout, self.stderr, self.output_file, self.summary))

    def describe(self) -> str:
        """For assertion messages."""
        return (
            f"exit {self.returncode} after {self.seconds:.2f}s\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
            f"\n--- GITHUB_OUTPUT\n{self.output_file}\n--- summary\n{self.summary}"
        )


@dataclass
class ActionProcess:
    """A running `entrypoint.py`; `wait()` turns it into an `ActionResult`."""

    proc: subprocess.Popen[str]
    started: float
    output_path: Path | None
    summary_path: Path | None
    result: ActionResult | None = None

    def send(self, sig: signal.Signals) -> float:
        """Send `sig` to the process (as the docker CLI forwards it to PID 1); the wall time it was sent."""
        sent = time.time()
        self.proc.send_signal(sig)
        return sent

    def outputs_so_far(self) -> list[tuple[str, str]]:
        """The GITHUB_OUTPUT pairs written up to now (the file may be mid-write: then fewer)."""
        if self.output_path is None or not self.output_path.exists():
            return []
        text = self.output_path.read_text(encoding="utf-8")
        try:
            return list(output_pairs(text))
        except FileCommandError:
            return []

    def wait(self, timeout: float = 30.0) -> ActionResult:
        if self.result is not None:
            return self.result
        try:
            stdout, stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            stdout, stderr = self.proc.communicate()
            raise AssertionError(
                f"entrypoint.py still running after {timeout}s\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
            ) from None
        seconds = time.monotonic() - self.started
        output_file = self.output_path.read_text(encoding="utf-8") if self.output_path else ""
        summary = self.summary_path.read_text(encoding="utf-8") if self.summary_path else ""
        self.result = ActionResult(
            returncode=self.proc.returncode,
            stdout=stdout or "",
            stderr=stderr,
            output_file=output_file,
            summary=summary,
            seconds=seconds,
            output_pairs=list(output_pairs(output_file)),
        )
        return self.result

    def kill(self) -> None:
        """Stop the process if it is still running (test clean-up)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def start_action(
    workdir: Path,
    inputs: Mapping[str, str] | None = None,
    *,
    github: bool = True,
    unset: str = "default",
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    stdout: str = "pipe",
) -> ActionProcess:
    """Start `entrypoint.py` in `workdir` with runner-style inputs.

    With `github=True` the environment is the runner's: every declared input, GITHUB_OUTPUT and
    GITHUB_STEP_SUMMARY files (created empty, as `InitializeFiles` does) and GITHUB_ACTIONS=true.
    With `github=False` it is a plain command line: only the given `inputs` become `INPUT_*`
    variables and no GitHub variable is set. `env` adds or overrides variables last.
    `stdout` other than "pipe" is not captured: "closed" (no fd 1 at all), "broken" (a pipe
    nobody reads: EPIPE) or "full" (/dev/full: ENOSPC).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    base = inherited_env()
    output_path = summary_path = None
    if github:
        files = workdir / "_runner_file_commands"
        files.mkdir(exist_ok=True)
        output_path = files / "set_output_e2e"
        summary_path = files / "step_summary_e2e"
        output_path.write_text("", encoding="utf-8")
        summary_path.write_text("", encoding="utf-8")
        base.update(input_env(inputs or {}, unset=unset))
        base.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_OUTPUT": str(output_path),
                "GITHUB_STEP_SUMMARY": str(summary_path),
                "GITHUB_WORKSPACE": str(workdir),
            }
        )
    else:
        base.update({input_variable(name): value for name, value in (inputs or {}).items()})
    base.update(env or {})
    command = [sys.executable, *PYTHON_FLAGS, str(ENTRYPOINT), *args]
    out: Any = subprocess.PIPE
    broken_read_end: int | None = None
    if stdout == "closed":  # the process starts with no fd 1 at all
        # Not through sh: dash drops the runner's `INPUT_PROJECT-ID` variables (not shell names).
        closing = "import os, sys; os.close(1); os.execv(sys.argv[1], sys.argv[1:])"
        command = [sys.executable, "-c", closing, *command]
    elif stdout == "broken":  # a pipe nobody reads: every write gets EPIPE
        broken_read_end, out = os.pipe()
    elif stdout == "full":  # every write gets ENOSPC
        out = os.open("/dev/full", os.O_WRONLY)
    proc = subprocess.Popen(
        command,
        cwd=workdir,
        env=base,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        start_new_session=True,  # our signals only, never the terminal's
    )
    if out is not subprocess.PIPE:
        os.close(out)
    if broken_read_end is not None:
        os.close(broken_read_end)
    return ActionProcess(proc, time.monotonic(), output_path, summary_path)


# -------------------------------------------------------------------------------- the simulator


def request_kind(entry: Mapping[str, Any]) -> str:
    """`start`, `status`, `list`, `cancel`, `project` or `other` for one request-log entry."""
    method, path = entry["method"], entry["path"]
    if _PROJECT_PATH.match(path) and method == "GET":
        return "project"
    if _RUNS_PATH.match(path):
        return {"POST": "start", "GET": "list"}.get(method, "other")
    if _STATUS_PATH.match(path):
        return {"GET": "status", "DELETE": "cancel"}.get(method, "other")
    return "other"


def by_action(log: Iterable[Mapping[str, Any]], *, project_reads: bool = True) -> list[Mapping[str, Any]]:
    """The request-log entries sent by the action (not by the test); without its reads of the
    projects (GetProject, for their names) when `project_reads` is false."""
    mine = [e for e in log if e["headers"].get("user-agent", "").startswith("hex-action/")]
    return mine if project_reads else [e for e in mine if request_kind(e) != "project"]


def kinds(log: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    """The action's requests of one kind, in order."""
    return [e for e in by_action(log) if request_kind(e) == kind]


class SimClient:
    """A simulator driven over HTTP: its admin endpoints and, as another client, its API."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._session = requests.Session()

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self._session.request(method, f"{self.url}/_sim/{path}", json=body, timeout=5)
        if response.status_code != 200:
            raise AssertionError(f"simulator admin {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def reset(self) -> None:
        """Forget runs, faults, projects, rate-limit counts and the request log."""
        self._admin("POST", "reset")

    def project(self, project_id: str, **spec: Any) -> None:
        """Configure a project: pendingSeconds, runningSeconds, finalStatus, published, exists, ..."""
        self._admin("POST", f"projects/{project_id}", spec)

    def fault(self, **spec: Any) -> None:
        """Add a fault: method, pathRegex, status, count, retryAfter, body, delaySeconds."""
        self._admin("POST", "faults", spec)

    def log(self) -> list[dict[str, Any]]:
        """The API request log (time is wall-clock seconds)."""
        return list(self._admin("GET", "requests"))

    def runs(self) -> list[dict[str, Any]]:
        """Every stored run with its current status."""
        return [r for r in self._admin("GET", "runs") if not r["seeded"]]

    def api(self, method: str, path: str, body: Any = None) -> requests.Response:
        """Call the API as a client other than the action (e.g. a user cancelling in Hex)."""
        return self._session.request(
            method,
            f"{self.url}/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}", "User-Agent": TEST_AGENT},
            timeout=5,
        )

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], *, timeout: float = 10.0, what: str = "a request"
    ) -> list[dict[str, Any]]:
        """Poll the request log until `predicate(log)` holds; return that log."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            if predicate(log):
                return log
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} at the simulator within {timeout}s: {log}")
            time.sleep(0.02)

    def wait_for_kind(self, kind: str, *, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until the action has sent `count` requests of `kind`; return them."""
        log = self.wait_for(lambda entries: len(kinds(entries, kind)) >= count, timeout=timeout, what=kind)
        return kinds(log, kind)
