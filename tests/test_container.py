"""The real image, run the way the GitHub runner runs a Docker action, against the HTTP simulator.

The image is built once per session from the unchanged Dockerfile (`scripts/build-image.sh`, on
the engine `scripts/docker-env.sh` provides). Each test starts `docker run` with the runner's
options (see container_support) and `--network=host`, so the container reaches the simulator on
127.0.0.1. Without an engine the tests fail when CI=true and skip elsewhere.

Measured figures (start-up latency, image size, build time) are printed (`-s`), recorded as
junit properties and listed in a "hex-action container figures" section at the end of the run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from container_support import (
    LABEL,
    SIGINT_TIMEOUT,
    ActionContainer,
    BuildInfo,
    ContainerResult,
    EngineUnavailable,
    build_image,
    docker,
    engine_env,
    load_seconds,
    median,
    remove_containers,
    wait_until,
)

from hex_action.simulator import HexSimulator, SimServer, serve

pytestmark = pytest.mark.container

#: A token that cannot occur by chance in any log line, so a leak is unmistakable.
TOKEN = f"hxtok-{uuid.uuid4().hex}"
_STATUS_READ = re.compile(r"^/api/v1/projects/[^/]+/runs/[^/]+/?$")
_MIB = 1024 * 1024


# ------------------------------------------------------------------------------------ fixtures


class _Figures:
    """Measured figures, shown in their own section of pytest's terminal summary."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)
        print(f"\n[container figures] {line}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.lines:
            terminalreporter.section("hex-action container figures")
            for line in self.lines:
                terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> _Figures:
    plugin = _Figures()
    name = f"hex-action-container-figures-{id(plugin)}"
    request.config.pluginmanager.register(plugin, name)
    return plugin


@pytest.fixture(scope="session")
def session_id() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def engine(session_id: str) -> Iterator[dict[str, str]]:
    """The docker CLI's environment (DOCKER_HOST set); fails on CI, skips locally, without one."""
    try:
        env = engine_env()
    except EngineUnavailable as exc:
        reason = f"no Docker engine could be used or started: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    yield env
    remove_containers(env, session_id)


@pytest.fixture(scope="session")
def image(
    engine: dict[str, str],
    figures: _Figures,
    record_testsuite_property: Callable[[str, object], None],
    tmp_path_factory: pytest.TempPathFactory,
) -> BuildInfo:
    """`hex-action:test`, built once from a cold cache; a failed build fails every test (a real defect).

    Also measures the set-up cost a job pays, both with the base image present: `docker build`
    from a cold cache (what `runs.image: Dockerfile` costs) against `docker load` of the built image
    (the local stand-in for pulling the prebuilt image of a release).
    """
    try:
        info = build_image(engine, cold=True)
        loaded = load_seconds(engine, info.tag, tmp_path_factory.mktemp("image-archive"))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    added = info.added_bytes / _MIB
    build = f"{info.build_seconds:.1f}" if info.build_seconds is not None else "?"
    figures.add(
        f"image {info.tag}: {info.image_bytes / _MIB:.1f} MiB, base {info.base_bytes / _MIB:.1f} MiB, "
        f"added by the Dockerfile {added:.1f} MiB"
    )
    figures.add(
        f"set-up cost, base present: docker build from a cold cache {build} s vs docker load of the "
        f"built image {loaded:.1f} s (build-image.sh incl. engine check {info.wall_seconds:.1f} s)"
    )
    record_testsuite_property("image_added_mib", f"{added:.1f}")
    record_testsuite_property("image_build_seconds", build)
    record_testsuite_property("image_load_seconds", f"{loaded:.1f}")
    return info


@pytest.fixture(autouse=True)
def _remove_leftovers(engine: dict[str, str], session_id: str) -> Iterator[None]:
    """Whatever happens in a test, none of its containers outlives it."""
    yield
    remove_containers(engine, session_id)


@pytest.fixture
def hex_sim() -> Iterator[SimServer]:
    with serve(HexSimulator(TOKEN)) as server:
        yield server


@pytest.fixture
def action(engine: dict[str, str], image: BuildInfo, session_id: str, tmp_path: Path) -> Callable[..., ActionContainer]:
    """Prepare one step's container: `action(sim, inputs, job_env=…)`; `.start()` runs it."""
    count = 0

    def prepare(sim: SimServer, inputs: Mapping[str, str], job_env: Mapping[str, str] | None = None) -> ActionContainer:
        nonlocal count
        count += 1
        all_inputs = {"api-token": TOKEN, "hex-url": sim.url, **inputs}
        return ActionContainer(
            engine,
            tmp_path / f"step{count}",
            image=image.tag,
            session=session_id,
            inputs=all_inputs,
            job_env=job_env,
        )

    return prepare


def new_project(sim: SimServer, **behaviour: Any) -> str:
    project_id = str(uuid.uuid4())
    sim.sim.configure_project(project_id, **behaviour)
    return project_id


def only_run(sim: SimServer) -> dict[str, Any]:
    runs = [r for r in sim.sim.runs() if not r["seeded"]]
    assert len(runs) == 1, runs
    return runs[0]


def run_to_end(container: ActionContainer, timeout: float = 90) -> ContainerResult:
    container.start()
    return container.wait(timeout)


# --------------------------------------------------------------------------------------- cases


def test_completed_run_reports_outputs_summary_and_masks_the_token(
    action: Callable[..., ActionContainer], hex_sim: SimServer
) -> None:
    project = new_project(hex_sim, pending_seconds=0.5, running_seconds=1.5, final_status="COMPLETED")
    container = action(hex_sim, {"project-id": project})
    result = run_to_end(container)

    assert result.returncode == 0, result.describe()
    run = only_run(hex_sim)
    assert run["status"] == "COMPLETED"
    out = result.outputs
    assert out["run-id"] == run["runId"], result.describe()
    assert out["run-url"].endswith(f"/app/{project}/runs/{run['runId']}")
    assert out["status"] == "COMPLETED"
    assert float(out["elapsed-seconds"]) > 0
    results = json.loads(out["results"])
    assert len(results) == 1
    assert results[0]["run-id"] == run["runId"]
    assert results[0]["status"] == "COMPLETED"
    # The summary links the run (its link text is the project's name, the run id its title).
    assert f"]({out['run-url']}" in result.summary, result.summary
    assert run["runId"] in result.summary, result.summary
    assert not result.annotations("error"), result.describe()

    # The token travels only through the CLI's environment, and is printed only to be masked.
    assert not any(TOKEN in arg for arg in result.argv)
    assert [line for line in result.log.splitlines() if TOKEN in line] == [f"::add-mask::{TOKEN}"]
    assert TOKEN not in result.output_text
    assert TOKEN not in result.summary


def test_errored_run_fails_the_step_with_an_error_annotation(
    action: Callable[..., ActionContainer], hex_sim: SimServer
) -> None:
    project = new_project(hex_sim, pending_seconds=0.2, running_seconds=1.0, final_status="ERRORED")
    result = run_to_end(action(hex_sim, {"project-id": project}))

    assert result.returncode == 1, result.describe()
    assert result.outputs["status"] == "ERRORED", result.describe()
    assert result.outputs["run-id"] == only_run(hex_sim)["runId"]
    errors = result.annotations("error")
    assert errors, result.describe()
    assert any("ERRORED" in e.data or "ERRORED" in e.properties.get("title", "") for e in errors), errors
    assert "ERRORED" in result.summary


def _plant_malicious_modules(container: ActionContainer) -> None:
    """Modules that raise on import wherever a leaked PYTHONPATH, the user site or the working
    directory could offer them (`/github/workspace/evil` is on the leaked PYTHONPATH)."""
    evil = "raise RuntimeError('EVIL module imported: the job env leaked into the action')\n"
    workspace, home = container.workspace, container.home
    targets = [
        workspace / "evil",  # on the leaked PYTHONPATH
        workspace,  # the working directory (a checked-out repository could hold these)
        *(home / ".local" / "lib" / f"python3.{minor}" / "site-packages" for minor in (11, 12, 13)),  # user site
    ]
    for directory in targets:
        (directory / "hex_action").mkdir(parents=True, exist_ok=True)
        (directory / "hex_action" / "__init__.py").write_text(evil)
        for module in ("requests", "yaml", "sitecustomize", "usercustomize", "json"):
            (directory / f"{module}.py").write_text(evil)


#: A job's env reaches the container whole (`-e NAME` for every variable, B5): a setup step's PATH
#: or PYTHONPATH included. The first case is the common one; the second adds the rest of Python's env.
_LEAKS = {
    "path-and-pythonpath": {"PATH": "utter-nonsense", "PYTHONPATH": "/github/workspace/evil:/nonexistent/evil"},
    "all-python-variables": {
        "PATH": "utter-nonsense",
        "PYTHONPATH": "/github/workspace/evil:/nonexistent/evil",
        "PYTHONHOME": "/nonexistent/evil",
        "PYTHONSTARTUP": "/github/workspace/evil/requests.py",
        "PYTHONWARNINGS": "error",
        "PYTHONSAFEPATH": "1",  # would drop /app, the script's directory, from sys.path
        "LD_LIBRARY_PATH": "/nonexistent/lib",
    },
}


@pytest.mark.parametrize("job_env", list(_LEAKS.values()), ids=list(_LEAKS))
def test_leaked_job_env_cannot_break_the_entrypoint(
    action: Callable[..., ActionContainer], hex_sim: SimServer, job_env: dict[str, str]
) -> None:
    project = new_project(hex_sim, pending_seconds=0.2, running_seconds=1.0, final_status="COMPLETED")
    container = action(hex_sim, {"project-id": project}, job_env=job_env)
    _plant_malicious_modules(container)
    result = run_to_end(container)

    assert result.returncode == 0, result.describe()
    assert "EVIL" not in result.log, result.describe()
    assert result.outputs["status"] == "COMPLETED", result.describe()


def _first_status_read(sim: SimServer) -> dict[str, Any] | None:
    for entry in sim.sim.requests_log():
        if entry["method"] == "GET" and _STATUS_READ.match(entry["path"]):
            return entry
    return None


@pytest.mark.parametrize("first_signal", [signal.SIGINT, signal.SIGTERM], ids=["runner-cancel", "sigterm-only"])
def test_cancel_sequence_cancels_the_run_and_removes_the_container(
    action: Callable[..., ActionContainer],
    hex_sim: SimServer,
    engine: dict[str, str],
    first_signal: signal.Signals,
) -> None:
    project = new_project(hex_sim, pending_seconds=0.5, running_seconds=300, final_status="COMPLETED")
    container = action(hex_sim, {"project-id": project, "poll-interval": "2s"})
    container.start()
    try:
        read = wait_until(lambda: _first_status_read(hex_sim) or not container.running(), timeout=45)
        assert read is not None, "no status read within 45 s"
        assert container.running(), container.result().describe()
        signalled_at = container.cancel_like_runner(first_signal)
    finally:
        if container.running():  # an assertion above failed: do not leave the CLI behind
            container.proc.kill()  # type: ignore[union-attr]
            container.proc.wait()  # type: ignore[union-attr]
    result = container.result()

    deletes = [e for e in hex_sim.sim.requests_log() if e["method"] == "DELETE"]
    assert deletes, f"no DELETE reached the simulator\n{result.describe()}"
    delay = deletes[0]["time"] - signalled_at
    assert delay <= 2.0, f"DELETE {delay:.2f}s after {first_signal.name}\n{result.describe()}"
    assert only_run(hex_sim)["status"] == "KILLED"
    # The CLI exited by itself within the first grace period: no SIGKILL, no orphaned container.
    assert result.stage == first_signal.name, result.describe()
    assert result.returncode != 0, result.describe()
    assert wait_until(lambda: not container.exists(engine), timeout=3), f"container {container.name} still exists"
    assert result.outputs["status"] == "CANCELLED", result.describe()
    assert result.outputs["run-id"] == only_run(hex_sim)["runId"]
    assert "CANCELLED" in result.summary, result.describe()
    print(
        f"\n[cancel {first_signal.name}] DELETE after {delay:.2f}s, CLI exit {result.returncode} "
        f"after {result.seconds:.1f}s total (grace {SIGINT_TIMEOUT}s)"
    )


def test_startup_latency_and_image_size_are_measured(
    action: Callable[..., ActionContainer],
    hex_sim: SimServer,
    engine: dict[str, str],
    image: BuildInfo,
    session_id: str,
    figures: _Figures,
    record_property: Callable[[str, object], None],
) -> None:
    project = new_project(hex_sim, pending_seconds=0.2, running_seconds=0.5, final_status="COMPLETED")
    to_trigger: list[float] = []
    totals: list[float] = []
    bare: list[float] = []
    for _ in range(3):
        # The engine's own share: the same image with a no-op entrypoint, no Python at all.
        started = time.monotonic()
        docker(
            engine,
            *("run", "--rm", "--label", f"{LABEL}={session_id}", "--network=host", "--entrypoint", "/bin/true"),
            image.tag,
        )
        bare.append(time.monotonic() - started)
        seen = len(hex_sim.sim.requests_log())  # the log only grows
        result = run_to_end(action(hex_sim, {"project-id": project, "wait": "false"}))
        assert result.returncode == 0, result.describe()
        posts = [e for e in hex_sim.sim.requests_log()[seen:] if e["method"] == "POST"]
        assert len(posts) == 1, result.describe()
        to_trigger.append(posts[0]["time"] - result.started_wall)
        totals.append(result.seconds)

    latency = median(to_trigger)
    shown = ", ".join(f"{t:.2f}" for t in to_trigger)
    figures.add(f"docker run -> trigger POST: median {latency:.2f} s of 3 ({shown} s)")
    figures.add(f"docker run with wait=false, whole step: median {median(totals):.2f} s")
    figures.add(f"docker run of a no-op container (engine overhead alone): median {median(bare):.2f} s")
    record_property("run_to_trigger_seconds_median", f"{latency:.3f}")
    record_property("noop_container_seconds_median", f"{median(bare):.3f}")
    record_property("image_added_mib", f"{image.added_bytes / _MIB:.1f}")
    assert latency > 0
