"""One execution of the action: the engine's results turned into outputs, summary and verdict.

Outputs and the summary are written on every exit path, an unexpected error included.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from hex_action.client import HexClient
from hex_action.clock import Clock
from hex_action.engine import Engine, StepResult
from hex_action.errors import EXIT_FAILURE, EXIT_OK
from hex_action.github import GitHub
from hex_action.inputs import format_duration
from hex_action.report import Reporter, overall_status, results_json
from hex_action.settings import Settings
from hex_action.signals import CancelSignal
from hex_action.status import SUCCESS, Status
from hex_action.summary import summary_markdown


def execute(settings: Settings, github: GitHub, cancel: CancelSignal, clock: Clock) -> int:
    """Run every step, report, and return the exit code."""
    client = HexClient(settings.api_base_url, settings.api_token, clock, wake=cancel.event)
    reporter = Reporter(github, pipeline=settings.pipeline)
    engine = Engine(settings, client, clock, cancel, reporter)
    reporter.steps = list(engine.results.values())
    host = urlsplit(settings.api_base_url).netloc
    if settings.pipeline:
        github.line(f"Running a pipeline of {len(settings.steps)} Hex projects on {host}")
    else:
        github.line(f"Running Hex project {settings.steps[0].project_id} on {host}")

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
    _write_outputs(github, settings, results, status, total, client.last_trace_id or reporter.trace_id)
    if settings.summary:
        github.summary(
            summary_markdown(
                results,
                status=status,
                total_seconds=total,
                problem=problem,
                pipeline=settings.pipeline,
                started_only=started_only,
            )
        )
    code = EXIT_FAILURE if problem else exit_code(settings, succeeded, started=all(r.run_id for r in results))
    _verdict(github, settings, results, status, total, problem, code, started_only=started_only)
    if github.report_write_failures():  # the outputs or the summary were lost: the step cannot pass
        code = code or EXIT_FAILURE
    return code


def _write_outputs(
    github: GitHub,
    settings: Settings,
    results: list[StepResult],
    status: str,
    total: float,
    trace_id: str | None,
) -> None:
    outputs: dict[str, str | None] = {"status": status}
    if settings.pipeline:
        outputs["elapsed-seconds"] = _seconds(total)
    else:
        only = results[0]
        outputs.update(
            {
                "run-id": only.run_id,
                "run-url": only.run_url,
                "project-version": only.project_version,
                "elapsed-seconds": _seconds(only.elapsed_seconds) if only.elapsed_seconds is not None else None,
            }
        )
    outputs["trace-id"] = trace_id
    outputs["results"] = results_json(results)
    github.set_outputs(outputs)


def _verdict(
    github: GitHub,
    settings: Settings,
    results: list[StepResult],
    status: str,
    total: float,
    problem: str | None,
    code: int,
    *,
    started_only: bool,
) -> None:
    if problem:
        github.annotate("error", problem, title="hex-action failed")
        return
    if status in SUCCESS or started_only:
        name = results[0].project_name
        what = "pipeline" if settings.pipeline else f"run of {name}" if name else "run"
        github.line(f"Hex {what} {status} in {format_duration(total)}")
        return
    failures = [r for r in results if r.status not in SUCCESS and r.message]
    level = "error" if code else "warning"
    for result in failures[:10] if settings.pipeline else failures[:1]:
        if settings.pipeline:
            label = f"step '{result.name}'" + (f" ({result.project_name})" if result.project_name else "") + " "
        else:
            label = f"run of {result.project_name} " if result.project_name else ""
        title = f"Hex {label}{result.status}"
        github.annotate(level, result.message or result.status, title=title)


def _seconds(value: float | None) -> str:
    return f"{(value or 0.0):.3f}".rstrip("0").rstrip(".")


def exit_code(settings: Settings, succeeded: bool, started: bool) -> int:
    """The exit code for an outcome, honouring `wait` and `fail-on-error`."""
    if succeeded or not settings.fail_on_error:
        return EXIT_OK
    if not settings.wait and started:
        return EXIT_OK
    return EXIT_FAILURE
