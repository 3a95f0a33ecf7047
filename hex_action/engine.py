"""The runs' life: start, wait, cancel. One thread, one loop, for one project or a pipeline.

A single project is a pipeline of one step. Without `needs` the steps run in written
order (each implicitly needs the one before it); with `needs` they run as a graph, up to
`max-parallel` at once. Every wait is a sleep on the injected clock that a cancel wakes,
and every status read goes through the client's shared read limiter, so concurrent runs
together stay within Hex's read budget.

Whatever ends the wait (the run's end, a timeout, a signal, fail-fast, reads that can no
longer succeed, even an unexpected error), a run the action started is either seen to
end or cancelled, and each step's status says what really happened.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

from hex_action.cancelling import CANCEL_WITHIN, RunToCancel, cancel_many, last_look
from hex_action.client import HexClient, RunHandle, RunState
from hex_action.clock import Clock
from hex_action.errors import HexApiError, Interrupted
from hex_action.inputs import format_duration
from hex_action.lag import LAG_RETRY_EVERY, LAG_STATUSES, READ_AFTER_WRITE_GRACE
from hex_action.outcome import Observer, StepResult
from hex_action.pipeline import graph_mode
from hex_action.planner import History
from hex_action.projects import ProjectReader, unrunnable
from hex_action.run_lookup import HISTORY_LIMIT, NewRuns, find_new_runs_patiently, recent_history
from hex_action.schedule import FLOOR, PollSchedule
from hex_action.settings import Settings
from hex_action.signals import CancelSignal
from hex_action.status import SUCCESS, Status, is_known, is_terminal
from hex_action.steps import StepSpec

__all__ = ["Engine", "Observer", "StepResult"]

#: Hex errors on a status read that no retry or wait will cure (redirects are never followed).
PERMANENT_READ_ERRORS = frozenset({301, 302, 303, 307, 308, 400, 401, 403, 404, 422})
#: After a cancel cut a start request short, how long the run Hex may be creating is looked for
#: (within the runner's 7.5 s between SIGINT and SIGTERM, the cancel included).
CUT_SHORT_LOOKUP = 2 * LAG_RETRY_EVERY
#: A start Hex turned away while other runs were in flight is tried again after this, unless Hex said when.
POSTPONE_START = 15.0


@dataclass
class _Active:
    """A run being waited on."""

    spec: StepSpec
    result: StepResult
    triggered_at: float
    schedule: PollSchedule
    deadline: float
    next_read_at: float
    last_status: str = ""
    warned: set[str] = field(default_factory=set)
    #: The project's run history is still to be read (before the first status read).
    history_pending: bool = False
    #: When a read first found the new run unknown to Hex (404/403, maybe its lag), and how many reads did.
    unknown_since: float | None = None
    unknown_reads: int = 0

    @property
    def timeout(self) -> float:
        """How long this run may be waited for."""
        return self.deadline - self.triggered_at

    def to_cancel(self) -> RunToCancel:
        """The run as `cancelling` needs it."""
        return RunToCancel(
            self.spec.project_id,
            self.result.run_id or "",
            self.result.run_url,
            readable=not self.history_pending,
            fresh=self.fresh,
        )

    @property
    def fresh(self) -> bool:
        """Created by the action and not yet read: Hex's reads may not know it yet (`lag`)."""
        return self.spec.existing_run_id is None and not self.last_status


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
        self._history: dict[str, History | None] = {}
        steps = settings.steps
        if not graph_mode(steps):  # written order: each step needs the one before
            steps = tuple(dataclasses.replace(s, needs=(steps[i - 1].name,) if i else ()) for i, s in enumerate(steps))
        self._steps = steps
        self._parallel = settings.max_parallel if graph_mode(settings.steps) else 1
        self.results = {s.name: StepResult(name=s.name, project_id=s.project_id, needs=s.needs) for s in steps}
        self._projects = ProjectReader(client, clock, observer.warning, observer.debug)
        self._active: list[_Active] = []
        self._first_failure: StepResult | None = None
        self._deadline = 0.0
        #: Starts a cancel cut short while Hex was answering: looked up once the runs in flight are cancelled.
        self._cut_short: list[tuple[StepSpec, StepResult]] = []
        #: Starts Hex turned away (503, 429) while other runs were in flight: when to try again, and why.
        self._not_before: dict[str, float] = {}
        self._busy: dict[str, HexApiError] = {}

    def run(self) -> list[StepResult]:
        """Start, wait for and finish every step; returns when all have an outcome."""
        self._deadline = self.clock.now() + self.settings.timeout
        try:
            self._loop()
            with self.cancel.interruptible():
                self._projects.name_the_rest(list(self.results.values()))
        except Interrupted:
            pass  # a cancel after the runs ended: the names can stay ids
        except BaseException:
            # An unexpected error must not leave runs burning kernels: cancel them, then let
            # the error be reported.
            self._stop_all(Status.CANCELLED, "The action stopped on an internal error.")
            raise
        return [self.results[s.name] for s in self._steps]

    def _loop(self) -> None:
        while True:
            if self.cancel.requested:
                self._stop_all(Status.CANCELLED, f"The step was cancelled ({self.cancel.signal_name or 'a signal'}).")
                return
            now = self.clock.now()
            if now >= self._deadline:
                self._stop_all(Status.TIMED_OUT, None)
                return
            expired = [a for a in self._active if now >= a.deadline]
            if expired:
                self._time_out(expired)
            failure = self._first_failure
            if failure is not None and self.settings.fail_fast and self._active:
                why = f"because step '{failure.name}' failed (fail-fast)."
                self._stop_all(Status.CANCELLED, f"Cancelled {why}", skip_reason=f"Skipped {why}")
            self._skip_blocked()
            next_start = self._start_ready()
            if self.cancel.requested:
                continue
            if not self._active and next_start is None:
                self._skip_blocked()  # a step refused just now (NOT_STARTED) blocks those that need it
                return
            self._wait_for_next(next_start)
            self._read_due()

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
                now = self.clock.now()
                allowed = max(self.client.starts.next_allowed(now), self._not_before.get(spec.name, now))
                if allowed > now:
                    return allowed  # pace run starts within Hex's limit, and retry busy ones later
            self._start(spec, result)
            if self.cancel.requested:
                return None
        return None

    def _project_runnable(self, spec: StepSpec, result: StepResult) -> bool:
        """Name the step's project (read just before its first run starts); False when Hex cannot run it.

        The read is not made for all projects up front: a burst of reads would hold up the first
        runs' status reads (the read budget allows 6 in 12 s), costing every pipeline time.
        """
        if result.finished:
            return False
        deadline = min([self._deadline] + [min(a.next_read_at, a.deadline) for a in self._active])
        try:
            with self.cancel.interruptible():
                info = self._projects.before_start(spec.project_id, deadline)
        except Interrupted:
            return False  # not started: the loop cancels it with the rest
        if info is None:
            return True
        result.project_name = info.title
        refusal = None if spec.existing_run_id else unrunnable(info)
        if refusal is not None:
            self._finish(result, Status.NOT_STARTED, refusal)
            return False
        return True

    def _start(self, spec: StepSpec, result: StepResult) -> None:
        if not self._project_runnable(spec, result):
            return
        result.started_at = self.clock.wall()
        result.start_order = sum(r.start_order is not None for r in self.results.values()) + 1
        triggered_at = self.clock.now()
        if spec.existing_run_id:
            handle = RunHandle(spec.project_id, spec.existing_run_id, "", None, None)
        else:
            started = self._trigger(spec, result)
            if started is None:
                return
            handle = started
            triggered_at = self.clock.now()  # the run exists from here: measure from now, not from before retries
        result.run_id = handle.run_id
        result.run_url = handle.run_url or None
        result.trace_id = handle.trace_id or self.client.last_trace_id
        result.project_version = handle.project_version
        if not spec.existing_run_id:  # an attached run's past is known only from Hex's answers
            result.phases = [(Status.PENDING, self.clock.wall())]
        timeout = max(0.0, min(spec.timeout or self.settings.timeout, self._deadline - triggered_at))
        active = _Active(
            spec=spec,
            result=result,
            triggered_at=triggered_at,
            schedule=PollSchedule(self.settings.poll_interval, self._rng),
            deadline=triggered_at + timeout,
            next_read_at=triggered_at if spec.existing_run_id else triggered_at + FLOOR,
        )
        # Tracked before anything else can fail, so that any ending still cancels it.
        self._active.append(active)
        self.observer.run_started(result)
        if spec.dry_run:
            self._done(active)
            result.elapsed_seconds = 0.0
            self._finish(result, Status.DRY_RUN, None)
            return
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

    def _trigger(self, spec: StepSpec, result: StepResult) -> RunHandle | None:
        """Start the run; None when there is no run to follow yet (finished, postponed or cut short)."""
        # With runs in flight, a start kept waiting for a kernel (503) or the rate limit (429)
        # must not stop them being watched: its retries then end at the next read or deadline,
        # and the loop tries again later.
        deadline = min([self._deadline] + [min(a.next_read_at, a.deadline) for a in self._active])
        try:
            # Interruptible: a cancel must not wait for a slow answer. What Hex may have
            # started meanwhile is looked up and cancelled once the runs in flight are (`_stop_all`).
            with self.cancel.interruptible():
                return self.client.trigger_run(spec.project_id, spec.request_body(), deadline=deadline)
        except Interrupted as interrupted:
            if interrupted.in_request:
                self._cut_short.append((spec, result))
            else:  # cancelled before sending, or between attempts whose answers say no run was made
                self._finish(result, Status.CANCELLED, "The step was cancelled before Hex started the run.")
            return None
        except HexApiError as exc:
            busy = exc.status_code in (429, 503) and not exc.maybe_started
            if busy and deadline < self._deadline and self.clock.now() < self._deadline:
                self._postpone(result, exc)
                return None
            if not exc.maybe_started:
                self._finish(result, Status.NOT_STARTED, f"Hex did not start the run. {exc}")
                return None
            try:
                new = self._new_runs(spec, result, interruptible=True)
            except Interrupted:
                self._cut_short.append((spec, result))
                return None
            run = new.only
            if run is None:
                # NOT_STARTED only when Hex surely made no run; when it may have, the outcome is unknown.
                made_none = new.error is None and not new.candidates
                self._finish(result, Status.NOT_STARTED if made_none else Status.UNKNOWN, f"{exc} {new.describe()}")
                return None
            self.observer.warning(
                f"Hex's answer to the start request was lost ({exc.detail}); following run {run.run_id}, "
                "the one new run among the project's recent API runs."
            )
            return RunHandle(spec.project_id, run.run_id, run.run_url or "", run.trace_id, run.project_version)

    def _postpone(self, result: StepResult, error: HexApiError) -> None:
        """A start Hex turned away (no kernel free, rate limit): try again later, the step not yet started."""
        result.started_at = result.start_order = None
        self._not_before[result.name] = self.clock.now() + (error.retry_after or POSTPONE_START)
        self._busy[result.name] = error

    def _start_cut_short(self, spec: StepSpec, result: StepResult) -> None:
        """A cancel arrived while Hex was answering the start: find the run it may have made, cancel it."""
        new = self._new_runs(spec, result, interruptible=False)  # looked at again while Hex may be creating it
        what = f"The step was cancelled ({self.cancel.signal_name or 'a signal'}) while Hex was starting the run."
        run = new.only
        if run is None:
            self._finish(result, Status.CANCELLED, f"{what} {new.describe()}")
            return
        result.run_id, result.run_url = run.run_id, run.run_url
        try:
            self.client.cancel_run(spec.project_id, run.run_id, within=CANCEL_WITHIN)
            note = f"The run Hex had started ({run.run_id}) was cancelled."
        except HexApiError as exc:
            note = (
                f"Cancelling the run Hex had started failed, so it may still be running: {run.run_url} ({exc.detail})"
            )
        self._finish(result, Status.CANCELLED, f"{what} {note}")

    def _new_runs(self, spec: StepSpec, result: StepResult, *, interruptible: bool) -> NewRuns:
        known = {r.run_id for r in self.results.values() if r.run_id}
        now = self.clock.now()
        # A lost start's lookup gets its whole grace even past the timeout: "no new run" ends the
        # step as not started, which must not be concluded from a look the timeout cut short.
        return find_new_runs_patiently(
            self.client,
            self.clock,
            spec.project_id,
            result.started_at or 0.0,
            known,
            within=READ_AFTER_WRITE_GRACE if interruptible else CUT_SHORT_LOOKUP,
            deadline=max(self._deadline, now + READ_AFTER_WRITE_GRACE) if interruptible else now + CANCEL_WITHIN,
            wake=self.cancel.event if interruptible else None,
        )

    def _read_history(self, active: _Active) -> None:
        """One read of the project's recent API runs (any status); the history is cached per project."""
        project_id = active.spec.project_id
        active.history_pending = False
        if project_id not in self._history:
            try:
                with self.cancel.interruptible():
                    runs = self.client.list_runs(project_id, status=None, limit=HISTORY_LIMIT, deadline=active.deadline)
            except HexApiError as exc:
                self.observer.warning(f"Run history unavailable, waiting without it: {exc.detail}")
                runs = []
            self._history[project_id] = recent_history(runs, exclude=active.result.run_id)
        self._use_history(active, now=self.clock.now())

    def _use_history(self, active: _Active, now: float) -> None:
        """Plan the run's status reads from the project's history, from `now` (the history read or the trigger)."""
        history = self._history[active.spec.project_id]
        active.schedule.use_history(history, limit=active.timeout)
        if history is None:  # no usable history: the plain strategy, its first read at the floor
            active.next_read_at = max(active.next_read_at, active.triggered_at + FLOOR)
        else:
            # The plan places even the first status read: a read at the floor would tell
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
                self._read_failed(active, exc)
                continue
            self._apply(active, state)

    def _apply(self, active: _Active, state: RunState) -> None:
        result = active.result
        now = self.clock.now()
        self.observer.debug(
            f"Run {result.run_id}: status {state.status!r}, elapsedTime {state.elapsed_ms}, traceId {state.trace_id}"
        )
        result.trace_id = state.trace_id or self.client.last_trace_id or result.trace_id
        result.run_url = result.run_url or state.run_url
        result.project_version = state.project_version or result.project_version
        if state.elapsed_ms is not None:
            result.elapsed_seconds = state.elapsed_ms / 1000
        status = state.status
        if state.state_events:
            result.phases, result.phases_from_hex = list(state.state_events), True
        elif not result.phases_from_hex and (not result.phases or result.phases[-1][0] != status):
            result.phases.append((status, self.clock.wall()))
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
            running = None if state.elapsed_ms is None else state.elapsed_ms / 1000
            active.next_read_at = now + active.schedule.next_delay(now - active.triggered_at, status, running)
            self.observer.waiting(result, now - active.triggered_at, active.next_read_at - now)

    def _read_failed(self, active: _Active, error: HexApiError) -> None:
        """A status read failed even after the client's retries."""
        if self._may_be_lag(active, error):
            return
        if error.status_code in PERMANENT_READ_ERRORS or not self.settings.wait:
            self._give_up_reading(active, error)
            return
        # A passing fault (5xx, network, rate limit): the run is likely fine. Keep waiting;
        # the timeout still bounds the wait, and cancels as the inputs say.
        if "failing reads" not in active.warned:
            active.warned.add("failing reads")
            self.observer.warning(f"Status reads of run {active.result.run_id} are failing, still waiting: {error}")
        now = self.clock.now()
        active.next_read_at = now + active.schedule.next_delay(now - active.triggered_at)

    def _may_be_lag(self, active: _Active, error: HexApiError) -> bool:
        """Whether a 404/403 may be Hex's read-after-write lag on a run just created: then read again soon."""
        if error.status_code not in LAG_STATUSES or not active.fresh:
            return False
        now = self.clock.now()
        active.unknown_reads += 1
        if active.unknown_since is None:
            active.unknown_since = now
            self.observer.warning(
                f"Hex does not know run {active.result.run_id} yet; reading it again for up to "
                f"{format_duration(READ_AFTER_WRITE_GRACE)}, as Hex may lag just after creating a run: {error.detail}"
            )
        if now - active.unknown_since + LAG_RETRY_EVERY > READ_AFTER_WRITE_GRACE:
            return False
        active.next_read_at = min(now + LAG_RETRY_EVERY, active.deadline)
        return True

    def _give_up_reading(self, active: _Active, error: HexApiError) -> None:
        """The run's status cannot be read (no such run, no access): report UNKNOWN, never a guess."""
        self._done(active)
        message = f"Could not read the run's status: {error}"
        if active.unknown_since is not None:
            waited = format_duration(self.clock.now() - active.unknown_since)
            message += f" Hex still did not know the run after {active.unknown_reads} reads over {waited}."
        if not self.settings.wait:
            message += " The run was started and left running (wait is false)."
        elif error.status_code == 404 and active.spec.existing_run_id:
            message += " Hex knows no such run, so nothing was cancelled."
        elif self.settings.cancel_on_timeout:
            message += " " + self._cancel_many([active])[0][0]
        else:
            message += f" The run was left running (cancel-on-timeout is false): {active.result.run_url}"
        active.result.elapsed_seconds = self.clock.now() - active.triggered_at
        self._finish(active.result, Status.UNKNOWN, message)

    # -- endings ----------------------------------------------------------------------------

    def _finish(self, result: StepResult, status: str, message: str | None) -> None:
        result.status = status
        result.message = message
        result.finished = True
        result.ended_at = self.clock.wall()
        self.observer.step_finished(result)
        if status not in SUCCESS and self.settings.wait and self._first_failure is None:
            self._first_failure = result

    def _done(self, active: _Active) -> None:
        if active in self._active:
            self._active.remove(active)

    def _time_out(self, actives: list[_Active]) -> None:
        """Give up on runs whose time is up: each gets one last look, the rest are cancelled together."""
        unended = []
        for active in actives:
            # A run that ended since the last read is reported as it ended, not as timed out
            # (and is not "cancelled" after it completed).
            state = self._last_look(active)
            if state is not None and is_terminal(state.status):
                self._apply(active, state)
            else:
                unended.append(active)
        messages = {
            id(active): f"Gave up waiting after {format_duration(active.timeout)} (the timeout); "
            f"the last status was {active.last_status or 'unknown'}."
            for active in unended
        }
        if not self.settings.cancel_on_timeout:
            for active in unended:
                self._done(active)
                active.result.elapsed_seconds = self.clock.now() - active.triggered_at
                left = f" The run was left running (cancel-on-timeout is false): {active.result.run_url}"
                self._finish(active.result, Status.TIMED_OUT, messages[id(active)] + left)
            return
        for active, (note, ended) in zip(unended, self._cancel_many(unended), strict=True):
            self._end_cancelled(active, Status.TIMED_OUT, f"{messages[id(active)]} {note}", ended)

    def _stop_all(self, status: Status, message: str | None, skip_reason: str | None = None) -> None:
        """Cancel (or time out) every run in flight, then the starts a cancel cut short; skip the rest.

        `skip_reason` says why the steps not started are skipped, where `message` (said of the runs
        cancelled) would not fit them.

        Runs leave `_active` only as each is handled, so if anything fails midway, the runs
        not yet handled are still there for the rescue in `run`.
        """
        actives = list(self._active)
        if status == Status.TIMED_OUT:
            self._time_out(actives)
        else:
            for active, (note, ended) in zip(actives, self._cancel_many(actives), strict=True):
                self._end_cancelled(active, status, f"{message} {note}", ended)
        while self._cut_short:
            self._start_cut_short(*self._cut_short.pop(0))
        # Steps not started: a cancelled action cancels them too; otherwise they are skipped.
        unstarted = Status.CANCELLED if self.cancel.requested else Status.SKIPPED
        for spec in self._steps:
            result = self.results[spec.name]
            if not result.finished and result.started_at is None:
                busy = self._busy.get(spec.name)
                if busy is not None and status == Status.TIMED_OUT:
                    self._finish(result, Status.NOT_STARTED, f"Hex did not start the run before the timeout. {busy}")
                    continue
                reason = (
                    skip_reason
                    if skip_reason and unstarted == Status.SKIPPED
                    else f"Not started: {message[0].lower()}{message[1:]}"
                    if message
                    else "Not started: the timeout ran out first."
                )
                self._finish(result, unstarted, reason)

    def _end_cancelled(self, active: _Active, status: str, message: str, ended: RunState | None) -> None:
        """Finish a run the action cancelled, or, when it had already ended, as it ended."""
        self._done(active)
        active.result.elapsed_seconds = self.clock.now() - active.triggered_at
        if ended is not None:
            self._apply(active, ended)
            return
        self._finish(active.result, status, message)

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

    def _last_look(self, active: _Active) -> RunState | None:
        """One status read, if the read budget allows one now; None when it does not or fails."""
        return last_look(self.client, self.clock, active.to_cancel())

    def _cancel_many(self, actives: list[_Active]) -> list[tuple[str, RunState | None]]:
        """Cancel runs at Hex, all at once; per run a note on how that went, and its end if it had ended."""
        return cancel_many(self.client, self.clock, [a.to_cancel() for a in actives])
