"""What the user sees as things happen: log lines and outputs; the overall status and `results`."""

from __future__ import annotations

from collections.abc import Sequence

from hex_action.github import GitHub
from hex_action.inputs import format_duration
from hex_action.outcome import StepResult, results_json
from hex_action.present.words import started_line
from hex_action.status import HEX_TERMINAL, Status
from hex_action.steps import StepSpec
from hex_action.summary import summary_markdown

__all__ = ["Reporter", "overall_status", "results_json", "summary_markdown"]  # the summary lives in summary.py


class Reporter:
    """The engine's observer: logs status changes once each and writes outputs as soon as known."""

    def __init__(self, github: GitHub, *, pipeline: bool) -> None:
        self.github = github
        self.pipeline = pipeline
        self.trace_id: str | None = None
        #: Every step's result, in written order (set once the engine exists).
        self.steps: list[StepResult] = []
        #: The steps' specs by name, so a followed run or a dry run is not called "started".
        self.specs: dict[str, StepSpec] = {}

    def run_started(self, result: StepResult) -> None:
        """Log the run link first thing, and write run-id and run-url before waiting."""
        self.github.line(started_line(result, self.specs.get(result.name), self.pipeline))
        self._note_trace(result)
        if not self.pipeline:
            self.github.set_outputs(
                {"run-id": result.run_id, "run-url": result.run_url, "project-version": result.project_version}
            )
            self._write_trace()

    def status_changed(self, result: StepResult, previous: str, waited: float) -> None:
        """One line per status change (not per read)."""
        label = f"[{result.name}] " if self.pipeline else ""
        shown = result.status or "(none)"
        self.github.line(f"{label}Status {shown} after {format_duration(waited)}")

    def step_finished(self, result: StepResult) -> None:
        """Log a pipeline step's outcome, and rewrite `results` so it is complete on every exit path."""
        self._note_trace(result)
        if self.pipeline:
            if result.status not in HEX_TERMINAL:  # a Hex status was logged when it was read
                self.github.line(f"[{result.name}] {result.status}")
            if result.message:
                self.github.untrusted(f"[{result.name}] {result.message}")
            self.github.set_output("results", results_json(self.steps))

    def warning(self, text: str) -> None:
        """A warning annotation."""
        self.github.annotate("warning", text, title="hex-action")

    def debug(self, text: str) -> None:
        """A line shown only in a debug re-run (step debug logging on)."""
        self.github.debug(text)

    def _note_trace(self, result: StepResult) -> None:
        if result.trace_id:
            self.trace_id = result.trace_id

    def _write_trace(self) -> None:
        if self.trace_id:
            self.github.set_output("trace-id", self.trace_id)


def overall_status(results: Sequence[StepResult]) -> str:
    """COMPLETED (or DRY_RUN) when every step succeeded, else the first failure's status.

    Steps CANCELLED or SKIPPED because another step failed (fail-fast, needs) are its
    consequences: a step written before the one that failed, and cancelled by fail-fast,
    must not hide the failure's own status. They count only when nothing else failed, and
    then CANCELLED before SKIPPED: a cancel skips the steps not started yet.
    """
    failures = [r for r in results if not r.succeeded]
    if failures:
        causes = [r for r in failures if r.status not in (Status.CANCELLED, Status.SKIPPED)]
        cancelled = [r for r in failures if r.status == Status.CANCELLED]
        return (causes or cancelled or failures)[0].status or Status.CANCELLED
    if results and all(r.status == Status.DRY_RUN for r in results):
        return Status.DRY_RUN
    return results[0].status if len(results) == 1 else Status.COMPLETED
