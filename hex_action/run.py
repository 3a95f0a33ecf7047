"""One execution of the action: the engine's results turned into an outcome, shown by the presenter.

The outcome (outputs, summary, verdict) is shown on every exit path, an unexpected error included.
"""

from __future__ import annotations

import dataclasses

from hex_action.client import HexClient
from hex_action.clock import Clock
from hex_action.engine import Engine, StepResult
from hex_action.errors import EXIT_FAILURE, EXIT_OK
from hex_action.present import Outcome, Presenter
from hex_action.report import overall_status
from hex_action.settings import Settings
from hex_action.signals import CancelSignal
from hex_action.status import SUCCESS, Status


def client_for(settings: Settings, clock: Clock, cancel: CancelSignal, presenter: Presenter) -> HexClient:
    """The Hex client, woken by a cancel, telling the presenter when a retry waits."""
    client = HexClient(settings.api_base_url, settings.api_token, clock, wake=cancel.event)
    client.on_retry = presenter.retrying
    return client


def execute(
    settings: Settings, presenter: Presenter, cancel: CancelSignal, clock: Clock, *, command: str = "run"
) -> Outcome:
    """Run every step, show the outcome, and return it (its `exit_code` is the process's)."""
    client = client_for(settings, clock, cancel, presenter)
    engine = Engine(settings, client, clock, cancel, presenter)
    presenter.begin(settings, list(engine.results.values()))

    started = clock.now()
    problem: str | None = None
    try:
        results = engine.run()
    except Exception as exc:  # the engine has cancelled its runs; report, then fail
        problem = f"Unexpected error in hex-action: {type(exc).__name__}: {exc}"
        results = list(engine.results.values())
        for result in results:
            if not result.finished:  # the rescue could not finish it either: say what is known
                result.status = Status.UNKNOWN if result.run_id else Status.NOT_STARTED
    total = clock.now() - started
    status = overall_status(results)  # what happened to the runs, even after an internal error
    succeeded = problem is None and status in SUCCESS
    # wait: false and every run started: the runs were left running, as asked.
    started_only = not settings.wait and problem is None and all(r.run_id for r in results)
    code = EXIT_FAILURE if problem else exit_code(settings, succeeded, started=all(r.run_id for r in results))
    outcome = Outcome(
        command=command,
        results=results,
        status=status,
        waited=total,
        exit_code=code,
        pipeline=settings.pipeline,
        problem=problem,
        trace_id=client.last_trace_id or _latest_trace(results),
        started_only=started_only,
        summary=settings.summary,
    )
    return dataclasses.replace(outcome, exit_code=presenter.finish(outcome))


def _latest_trace(results: list[StepResult]) -> str | None:
    return next((r.trace_id for r in reversed(results) if r.trace_id), None)


def exit_code(settings: Settings, succeeded: bool, started: bool) -> int:
    """The exit code for an outcome, honouring `wait` and `fail-on-error`."""
    if succeeded or not settings.fail_on_error:
        return EXIT_OK
    if not settings.wait and started:
        return EXIT_OK
    return EXIT_FAILURE
