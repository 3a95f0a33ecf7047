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

from runner_env import inherited_env, input_env
from runner_parser import Command, output_pairs, process_output

REPO = Path(__file__).resolve().parents[1]
IMAGE = "hex-action:test"
BASE_IMAGE = "python:3.12-slim"
#: Every test container carries this label (value: the session id), so a session removes only its own.
LABEL = "hex-action-test"
#: The runner's cancel sequence (ProcessInvoker: _sigintTimeout, _sigtermTimeout).
SIGINT_TIMEOUT = 7.5
SIGTERM_TIMEOUT = 2.5
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


def build_image(env: Mapping[str, str], *, cold: bool = False) -> BuildInfo:
    """Build the image with `scripts/build-image.sh` (raises RuntimeError with the log's tail).

    `cold`: no build cache (`--no-cache`, the previous image removed first), the base image present:
    what a job pays for `runs.image: Dockerfile` on top of pulling the base.
    """
    if cold:
        docker(env, "image", "rm", IMAGE, check=False)
    started = time.monotonic()
    proc = subprocess.run(
        [str(REPO / "scripts" / "build-image.sh")],
        env=dict(env) | ({"NO_CACHE": "1"} if cold else {}),
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


def load_seconds(env: Mapping[str, str], tag: str, directory: Path) -> float:
    """Seconds `docker load` takes to bring `tag` back after `docker image rm` (the base image stays).

    The local stand-in for pulling the prebuilt image: like a pull on top of the base, it unpacks
    and registers only the layers the Dockerfile added (no registry here, so no download time).
    The image comes back with the same id; anything else raises RuntimeError.
    """
    image_id = docker(env, "image", "inspect", "--format", "{{.Id}}", tag).strip()
    archive = directory / "image.tar"
    docker(env, "image", "save", "-o", str(archive), tag, timeout=300)
    docker(env, "image", "rm", tag)
    try:
        started = time.monotonic()
        docker(env, "image", "load", "-q", "-i", str(archive), timeout=300)
        seconds = time.monotonic() - started
    finally:
        archive.unlink(missing_ok=True)
    loaded = docker(env, "image", "inspect", "--format", "{{.Id}}", tag, check=False).strip()
    if loaded != image_id:
        raise RuntimeError(f"docker load brought back {loaded or 'nothing'} for {tag}, expected {image_id}")
    return seconds


# ------------------------------------------------------------------------------ runner parsers


def workflow_commands(log: str) -> list[Command]:
    """The workflow commands the runner acts on in one output stream of the container."""
    return process_output(log).commands


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
        return [c for c in workflow_commands(self.stdout) + workflow_commands(self.stderr) if c.name.lower() == level]

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
        # Values for `-e NAME`: every declared input (empty when not given; a ValueError for an
        # input action.yml does not declare), then the job's env.
        by_name = input_env(inputs, unset="empty") | dict(job_env or {})
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

        self.cli_env = inherited_env(env) | by_name

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
            output_pairs=list(output_pairs(output_text)),
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
