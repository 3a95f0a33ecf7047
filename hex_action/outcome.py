"""What happens to each step, as the engine reports it: `StepResult` and the `Observer` protocol."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hex_action.status import SUCCESS


@dataclass
class StepResult:
    """What happened to one step, filled in as it happens."""

    name: str
    project_id: str
    run_id: str | None = None
    run_url: str | None = None
    status: str = ""
    elapsed_seconds: float | None = None
    trace_id: str | None = None
    project_version: str | None = None
    #: What went wrong, in words for the user (Hex's own words included); None on success.
    message: str | None = None
    #: Wall-clock time of the trigger, and its rank among the steps started.
    started_at: float | None = None
    start_order: int | None = None
    finished: bool = False
    #: The project's title in Hex (GetProject); None when it could not be read.
    project_name: str | None = None
    #: The steps this one waited for (in a sequence, the one before it).
    needs: tuple[str, ...] = ()
    #: When the run entered each status, as (status, epoch seconds), oldest first: Hex's own
    #: `stateEvents` when its status reads give them (`phases_from_hex`), else when the action saw each.
    phases: list[tuple[str, float]] = field(default_factory=list)
    phases_from_hex: bool = False
    #: Wall-clock time the step's outcome was known.
    ended_at: float | None = None

    @property
    def label(self) -> str:
        """The project's name for people: its title, else its id."""
        return self.project_name or self.project_id

    @property
    def succeeded(self) -> bool:
        """Whether this step's outcome counts as success."""
        return self.status in SUCCESS

    def as_output(self) -> dict[str, Any]:
        """The step's entry in the `results` output."""
        return {
            "name": self.name,
            "project-id": self.project_id,
            "project-name": self.project_name,
            "run-id": self.run_id,
            "run-url": self.run_url,
            "status": self.status or None,
            "elapsed-seconds": None if self.elapsed_seconds is None else seconds_value(self.elapsed_seconds),
        }


def seconds_value(seconds: float) -> int | float:
    """Seconds to the millisecond, whole ones as integers: `6`, `4.25` (one form in every output)."""
    value = round(seconds, 3)
    return int(value) if value.is_integer() else value


def results_json(results: Sequence[StepResult]) -> str:
    """The `results` output: one object per step, in written order."""
    return json.dumps([r.as_output() for r in results], separators=(",", ":"))


class Observer(Protocol):
    """Receives the engine's events as they happen (the report layer implements it)."""

    def run_started(self, result: StepResult) -> None:
        """A run was started (or attached); run id and URL are known."""

    def status_changed(self, result: StepResult, previous: str, waited: float) -> None:
        """A status read returned a status other than the previous one."""

    def waiting(self, result: StepResult, waited: float, next_read_in: float) -> None:
        """A status read found the run still going; the next read is `next_read_in` seconds away."""

    def step_finished(self, result: StepResult) -> None:
        """A step reached its final outcome."""

    def warning(self, text: str) -> None:
        """Something the user should know that does not end the step."""

    def debug(self, text: str) -> None:
        """Detail for a debug re-run (every status read, for instance)."""
