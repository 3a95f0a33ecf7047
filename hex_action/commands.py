"""The one-shot commands: `status` (one read), `cancel` and `runs`. `run`, and `status --wait`, are `run.execute`.

Each returns an `Outcome` (or, for `runs`, an exit code) after the presenter has shown it.
Exit codes, per command:

* status: 0 the run completed or is still in progress; 1 it ended otherwise, or its status
  could not be read; 2 invalid input.
* cancel: 0 the run was cancelled, or had already ended (its status says how); 1 the cancel
  failed; 2 invalid input.
* runs: 0 listed; 1 Hex's API failed; 2 invalid input.
"""

from __future__ import annotations

import dataclasses

from hex_action.cancelling import CANCEL_WITHIN, RunToCancel, ended_instead, last_look
from hex_action.client import HexClient, RunState
from hex_action.clock import Clock
from hex_action.errors import EXIT_FAILURE, EXIT_OK, HexApiError, Interrupted
from hex_action.outcome import StepResult
from hex_action.present import Outcome, Presenter
from hex_action.run import client_for
from hex_action.settings import Settings
from hex_action.signals import CancelSignal
from hex_action.status import Status, is_terminal

#: How long one read (with its retries) may take before `status` gives up.
READ_WITHIN = 60.0


def read_status(settings: Settings, presenter: Presenter, cancel: CancelSignal, clock: Clock) -> Outcome:
    """One status read of the run named by `settings` (`run-id`)."""
    client = client_for(settings, clock, cancel, presenter)
    result = _attached(settings)
    presenter.begin(settings, [result], command="status")
    started = clock.now()
    ok = False
    try:
        with cancel.interruptible():
            state = client.get_run(result.project_id, result.run_id or "", deadline=clock.now() + READ_WITHIN)
    except Interrupted:
        _unread(result, f"The read was interrupted ({cancel.signal_name or 'a signal'}).")
    except HexApiError as exc:
        _unread(result, f"Could not read the run's status: {exc}")
    else:
        _apply(result, state)
        # Completed, or still going (a status this action does not know counts as going, as when waiting).
        ok = state.status == Status.COMPLETED or not is_terminal(state.status)
    code = EXIT_OK if ok or not settings.fail_on_error else EXIT_FAILURE
    return _show(presenter, "status", result, clock.now() - started, code, client)


def cancel_run(settings: Settings, presenter: Presenter, cancel: CancelSignal, clock: Clock) -> Outcome:
    """Cancel the run named by `settings` (`run-id`); a run that had already ended is reported as it ended."""
    client = client_for(settings, clock, cancel, presenter)
    result = _attached(settings)
    presenter.begin(settings, [result], command="cancel")
    started = clock.now()
    run = RunToCancel(result.project_id, result.run_id or "", None)
    code = EXIT_OK
    try:
        client.cancel_run(run.project_id, run.run_id, within=2 * CANCEL_WITHIN)
    except HexApiError as exc:
        state = ended_instead(client, clock, run, exc)
        if state is not None:  # how it ended is the answer
            _apply(result, state)
            result.message = f"Nothing to cancel: the run had already ended {state.status}."
        else:
            _unread(result, f"Cancelling the run failed: {exc}")
            code = EXIT_FAILURE
    else:
        state = last_look(client, clock, run)
        if state is not None:
            _apply(result, state)
        result.status, result.message, result.finished = Status.CANCELLED, None, True
    return _show(presenter, "cancel", result, clock.now() - started, code, client)


def list_runs(settings: Settings, presenter: Presenter, cancel: CancelSignal, clock: Clock, limit: int) -> int:
    """The project's recent API-triggered runs, any status, newest first."""
    client = client_for(settings, clock, cancel, presenter)
    project_id = settings.steps[0].project_id
    presenter.begin(settings, [], command="runs")
    try:
        with cancel.interruptible():
            runs = client.list_runs(project_id, status=None, limit=limit, deadline=clock.now() + READ_WITHIN)
    except Interrupted:
        presenter.runs_listed(project_id, [], error=f"Interrupted ({cancel.signal_name or 'a signal'}).")
        return EXIT_FAILURE
    except HexApiError as exc:
        presenter.runs_listed(project_id, [], error=f"Could not list the project's runs: {exc}")
        return EXIT_FAILURE
    presenter.runs_listed(project_id, runs)
    return EXIT_OK


def _attached(settings: Settings) -> StepResult:
    spec = settings.steps[0]
    return StepResult(name=spec.name, project_id=spec.project_id, run_id=spec.existing_run_id)


def _apply(result: StepResult, state: RunState) -> None:
    result.status = state.status
    result.run_url = state.run_url or result.run_url
    result.trace_id = state.trace_id or result.trace_id
    result.project_version = state.project_version or result.project_version
    if state.elapsed_ms is not None:
        result.elapsed_seconds = state.elapsed_ms / 1000
    result.finished = is_terminal(state.status)
    if result.finished and state.status != Status.COMPLETED:
        result.message = f"The Hex run ended {state.status}." + (f" See {result.run_url}" if result.run_url else "")


def _unread(result: StepResult, message: str) -> None:
    result.status, result.message, result.finished = Status.UNKNOWN, message, True


def _show(
    presenter: Presenter, command: str, result: StepResult, waited: float, code: int, client: HexClient
) -> Outcome:
    outcome = Outcome(
        command=command,
        results=[result],
        status=result.status,
        waited=waited,
        exit_code=code,
        trace_id=client.last_trace_id or result.trace_id,
    )
    return dataclasses.replace(outcome, exit_code=presenter.finish(outcome))
