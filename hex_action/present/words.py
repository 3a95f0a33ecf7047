"""The sentences every presentation shares: what happened, said the same way on GitHub and on a terminal.

Each duration says which one it is: a run's *run time* is Hex's elapsed time (measured by the
action only when Hex gives none), and *waited* is the time this command spent.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hex_action.inputs import format_duration
from hex_action.outcome import StepResult
from hex_action.present.model import Outcome
from hex_action.settings import Settings
from hex_action.status import SUCCESS, Status
from hex_action.steps import StepSpec

if TYPE_CHECKING:  # annotations only: the client imports requests, which `--help` and input errors need not
    from hex_action.client import RetryWait, RunState

#: The shortest silence before a heartbeat line; later ones wait a quarter of the time waited,
#: so an hour-long wait adds about twenty lines to a log, and the latest line is never older
#: than a quarter of the wait (a person glancing at it sees the run is still being watched).
HEARTBEAT_MIN = 30.0
HEARTBEAT_SHARE = 0.25


def begin_line(settings: Settings, command: str) -> str:
    """What the command is about to do, and on which host."""
    host = urlsplit(settings.api_base_url).netloc
    first = settings.steps[0]
    if command == "status":
        return f"Reading the status of run {first.existing_run_id} of project {first.project_id} on {host}"
    if command == "cancel":
        return f"Cancelling run {first.existing_run_id} of project {first.project_id} on {host}"
    if command == "runs":
        return f"Listing the recent API-triggered runs of project {first.project_id} on {host}"
    if settings.pipeline:
        return f"Running a pipeline of {len(settings.steps)} Hex projects on {host}"
    if first.existing_run_id:
        return f"Waiting for run {first.existing_run_id} of project {first.project_id} on {host}"
    return f"Running Hex project {first.project_id} on {host}"


def started_line(result: StepResult, spec: StepSpec | None, pipeline: bool) -> str:
    """The line for a run started, a run followed, or a dry run accepted."""
    who = f"step '{result.name}' " if pipeline else ""
    name = f" of {result.project_name}" if result.project_name else ""
    version = f", project version {result.project_version}" if result.project_version else ""
    project = result.project_name or f"project {result.project_id}"
    if spec is not None and spec.existing_run_id:
        link = f": {result.run_url}" if result.run_url else ""
        return f"Following {who}run {result.run_id} of {project}, started before{link}"
    if spec is not None and spec.dry_run:  # never in a pipeline, which refuses dry-run
        return f"Hex accepted the dry run of {project}{version}"
    return f"Started {who}run {result.run_id}{name}{version}: {result.run_url or '(link follows)'}"


def heartbeat_line(result: StepResult, waited: float, next_read_in: float, pipeline: bool) -> str:
    """A sign of life on a long wait: the status, the time waited and when the next read comes."""
    label = f"[{result.name}] " if pipeline else ""
    return (
        f"{label}Still {result.status or 'waiting'} after waiting {format_duration(waited)}; "
        f"next status read in {format_duration(next_read_in)}"
    )


def retry_line(wait: RetryWait) -> str:
    """One line when a retry starts waiting: what Hex said, how long, until when."""
    until = time.strftime("%H:%M:%S UTC", time.gmtime(wait.until))
    reason = wait.reason.rstrip(". ")
    return f"{reason}. Trying again in {format_duration(wait.seconds)} (at {until})."


def durations(result: StepResult, waited: float | None) -> str:
    """`run time 4s, waited 6s`: Hex's time for the run, then this command's."""
    parts = []
    # No run, or none Hex knows of: no run time to speak of.
    if result.elapsed_seconds is not None and result.status not in (Status.UNKNOWN, Status.NOT_STARTED):
        parts.append(f"run time {format_duration(result.elapsed_seconds)}")
    if waited is not None:
        parts.append(f"waited {format_duration(waited)}")
    return ", ".join(parts)


def verdict(outcome: Outcome) -> str:
    """The one line that says how the command ended."""
    if outcome.pipeline:
        done = sum(r.status == Status.COMPLETED for r in outcome.results)
        return (
            f"Hex pipeline {outcome.status}: {done} of {len(outcome.results)} steps completed, "
            f"waited {format_duration(outcome.waited)}"
        )
    only = outcome.results[0]
    of_name = f" of {only.project_name}" if only.project_name else ""
    run = (f"run {only.run_id}" if only.run_id else "run") + of_name
    if outcome.command == "status" and not only.finished:
        return f"Hex {run} is {only.status or 'in an unknown state'} ({durations(only, None) or 'no run time yet'})"
    if outcome.started_only:
        return (
            f"Hex {run} was started and left running (wait is false); its status was {only.status or 'unknown'} "
            f"when last read"
        )
    if outcome.status == Status.DRY_RUN:
        return f"Hex run{of_name} DRY_RUN: the request is valid; nothing was run"  # its id names no run
    if outcome.command == "cancel" and outcome.status == Status.CANCELLED:
        return f"Hex {run} was cancelled"
    times = durations(only, outcome.waited if outcome.command != "cancel" else None)
    return f"Hex {run} {outcome.status}" + (f" ({times})" if times else "")


def failures(outcome: Outcome) -> list[StepResult]:
    """The steps whose messages say what went wrong."""
    return [r for r in outcome.results if r.status not in SUCCESS and r.message]


class Heartbeats:
    """When a long wait deserves a line: after a silence of a quarter of the time waited, a minute at least."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def note(self, name: str, waited: float) -> None:
        """A line about step `name` was shown after `waited` seconds."""
        self._last[name] = waited

    def due(self, name: str, waited: float) -> bool:
        """Whether a heartbeat for step `name` is due after `waited` seconds (and note it if so)."""
        silence = waited - self._last.get(name, 0.0)
        if silence < max(HEARTBEAT_MIN, HEARTBEAT_SHARE * waited):
            return False
        self._last[name] = waited
        return True


def run_took(run: RunState) -> str:
    """How long a listed run ran, or "-" when Hex does not say."""
    return format_duration(run.elapsed_ms / 1000) if run.elapsed_ms is not None else "-"
