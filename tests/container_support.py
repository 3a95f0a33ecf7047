"""Helpers for the container tests: an engine, the image, and `docker run` exactly as the runner does it.

The runner starts a Docker action as `docker run --name … --label … --workdir /github/workspace --rm
-e NAME … -v …:/github/workspace -v …:/github/file_commands -v …:/github/home <image>`, passing every
input (and the job's env) with `-e NAME` only: the values live in the environment of the docker CLI
process, never on its command line. File commands are read with the runner's own parser after the
CLI exits, and workflow commands are parsed from both of the CLI's output streams. On cancel the
runner signals the CLI only: SIGINT, 7.5 s, SIGTERM, 2.5 s, SIGKILL (shared/local-docker.md,
shared/github-actions-runtime.md B1, B2, B4).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
IMAGE = "hex-action:test"
BASE_IMAGE = "python:3.12-slim"
#: Every test container carries this label (value: the session id), so a session removes only its own.
LABEL = "hex-action-test"
#: The runner's cancel sequence (ProcessInvoker: _sigintTimeout, _sigtermTimeout).
SIGINT_TIMEOUT = 7.5
SIGTERM_TIMEOUT = 2.5
#: Variables of the test's own environment that must not reach the docker CLI of a test run.
_STRIPPED_PREFIXES = ("INPUT_", "GITHUB_", "RUNNER_", "ACTIONS_", "HEX_", "STATE_")
_EXPORT = re.compile(r"^export DOCKER_HOST=(?P<value>.+)$", re.MULTILINE)


class EngineUnavailable(Exception):
    """No Docker engine could be found or started."""


# ------------------------------------------------------------------------------------ engine


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def engine_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for the docker CLI whose DOCKER_HOST answers and has the base image.

    Always goes through `scripts/docker-env.sh` (under a second when warm): it reuses a working
    DOCKER_HOST, else starts the private loopback dockerd, and provides `python:3.12-slim`; so the
    tests use the very engine `scripts/build-image.sh` builds on.
    """
    env = dict(os.environ if environ is None else environ)
    try:
        proc = subprocess.run(
            [str(REPO / "scripts" / "docker-env.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineUnavailable(f"scripts/docker-env.sh could not run: {exc}") from exc
    match = _EXPORT.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        raise EngineUnavailable(
            f"scripts/docker-env.sh failed (exit {proc.returncode}); last lines:\n{_tail(proc.stderr)}"
        )
    (host,) = shlex.split(match["value"])
    env["DOCKER_HOST"] = host
    if docker_path() is None:
        raise EngineUnavailable("no docker CLI on PATH after scripts/docker-env.sh")
    return env


@cache
def docker_path() -> str | None:
    """The docker CLI's absolute path (a test may give the CLI a nonsense PATH, as a job can)."""
    return shutil.which("docker")


def docker(env: Mapping[str, str], *args: str, timeout: float = 60, check: bool = True) -> str:
    """Run one docker CLI command against the engine in `env`; return its stdout."""
    exe = docker_path()
    assert exe is not None
    proc = subprocess.run([exe, *args], env=dict(env), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed ({proc.returncode}): {_tail(proc.stderr)}")
    return proc.stdout


@dataclass(frozen=True)
class BuildInfo:
    """What `scripts/build-image.sh` reported."""

    tag: str
    wall_seconds: float
    build_seconds: float | None
    image_bytes: int
    base_bytes: int
    log: str

    @property
    def added_bytes(self) -> int:
        return self.image_bytes - self.base_bytes


def build_image(env: Mapping[str, str]) -> BuildInfo:
    """Build the image with `scripts/build-image.sh` (raises RuntimeError with the log's tail)."""
    started = time.monotonic()
    proc = subprocess.run(
        [str(REPO / "scripts" / "build-image.sh")],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/build-image.sh failed (exit {proc.returncode}):\n{_tail(proc.stderr, 40)}")
    tag = proc.stdout.strip().splitlines()[-1]
    took = re.search(r"build took (\d+(?:\.\d+)?) s", proc.stderr)
    sizes = docker(env, "image", "inspect", "--format", "{{.Size}}", tag, BASE_IMAGE).split()
    return BuildInfo(
        tag=tag,
        wall_seconds=wall,
        build_seconds=float(took[1]) if took else None,
        image_bytes=int(sizes[0]),
        base_bytes=int(sizes[1]),
        log=proc.stderr,
    )


# ------------------------------------------------------------------------------ runner parsers


@cache
def declared_inputs() -> tuple[str, ...]:
    """Every input name declared in action.yml, in order."""
    meta = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    return tuple(meta.get("inputs") or {})


def input_variable(name: str) -> str:
    """`Handler.AddInputsToEnvironment`: `INPUT_` + the name, spaces to `_`, upper-cased (hyphens kept)."""
    return "INPUT_" + name.replace(" ", "_").upper()


def _local_parse_file_command(text: str) -> list[tuple[str, str]]:
    """`EnvFileKeyValuePairs` on Linux: lines end at `\\n` only, blank lines skipped, `k=v` split at
    the first `=`, `k<<D` up to a line equal to D (minus the newline before it); ValueError where the
    runner fails the step."""
    pairs: list[tuple[str, str]] = []
    ends_with_newline = text.endswith("\n")
    lines = text.split("\n")
    if ends_with_newline:
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, hd = line.find("="), line.find("<<")
        if eq >= 0 and (hd < 0 or eq < hd):
            key, value = line[:eq], line[eq + 1 :]
        elif hd >= 0:
            key, delimiter = line[:hd], line[hd + 2 :]
            if not key or not delimiter:
                raise ValueError(f"Invalid format '{line}'. Name must not be empty and delimiter must not be empty")
            body: list[str] = []
            while True:
                if i >= len(lines):
                    raise ValueError(f"Invalid value. Matching delimiter not found '{delimiter}'")
                current = lines[i]
                i += 1
                if current == delimiter:
                    break
                if i == len(lines) and not ends_with_newline:
                    raise ValueError("Invalid value. EOF marker missing new line.")
                body.append(current)
            value = "\n".join(body)
        else:
            raise ValueError(f"Invalid format '{line}'")
        if not key:
            raise ValueError(f"Output name must not be empty: '{line}'")
        pairs.append((key, value))
    return pairs


def _runner_parser() -> Any:
    """tests/runner_parser.py (the shared port of the runner's parsers) when it is there, else None."""
    try:
        import runner_parser  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return runner_parser


def parse_file_command(text: str) -> list[tuple[str, str]]:
    """The (key, value) pairs the runner takes from a GITHUB_OUTPUT file (an exception where the
    runner would fail the step)."""
    shared = _runner_parser()
    if shared is None:
        return _local_parse_file_command(text)
    pairs = list(shared.env_file_pairs(text))
    if any(not key for key, _ in pairs):
        raise ValueError("an output with an empty name fails the step")
    return pairs


@dataclass(frozen=True)
class Command:
    """A workflow command as the runner reads it from a log line (V2 form)."""

    name: str
    properties: dict[str, str]
    data: str


def _unescape(text: str, *, property_value: bool = False) -> str:
    """The runner's unescaping: `%0D`, `%0A` (and `%3A`, `%2C` in properties), `%25` last."""
    pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if property_value else [])
    for escaped, plain in [*pairs, ("%25", "%")]:
        text = text.replace(escaped, plain)
    return text


def _local_workflow_commands(log: str) -> list[Command]:
    """The `::name props::data` commands of `log`, honouring `::stop-commands::<token>`."""
    commands: list[Command] = []
    stop: str | None = None
    for raw in log.splitlines():
        line = raw.lstrip()
        if stop is not None:
            if line == f"::{stop}::":
                stop = None
            continue
        end = line.find("::", 2)
        if not line.startswith("::") or end < 0:
            continue
        name, _, props = line[2:end].partition(" ")
        properties = {}
        for item in filter(None, props.strip().split(",")):
            key, _, value = item.partition("=")
            properties[key.lower()] = _unescape(value, property_value=True)
        data = _unescape(line[end + 2 :])
        if name.lower() == "stop-commands":
            stop = data
        else:
            commands.append(Command(name.lower(), properties, data))
    return commands


def workflow_commands(log: str) -> list[Command]:
    """The workflow commands the runner acts on in one output stream of the container."""
    shared = _runner_parser()
    if shared is None:
        return _local_workflow_commands(log)
    return [Command(c.name.lower(), dict(c.properties), c.data) for c in shared.process_output(log).commands]


# ----------------------------------------------------------------------------- one container


@dataclass
class ContainerResult:
    """What the runner sees of one `docker run`."""

    returncode: int
    stdout: str
    stderr: str
    output_text: str
    summary: str
    argv: list[str]
    started_wall: float
    seconds: float
    stage: str = "exited"  # for a cancel: the last signal the CLI needed before it exited
    output_pairs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def outputs(self) -> dict[str, str]:
        return dict(self.output_pairs)

    @property
    def log(self) -> str:
        return self.stdout + self.stderr

    def annotations(self, level: str) -> list[Command]:
        return [c for c in workflow_commands(self.stdout) + workflow_commands(self.stderr) if c.name == level]

    def describe(self) -> str:
        return (
            f"exit {self.returncode} after {self.seconds:.1f}s ({self.stage})\n--- stdout\n{self.stdout}"
            f"--- stderr\n{self.stderr}--- GITHUB_OUTPUT\n{self.output_text}--- summary\n{self.summary}"
        )


class ActionContainer:
    """One action step run as the runner runs it: fresh file-command files, `-e NAME` only."""

    def __init__(
        self,
        env: Mapping[str, str],
        root: Path,
        *,
        image: str,
        session: str,
        inputs: Mapping[str, str],
        job_env: Mapping[str, str] | None = None,
    ) -> None:
        unknown = set(inputs) - set(declared_inputs())
        if unknown:
            raise ValueError(f"inputs not declared in action.yml: {sorted(unknown)}")
        self.name = f"hex-action-test-{uuid.uuid4().hex[:12]}"
        self.workspace = root / "workspace"
        self.file_commands = root / "file_commands"
        self.home = root / "home"
        for directory in (self.workspace, self.file_commands, self.home):
            directory.mkdir(parents=True, exist_ok=True)
        guid = uuid.uuid4()
        self.output_file = self.file_commands / f"set_output_{guid}"
        self.summary_file = self.file_commands / f"step_summary_{guid}"
        self.output_file.write_text("")  # InitializeFiles: fresh empty files for every step
        self.summary_file.write_text("")

        # Values for `-e NAME`: every declared input (empty when not given), then the job's env.
        by_name = {input_variable(name): inputs.get(name, "") for name in declared_inputs()}
        by_name.update(job_env or {})
        cli_env = {k: v for k, v in env.items() if not k.startswith(_STRIPPED_PREFIXES)}
        cli_env.update(by_name)
        self.cli_env = cli_env

        exe = docker_path()
        assert exe is not None
        argv = [exe, "run", "--name", self.name, "--label", f"{LABEL}={session}"]
        argv += ["--workdir", "/github/workspace", "--rm"]
        for variable in by_name:
            argv += ["-e", variable]
        argv += [
            "-e",
            f"GITHUB_OUTPUT=/github/file_commands/{self.output_file.name}",
            "-e",
            f"GITHUB_STEP_SUMMARY=/github/file_commands/{self.summary_file.name}",
            "-e",
            "HOME=/github/home",
            "-e",
            "GITHUB_ACTIONS=true",
            "-e",
            "CI=true",
            "-v",
            f"{self.workspace}:/github/workspace",
            "-v",
            f"{self.file_commands}:/github/file_commands",
            "-v",
            f"{self.home}:/github/home",
            "--network=host",
            image,
        ]
        self.argv = argv
        self._stdout = root / "docker-stdout.log"
        self._stderr = root / "docker-stderr.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_wall = 0.0
        self._started = 0.0
        self.stage = "exited"

    def start(self) -> subprocess.Popen[bytes]:
        with self._stdout.open("wb") as out, self._stderr.open("wb") as err:
            self.started_wall = time.time()
            self._started = time.monotonic()
            self.proc = subprocess.Popen(self.argv, env=self.cli_env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        return self.proc

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float = 90) -> ContainerResult:
        """Wait for the CLI to exit (killing it after `timeout`) and collect what the runner reads."""
        assert self.proc is not None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.stage = f"killed by the test after {timeout:.0f}s"
        return self.result()

    def cancel_like_runner(self, first: signal.Signals = signal.SIGINT) -> float:
        """Replay `ProcessInvoker.CancelAndKillProcessTree` on the CLI; return when the first signal went.

        SIGINT, up to 7.5 s for the CLI to exit, SIGTERM, up to 2.5 s, then SIGKILL of the CLI
        only. With `first=SIGTERM` (docker stop-like): SIGTERM, up to 10 s, SIGKILL.
        """
        assert self.proc is not None
        if first == signal.SIGINT:
            sequence = [(signal.SIGINT, SIGINT_TIMEOUT), (signal.SIGTERM, SIGTERM_TIMEOUT)]
        else:
            sequence = [(first, SIGINT_TIMEOUT + SIGTERM_TIMEOUT)]
        sent_at = time.time()
        for number, (sig, grace) in enumerate(sequence):
            if number == 0:
                sent_at = time.time()
            self.proc.send_signal(sig)
            self.stage = sig.name
            try:
                self.proc.wait(grace)
                return sent_at
            except subprocess.TimeoutExpired:
                continue
        self.proc.kill()
        self.proc.wait()
        self.stage = "SIGKILL"
        return sent_at

    def result(self) -> ContainerResult:
        assert self.proc is not None
        assert self.proc.returncode is not None
        output_text = self.output_file.read_text(encoding="utf-8")
        return ContainerResult(
            returncode=self.proc.returncode,
            stdout=self._stdout.read_text(encoding="utf-8", errors="replace"),
            stderr=self._stderr.read_text(encoding="utf-8", errors="replace"),
            output_text=output_text,
            summary=self.summary_file.read_text(encoding="utf-8"),
            argv=self.argv,
            started_wall=self.started_wall,
            seconds=time.monotonic() - self._started,
            stage=self.stage,
            output_pairs=parse_file_command(output_text),
        )

    def exists(self, env: Mapping[str, str]) -> bool:
        """Whether the engine still has this container (running or not)."""
        listed = docker(env, "ps", "-a", "--filter", f"name={self.name}", "--format", "{{.Names}}", check=False)
        return self.name in listed.split()


def remove_containers(env: Mapping[str, str], session: str) -> list[str]:
    """`docker rm -f` every container of this test session; return their names."""
    names = docker(
        env, "ps", "-a", "--filter", f"label={LABEL}={session}", "--format", "{{.Names}}", check=False
    ).split()
    if names:
        docker(env, "rm", "-f", *names, check=False)
    return names


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Poll `predicate` until it returns something truthy (returned) or `timeout` passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value or None
        time.sleep(interval)


def median(values: list[float]) -> float:
    return statistics.median(values)
