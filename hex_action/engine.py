"""The runs' life: start, wait, cancel. One thread, one loop, for one project or a pipeline.

A single project is a pipeline of one step. Without `needs` the steps run in written
order (each implicitly needs the one before it); with `needs` they run as a graph, up to
`max-parallel` at once. Every wait is a sleep on the injected clock that a cancel wakes,
and every status read goes through the client's shared read limiter, so concurrent runs
together stay within Hex's read budget.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hex_action.client import HexClient, RunHandle, RunState
from hex_action.clock import Clock
from hex_action.errors import HexApiError, Interrupted
from hex_action.inputs import format_duration
from hex_action.pipeline import graph_mode
from hex_action.schedule import FLOOR, PollSchedule, Prediction, predict
from hex_action.settings import Settings
from hex_action.signals import CancelSignal
from hex_action.status import SUCCESS, Status, is_known, is_terminal
from hex_action.steps import StepSpec

#: How many recent completed runs the history read asks for.
HISTORY_LIMIT = 10
#: Longest time a cancel may take when the step itself is being cancelled.
CANCEL_WITHIN = 5.0
NOT_STARTED = Status.NOT_STARTED
#: Clock difference allowed between this machine and Hex when matching a lost run's start time.
LOST_RUN_SKEW = 5.0
CHECK_RUNS = "check the project's runs in Hex."


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

    @property
    def succeeded(self) -> bool:
        """Whether this step's outcome counts as success."""
        return self.status in SUCCESS

    def as_output(self) -> dict[str, Any]:
        """The step's entry in the `results` output."""
        return {
            "name": self.name,
            "project-id": self.project_id,
            "run-id": self.run_id,
            "run-url": self.run_url,
            "status": self.status or None,
            "elapsed-seconds": _round(self.elapsed_seconds),
        }


class Observer(Protocol):
    """Receives the engine's events as they happen (the report layer implements it)."""

    def run_started(self, result: StepResult) -> None:
        """A run was started (or attached); run id and URL are known."""

    def status_changed(self, result: StepResult, previous: str, waited: float) -> None:
        """A status read returned a status other than the previous one."""

    def step_finished(self, result: StepResult) -> None:
        """A step reached its final outcome."""

    def warning(self, text: str) -> None:
        """Something the user should know that does not end the step."""


@dataclass
class _Active:
    spec: StepSpec
    result: StepResult
    triggered_at: float
    schedule: PollSchedule
    deadline: float
    timeout: float
    next_read_at: float
    last_status: str = ""
    warned: set[str] = field(default_factory=set)
    #: The project's run history is still to be read (before the first status read).
    history_pending: bool = False


class Engine:
    """Runs the steps of `settings` and returns one `StepResult` each, in written order."""

    def __init__(
        self,
        settings: Settings,
        client: HexClient,
        clock: Clock,
        cancel: CancelSignal,
        observer: Observer,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.clock = clock
        self.cancel = cancel
        self.observer = observer
        self._rng = rng or random.Random()
        self._history: dict[str, Prediction | None] = {}
        steps = settings.steps
        if not graph_mode(steps):  # written order: each step needs the one before
            steps = tuple(
                StepSpec(**{**s.__dict__, "needs": (steps[i - 1].name,) if i else ()}) for i, s in enumerate(steps)
            )
        self._steps = steps
        self._parallel = settings.max_parallel if graph_mode(settings.steps) else 1
        self.results = {s.name: StepResult(name=s.name, project_id=s.project_id) for s in steps}
        self._active: list[_Active] = []
        self._started = 0
        self._first_failure: StepResult | None = None

    def run(self) -> list[StepResult]:
        """Start, wait for and finish every step; returns when all have an outcome."""
        start = self.clock.now()
        self._deadline = start + self.settings.timeout
        while True:
            if self.cancel.requested:
                self._stop_all(Status.CANCELLED, f"The step was cancelled ({self.cancel.signal_name}).")
                break
            now = self.clock.now()
            if now >= self._deadline:
                self._stop_all(Status.TIMED_OUT, None)
                break
            for active in [a for a in self._active if now >= a.deadline]:
                self._time_out(active)
            failure = self._first_failure
            if failure is not None and self.settings.fail_fast and self._active:
                self._stop_all(Status.CANCELLED, f"Cancelled because step '{failure.name}' failed (fail-fast).")
            self._skip_blocked()
            next_start = self._start_ready()
            if self.cancel.requested:
                continue
            if not self._active and next_start is None:
                break
            self._wait_for_next(next_start)
            self._read_due()
        return [self.results[s.name] for s in self._steps]

    # -- starting ---------------------------------------------------------------------------

    def _start_ready(self) -> float | None:
        """Start every step that may start now; the time the next one may, if it must wait."""
        for spec in self._steps:
            result = self.results[spec.name]
            if result.started_at is not None or result.finished:
                continue
            if not all(self.results[n].status == Status.COMPLETED for n in spec.needs):
                continue
            if len(self._active) >= self._parallel:
                return None
            if spec.existing_run_id is None:
                allowed = self.client.starts.next_allowed(self.clock.now())
                if allowed > self.clock.now():
                    return allowed  # pace run starts within Hex's limit
            self._start(spec, result)
            if self.cancel.requested:
                return None
        return None

    def _start(self, spec: StepSpec, result: StepResult) -> None:
        self._started += 1
        result.started_at = self.clock.wall()
        result.start_order = self._started
        triggered_at = self.clock.now()
        if spec.existing_run_id:
            handle = RunHandle(spec.project_id, spec.existing_run_id, "", None, None)
        else:
            try:
                handle = self.client.trigger_run(spec.project_id, spec.request_body(), deadline=self._deadline)
            except HexApiError as exc:
                if not exc.maybe_started:
                    self._finish(result, NOT_STARTED, f"Hex did not start the run. {exc}")
                    return
                found, note = self._find_lost_run(spec, exc, since=result.started_at)
                if found is None:
                    self._finish(result, NOT_STARTED, f"{exc} {note}")
                    return
                handle = found
            except Interrupted:
                self._finish(result, Status.CANCELLED, "The step was cancelled before Hex started the run.")
                return
            triggered_at = self.clock.now()  # the run exists from here: measure from now, not from before retries
        result.run_id = handle.run_id
        result.run_url = handle.run_url or None
        result.trace_id = handle.trace_id or self.client.last_trace_id
        result.project_version = handle.project_version
        self.observer.run_started(result)
        if spec.dry_run:
            result.elapsed_seconds = 0.0
            self._finish(result, Status.DRY_RUN, None)
            return
        timeout = min(spec.timeout or self.settings.timeout, self._deadline - triggered_at)
        active = _Active(
            spec=spec,
            result=result,
            triggered_at=triggered_at,
            schedule=PollSchedule(self.settings.poll_interval, None, self._rng),
            deadline=min(self._deadline, triggered_at + timeout),
            timeout=timeout,
            next_read_at=triggered_at if spec.existing_run_id else triggered_at + FLOOR,
        )
        self._active.append(active)
        if not self.settings.wait:
            active.next_read_at = triggered_at  # one read, then done
        elif self.settings.use_run_history and not spec.existing_run_id:
            if spec.project_id in self._history:
                self._use_history(active, now=triggered_at)
            else:
                # The history read is this run's first read, taken from the same budget as
                # status reads; the run is starting up meanwhile anyway.
                active.history_pending = True
                active.next_read_at = triggered_at

    def _find_lost_run(self, spec: StepSpec, error: HexApiError, since: float) -> tuple[RunHandle | None, str]:
        """After a start whose answer was lost (a 500, a timeout): the run Hex created, if any.

        Hex has no idempotency key, so the start is not retried (that could start a second
        run). Instead one read of the project's recent API runs looks for a run that began
        after our request. Exactly one such run is taken as ours and followed (so it is
        waited for, and cancelled when needed); none means Hex did not start one; several
        (another workflow started the same project) are left alone, and the message says so.
        """
        known = {r.run_id for r in self.results.values() if r.run_id}
        try:
            runs = self.client.list_runs(spec.project_id, status=None, limit=HISTORY_LIMIT, deadline=self._deadline)
        except HexApiError as exc:
            return (
                None,
                f"Hex may have started the run anyway, and looking for it failed ({exc.detail}): {CHECK_RUNS}",
            )
        except Interrupted:
            return (
                None,
                f"The step was cancelled while looking for a run Hex may have started: {CHECK_RUNS}",
            )
        candidates = [r for r in runs if r.run_id not in known and _began_after(r, since - LOST_RUN_SKEW)]
        if len(candidates) == 1:
            run = candidates[0]
            self.observer.warning(
                f"Hex's answer to the start request was lost ({error.detail}); following run {run.run_id}, "
                "the one new run among the project's recent API runs."
            )
            return RunHandle(spec.project_id, run.run_id, run.run_url or "", run.trace_id, run.project_version), ""
        if not candidates:
            return None, "No new run appeared among the project's recent API runs: Hex did not start one."
        return None, (
            f"Hex may have started the run: {len(candidates)} recent runs of the project could be it, so none was "
            f"followed or cancelled: {CHECK_RUNS}"
        )

    def _read_history(self, active: _Active) -> None:
        """One read of the project's recent completed API runs; the prediction is cached per project."""
        project_id = active.spec.project_id
        active.history_pending = False
        if project_id not in self._history:
            try:
                with self.cancel.interruptible():
                    runs = self.client.list_runs(project_id, limit=HISTORY_LIMIT, deadline=active.deadline)
            except HexApiError as exc:
                self.observer.warning(f"Run history unavailable, waiting without it: {exc.detail}")
                runs = []
            self._history[project_id] = predict([d for d in (_duration(r) for r in runs) if d is not None])
        self._use_history(active, now=self.clock.now())

    def _use_history(self, active: _Active, now: float) -> None:
        """Time the run's status reads by the project's prediction, from `now` (the history read or the trigger)."""
        prediction = active.schedule.prediction = self._history[active.spec.project_id]
        if prediction is None:  # no usable history: the plain strategy, its first read at the floor
            active.next_read_at = max(active.next_read_at, active.triggered_at + FLOOR)
        else:
            # The schedule places even the first status read: a read at the floor would tell
            # little about a run whose end is known to be far off, and would cost a read.
            active.next_read_at = now + active.schedule.next_delay(now - active.triggered_at)

    # -- waiting ----------------------------------------------------------------------------

    def _wait_for_next(self, next_start: float | None) -> None:
        times = [a.next_read_at for a in self._active] + [a.deadline for a in self._active]
        times += [self._deadline] + ([next_start] if next_start is not None else [])
        delay = min(times) - self.clock.now()
        if delay <= 0:
            return
        try:
            with self.cancel.interruptible():
                self.clock.sleep(delay, self.cancel.event)
        except Interrupted:
            pass  # the loop sees the request and cancels

    def _read_due(self) -> None:
        for active in sorted(self._active, key=lambda a: a.next_read_at):
            now = self.clock.now()
            if self.cancel.requested or active.next_read_at > now:
                continue
            allowed = self.client.reads.next_allowed(now)
            if allowed > now:
                # The token's read budget is spent: wait for it here, where timeouts and cancels are
                # watched, not inside the client, which would report a read that cannot happen before
                # this run's deadline as a failed read and end the step early.
                active.next_read_at = allowed
                continue
            try:
                if active.history_pending:
                    self._read_history(active)
                    continue
                with self.cancel.interruptible():
                    state = self.client.get_run(
                        active.spec.project_id, active.result.run_id or "", deadline=active.deadline
                    )
            except Interrupted:
                return
            except HexApiError as exc:
                self._abandon(active, exc)
                continue
            self._apply(active, state)

    def _apply(self, active: _Active, state: RunState) -> None:
        result = active.result
        now = self.clock.now()
        result.trace_id = state.trace_id or self.client.last_trace_id or result.trace_id
        result.run_url = result.run_url or state.run_url
        result.project_version = state.project_version or result.project_version
        if state.elapsed_ms is not None:
            result.elapsed_seconds = state.elapsed_ms / 1000
        status = state.status
        if status != active.last_status:
            previous, active.last_status = active.last_status, status
            result.status = status
            self.observer.status_changed(result, previous, now - active.triggered_at)
        if not is_known(status) and status not in active.warned:
            active.warned.add(status)
            shown = f"status '{status}'" if status else "no status"
            self.observer.warning(
                f"Hex reported {shown} for run {result.run_id}, which this action does not know; waiting on."
            )
        if is_terminal(status):
            self._done(active)
            message = None
            if status != Status.COMPLETED:
                message = f"The Hex run ended {status}." + (f" See {result.run_url}" if result.run_url else "")
            if state.elapsed_ms is None:
                result.elapsed_seconds = now - active.triggered_at
            self._finish(result, status, message)
        elif not self.settings.wait:
            self._done(active)
            result.elapsed_seconds = result.elapsed_seconds or now - active.triggered_at
            self._finish(result, status, None)
        else:
            active.next_read_at = now + active.schedule.next_delay(now - active.triggered_at)

    # -- endings ----------------------------------------------------------------------------

    def _finish(self, result: StepResult, status: str, message: str | None) -> None:
        result.status = status
        result.message = message
        result.finished = True
        self.observer.step_finished(result)
        if status not in SUCCESS and self.settings.wait and self._first_failure is None:
            self._first_failure = result

    def _done(self, active: _Active) -> None:
        if active in self._active:
            self._active.remove(active)

    def _time_out(self, active: _Active) -> None:
        self._done(active)
        last = active.last_status or "unknown"
        message = f"Gave up waiting after {format_duration(active.timeout)} (the timeout); the last status was {last}."
        if self.settings.cancel_on_timeout:
            message += " " + self._cancel_one(active)
        else:
            message += f" The run was left running (cancel-on-timeout is false): {active.result.run_url}"
        active.result.elapsed_seconds = self.clock.now() - active.triggered_at
        self._finish(active.result, Status.TIMED_OUT, message)

    def _abandon(self, active: _Active, error: HexApiError) -> None:
        """Status reads failed for good: stop waiting, and do not leave the run holding a kernel."""
        self._done(active)
        message = f"Could not read the run's status: {error} " + self._cancel_one(active)
        self._finish(active.result, active.last_status or Status.PENDING, message)

    def _stop_all(self, status: Status, message: str | None) -> None:
        """Cancel (or time out) every run in flight; steps not started are skipped."""
        actives, self._active = self._active, []
        if status == Status.TIMED_OUT:
            for active in actives:
                self._time_out(active)
        else:
            notes = self._cancel_many(actives)
            for active, note in zip(actives, notes, strict=True):
                active.result.elapsed_seconds = self.clock.now() - active.triggered_at
                self._finish(active.result, status, f"{message} {note}")
        # Steps not started: a cancelled action cancels them too; otherwise they are skipped.
        unstarted = Status.CANCELLED if self.cancel.requested else Status.SKIPPED
        for spec in self._steps:
            result = self.results[spec.name]
            if not result.finished and result.started_at is None:
                reason = (
                    f"Not started: {message[0].lower()}{message[1:]}"
                    if message
                    else "Not started: the timeout ran out first."
                )
                self._finish(result, unstarted, reason)

    def _skip_blocked(self) -> None:
        for spec in self._steps:
            result = self.results[spec.name]
            if result.finished or result.started_at is not None:
                continue
            failed = [n for n in spec.needs if self.results[n].finished and self.results[n].status != Status.COMPLETED]
            if failed:
                self._finish(result, Status.SKIPPED, f"Skipped because '{failed[0]}' did not complete.")
            elif self._first_failure is not None and self.settings.fail_fast:
                self._finish(result, Status.SKIPPED, "Skipped because an earlier step failed (fail-fast).")

    def _cancel_one(self, active: _Active) -> str:
        return self._cancel_many([active])[0]

    def _cancel_many(self, actives: list[_Active]) -> list[str]:
        """Cancel runs at Hex, several at once; a note per run on how that went."""

        def cancel(active: _Active) -> str:
            try:
                self.client.cancel_run(active.spec.project_id, active.result.run_id or "", within=CANCEL_WITHIN)
            except HexApiError as exc:
                return f"Cancelling the run failed, so it may still be running: {active.result.run_url} ({exc.detail})"
            return "The run was cancelled."

        if len(actives) <= 1:
            return [cancel(a) for a in actives]
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - only for pipelines

        with ThreadPoolExecutor(max_workers=min(8, len(actives))) as pool:
            return list(pool.map(cancel, actives))


def _began_after(run: RunState, wall: float) -> bool:
    """Whether a listed run began after `wall` (a run still PENDING has no start time yet: it is new)."""
    if run.start_time is None:
        return run.status == Status.PENDING
    start = _parse_time(run.start_time)
    return start is not None and start >= wall


def _parse_time(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _duration(run: RunState) -> float | None:
    """A completed run's duration in seconds, from elapsedTime or the start and end times."""
    if run.elapsed_ms is not None:
        return run.elapsed_ms / 1000
    if run.start_time and run.end_time:
        start, end = _parse_time(run.start_time), _parse_time(run.end_time)
        if start is not None and end is not None:
            return end - start
    return None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
