"""The command line's own presentations: plain lines on stderr for a person, and JSON for scripts.

Outside GitHub nothing reads workflow commands, so none is written, and no `::add-mask::`
either: the token is never shown, in any form. Every line is redacted of every token in
sight (flag, HEX_API_TOKEN, INPUT_API-TOKEN) and stripped of control characters, since
Hex's text could otherwise move the cursor or recolour a terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from hex_action.errors import EXIT_FAILURE, InputError
from hex_action.inputs import format_duration
from hex_action.outcome import StepResult, seconds_value
from hex_action.present import words
from hex_action.present.model import Outcome
from hex_action.secrets import redact
from hex_action.settings import Settings
from hex_action.status import HEX_TERMINAL, Status

if TYPE_CHECKING:  # annotations only: the client imports requests, which `--help` and input errors need not
    from hex_action.client import RetryWait, RunState

#: The action's outputs, in action.yml's order: the keys of the JSON document.
OUTPUT_NAMES = ("run-id", "run-url", "status", "elapsed-seconds", "trace-id", "project-version", "results")


class TextPresenter:
    """Plain lines on stderr: one per event worth a person's attention, each said once."""

    def __init__(self, secrets: Sequence[str], *, debug: bool = False, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._secrets = tuple(secrets)
        self.debug_enabled = debug
        self.pipeline = False
        self._specs: dict[str, Any] = {}
        self._heartbeats = words.Heartbeats()

    # -- the engine's events ----------------------------------------------------------------

    def begin(self, settings: Settings, steps: Sequence[StepResult], command: str = "run") -> None:
        """Say what is about to happen, and where."""
        self.pipeline = settings.pipeline
        self._specs = {s.name: s for s in settings.steps}
        self.say(words.begin_line(settings, command))

    def run_started(self, result: StepResult) -> None:
        """The run's id and link, first thing."""
        self.say(words.started_line(result, self._specs.get(result.name), self.pipeline))

    def status_changed(self, result: StepResult, previous: str, waited: float) -> None:
        """One line per status change (not per read)."""
        label = f"[{result.name}] " if self.pipeline else ""
        self.say(f"{label}Status {result.status or '(none)'} after waiting {format_duration(waited)}")
        self._heartbeats.note(result.name, waited)

    def waiting(self, result: StepResult, waited: float, next_read_in: float) -> None:
        """A heartbeat now and then on a long wait."""
        if self._heartbeats.due(result.name, waited):
            self.say(words.heartbeat_line(result, waited, next_read_in, self.pipeline))

    def step_finished(self, result: StepResult) -> None:
        """A pipeline step's outcome (a single run's is the verdict)."""
        if not self.pipeline:
            return
        # Hex's final statuses were said when read; the action's own (SKIPPED, TIMED_OUT...) are said here.
        shown = [] if result.status in HEX_TERMINAL else [result.status]
        said = ": ".join(shown + ([result.message] if result.message else []))
        if said:
            self.say(f"[{result.name}] {said}")

    def warning(self, text: str) -> None:
        """Something to know that does not end the run."""
        self.say(f"warning: {text}")

    def debug(self, text: str) -> None:
        """Every status read, with --verbose (or RUNNER_DEBUG=1)."""
        if self.debug_enabled:
            self.say(f"debug: {text}")

    def retrying(self, wait: RetryWait) -> None:
        """A retry is waiting: say so, or a long wait looks like a hang."""
        self.say(words.retry_line(wait))

    # -- endings ----------------------------------------------------------------------------

    def finish(self, outcome: Outcome) -> int:
        """The verdict, and what went wrong, each said once."""
        if outcome.problem:
            self.say(f"error: {outcome.problem}")
        line = words.verdict(outcome)
        failed = words.failures(outcome)
        only = outcome.results[0] if outcome.results and not outcome.pipeline else None
        if only is not None and only.run_url and outcome.status != Status.DRY_RUN and not failed:
            line += f": {only.run_url}"
        self.say(line)
        if not outcome.pipeline:  # a pipeline's steps said theirs as they finished
            level = "error" if outcome.exit_code else "note"
            for result in failed:
                self.say(f"{level}: {result.message}")
        return outcome.exit_code

    def runs_listed(self, project_id: str, runs: Sequence[RunState], error: str | None = None) -> None:
        """One line per run, newest first."""
        if error:
            self.say(f"error: {error}")
        elif not runs:
            self.say(f"No API-triggered runs of project {project_id} found.")
        for run in runs:
            took = words.run_took(run)
            self.say(f"{run.run_id}  {run.status or '?':<25}  {took:>8}  {run.start_time or '-'}  {run.run_url or ''}")

    def input_error(self, error: InputError) -> None:
        """Every problem, each naming its input and the fix."""
        for problem in error.problems:
            self.say(f"error: {problem}")

    def internal_error(self, message: str) -> None:
        """A bug before anything was sent."""
        self.say(f"error: {message}")

    # -- writing ----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """One line on stderr, redacted and safe for a terminal."""
        self._write(self._stream or sys.stderr, clean(self.redact(text)) + "\n")

    def redact(self, text: str) -> str:
        """`text` with every token replaced by `***`."""
        return redact(text, self._secrets)

    @staticmethod
    def _write(stream: TextIO | None, text: str) -> bool:
        if stream is None:  # started without that file descriptor
            return False
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            return False  # a closed pipe (`| head`) must not turn into a crash mid-cleanup
        return True


class JsonPresenter(TextPresenter):
    """The text presentation on stderr, and one JSON document on stdout at the end, nothing else there."""

    def __init__(
        self, secrets: Sequence[str], *, debug: bool = False, stream: TextIO | None = None, out: TextIO | None = None
    ) -> None:
        super().__init__(secrets, debug=debug, stream=stream)
        self._out = out

    def finish(self, outcome: Outcome) -> int:
        """The verdict on stderr; the outputs on stdout (a failure when they cannot be written)."""
        code = super().finish(outcome)
        if not self.document(outputs_document(outcome.outputs())):
            self.say("error: could not write the JSON document to stdout")
            return code or EXIT_FAILURE
        return code

    def runs_listed(self, project_id: str, runs: Sequence[RunState], error: str | None = None) -> None:
        """The runs on stderr, and as `{"project-id": …, "runs": […]}` on stdout."""
        super().runs_listed(project_id, runs, error)
        self.document({"project-id": project_id, "runs": [run_document(run) for run in runs]})

    def input_error(self, error: InputError) -> None:
        """The problems on stderr; `status: INVALID_INPUT` on stdout."""
        super().input_error(error)
        self.document(outputs_document({"status": Status.INVALID_INPUT, "results": "[]"}))

    def internal_error(self, message: str) -> None:
        """The error on stderr; `status: NOT_STARTED` on stdout."""
        super().internal_error(message)
        self.document(outputs_document({"status": Status.NOT_STARTED, "results": "[]"}))

    def document(self, data: Mapping[str, Any]) -> bool:
        """Print the one JSON document (redacted, like everything else); whether it was written."""
        return self._write(self._out or sys.stdout, self.redact(json.dumps(data, indent=2)) + "\n")


def outputs_document(outputs: Mapping[str, str | None]) -> dict[str, Any]:
    """The action's outputs as JSON: every key present (null when unknown), numbers as numbers, arrays as arrays."""
    document: dict[str, Any] = {name: outputs.get(name) for name in OUTPUT_NAMES}
    document["results"] = json.loads(outputs.get("results") or "[]")
    seconds = document["elapsed-seconds"]
    document["elapsed-seconds"] = None if seconds is None else seconds_value(float(seconds))
    version = document["project-version"]
    if isinstance(version, str) and version.isdigit():
        document["project-version"] = int(version)
    return document


def run_document(run: RunState) -> dict[str, Any]:
    """One run of the `runs` listing, keyed like the `results` output."""
    return {
        "run-id": run.run_id,
        "run-url": run.run_url,
        "status": run.status or None,
        "elapsed-seconds": None if run.elapsed_ms is None else seconds_value(run.elapsed_ms / 1000),
        "start-time": run.start_time,
        "end-time": run.end_time,
    }


def clean(text: str) -> str:
    """One line a terminal shows as it is: line breaks become spaces, other control characters `?`."""
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return "".join(c if c.isprintable() else "?" for c in text)
