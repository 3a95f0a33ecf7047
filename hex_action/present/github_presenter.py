"""The GitHub presentation: the action's contract with the runner, unchanged.

`::add-mask::` first, log lines (Hex's text inside stop-commands blocks), annotations,
step outputs in `GITHUB_OUTPUT` as soon as they are known, and the job summary. The
writing itself is `hex_action.github`'s; this module decides what is written when.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from hex_action.errors import EXIT_FAILURE, InputError
from hex_action.github import GitHub
from hex_action.outcome import StepResult
from hex_action.present import words
from hex_action.present.model import Outcome
from hex_action.present.text import run_document
from hex_action.report import Reporter
from hex_action.settings import Settings
from hex_action.status import SUCCESS, Status
from hex_action.summary import summary_markdown

if TYPE_CHECKING:  # annotations only: the client imports requests, which `--help` and input errors need not
    from hex_action.client import RetryWait, RunState


class GitHubPresenter(Reporter):
    """The runner's language. Registers the token as a secret first thing."""

    def __init__(self, environ: Mapping[str, str], token: str) -> None:
        super().__init__(GitHub(environ), pipeline=False)
        self.github.add_secret(token)  # the first line printed
        self._heartbeats = words.Heartbeats()

    def begin(self, settings: Settings, steps: Sequence[StepResult], command: str = "run") -> None:
        """Say what is about to happen, and where."""
        self.steps = list(steps)
        self.pipeline = settings.pipeline
        self.specs = {s.name: s for s in settings.steps}
        self.github.line(words.begin_line(settings, command))

    def status_changed(self, result: StepResult, previous: str, waited: float) -> None:
        """One line per status change (not per read)."""
        super().status_changed(result, previous, waited)
        self._heartbeats.note(result.name, waited)

    def waiting(self, result: StepResult, waited: float, next_read_in: float) -> None:
        """A heartbeat now and then on a long wait."""
        if self._heartbeats.due(result.name, waited):
            self.github.line(words.heartbeat_line(result, waited, next_read_in, self.pipeline))

    def retrying(self, wait: RetryWait) -> None:
        """A retry is waiting: say so, or the step looks hung."""
        self.github.line(words.retry_line(wait))

    def finish(self, outcome: Outcome) -> int:
        """Outputs, the job summary, then the verdict: a line on success, annotations on failure."""
        self._show(outcome)
        if self.github.report_write_failures():  # the outputs or the summary were lost: the step cannot pass
            return outcome.exit_code or EXIT_FAILURE
        return outcome.exit_code

    def _show(self, outcome: Outcome) -> None:
        self.github.set_outputs(outcome.outputs())
        if outcome.summary:
            self.github.summary(
                summary_markdown(
                    outcome.results,
                    status=outcome.status,
                    total_seconds=outcome.waited,
                    problem=outcome.problem,
                    pipeline=outcome.pipeline,
                    started_only=outcome.started_only,
                )
            )
        if outcome.problem:
            self.github.annotate("error", outcome.problem, title="hex-action failed")
            return
        failed = words.failures(outcome)
        if outcome.status in SUCCESS or outcome.started_only or not failed:
            self.github.line(words.verdict(outcome))
            return
        level = "error" if outcome.exit_code else "warning"
        for result in failed[:10] if outcome.pipeline else failed[:1]:
            if outcome.pipeline:
                label = f"step '{result.name}'" + (f" ({result.project_name})" if result.project_name else "") + " "
            else:
                label = f"run of {result.project_name} " if result.project_name else ""
            self.github.annotate(level, result.message or result.status, title=f"Hex {label}{result.status}")

    def runs_listed(self, project_id: str, runs: Sequence[RunState], error: str | None = None) -> None:
        """One log line per run, and the runs as the `results` output."""
        if error:
            self.github.annotate("error", error, title="hex-action runs")
        for run in runs:
            self.github.line(
                f"{run.run_id} {run.status or '?'} {words.run_took(run)} {run.start_time or '-'} {run.run_url or ''}"
            )
        self.github.set_output("results", json.dumps([run_document(r) for r in runs], separators=(",", ":")))

    def input_error(self, error: InputError) -> None:
        """One annotation per problem, the summary, and outputs, so an `if: always()` step can tell."""
        for problem in error.problems:
            self.github.annotate("error", str(problem), title=f"Invalid input '{problem.input_name}'")
        self.github.summary(
            "### ❌ Hex run not started: invalid input\n\n"
            + "\n".join(f"- `{p.input_name}`: {p.problem} **Fix:** {p.fix}" for p in error.problems)
            + "\n\n"
        )
        self.github.set_outputs({"status": Status.INVALID_INPUT, "results": "[]"})
        self.github.report_write_failures()

    def internal_error(self, message: str) -> None:
        """A bug while reading the inputs: said, summarised, and the outputs written."""
        self.github.annotate("error", message, title="hex-action failed")
        self.github.summary(f"### ❌ Hex run not started: internal error\n\n{message}\n\n")
        self.github.set_outputs({"status": Status.NOT_STARTED, "results": "[]"})
        self.github.report_write_failures()
