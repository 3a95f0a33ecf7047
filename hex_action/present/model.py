"""A command's outcome as every presenter receives it, and the action's outputs made of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hex_action.outcome import StepResult, results_json, seconds_value


@dataclass(frozen=True)
class Outcome:
    """What a command (`run`, `status`, `cancel`) ended with."""

    command: str
    results: Sequence[StepResult]
    status: str
    #: Seconds the command spent, from its first request to its end (time waited, not Hex's run time).
    waited: float
    exit_code: int
    pipeline: bool = False
    #: An error of the action itself (not of a run), in words for the user.
    problem: str | None = None
    trace_id: str | None = None
    #: `wait: false`: every run was started and left running, as asked.
    started_only: bool = False
    #: Whether the job summary is wanted (the `summary` input).
    summary: bool = True

    def outputs(self) -> dict[str, str | None]:
        """The action's outputs, as the strings `GITHUB_OUTPUT` takes (None: not known, not written)."""
        outputs: dict[str, str | None] = {"status": self.status}
        if self.pipeline:
            outputs["elapsed-seconds"] = seconds_text(self.waited)
        else:
            only = self.results[0]
            outputs.update(
                {
                    "run-id": only.run_id,
                    "run-url": only.run_url,
                    "project-version": only.project_version,
                    "elapsed-seconds": None if only.elapsed_seconds is None else seconds_text(only.elapsed_seconds),
                }
            )
        outputs["trace-id"] = self.trace_id
        outputs["results"] = results_json(self.results)
        return outputs


def seconds_text(value: float | None) -> str:
    """Seconds as an output value: `4.25`, `6`."""
    return str(seconds_value(value or 0.0))
