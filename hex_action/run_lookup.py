"""Reading a project's recent runs: their durations (history), and runs a lost start may have made."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime

from hex_action.client import HexClient, RunState
from hex_action.clock import Clock
from hex_action.errors import HexApiError, Interrupted
from hex_action.inputs import format_duration
from hex_action.lag import LAG_RETRY_EVERY
from hex_action.planner import FAILED, History, history_of
from hex_action.status import Status

#: How many recent runs a lookup asks for.
LOOKUP_LIMIT = 10
#: How many recent runs the history read asks for (Hex's default page): runs still in flight,
#: this one included, must not crowd out the ended ones.
HISTORY_LIMIT = 25
#: How many of the most recent ended runs make the history.
HISTORY_RUNS = 10
#: Clock difference allowed between this machine and Hex when matching a run's start time.
CLOCK_SKEW = 5.0
CHECK_RUNS = "check the project's runs in Hex."


@dataclass(frozen=True)
class NewRuns:
    """Runs of a project that began after a start request whose answer never arrived.

    Hex has no idempotency key, so such a start is never retried (that could start a
    second run). Exactly one new run is taken as the one it made; none means Hex made
    none; several (another workflow started the same project) cannot be told apart.
    """

    candidates: list[RunState] = field(default_factory=list)
    error: str | None = None
    #: How many times the list was read, and over how many seconds (Hex's list may lag a new run).
    looks: int = 1
    seconds: float = 0.0

    @property
    def only(self) -> RunState | None:
        """The run the lost start made, when exactly one new run can be it."""
        return self.candidates[0] if self.error is None and len(self.candidates) == 1 else None

    def describe(self) -> str:
        """What the lookup found, for a message to the user (when `only` is None)."""
        if self.error is not None:
            return f"Hex may have started the run, and looking for it failed ({self.error}): {CHECK_RUNS}"
        if not self.candidates:
            tried = f" in {self.looks} looks over {format_duration(self.seconds)}" if self.looks > 1 else ""
            return f"No new run appeared among the project's recent API runs{tried}: Hex did not start one."
        return (
            f"Hex may have started the run: {len(self.candidates)} recent runs of the project could be it, "
            f"so none was followed or cancelled: {CHECK_RUNS}"
        )


def find_new_runs(
    client: HexClient,
    project_id: str,
    since: float,
    known: set[str],
    *,
    deadline: float,
    interruptible: bool = True,
) -> NewRuns:
    """The project's API runs, of any status, that began after wall time `since` and are not in `known`.

    With `interruptible`, a cancel meanwhile raises `Interrupted` (the caller then looks again,
    uninterruptibly, as part of cancelling).
    """
    try:
        runs = client.list_runs(
            project_id, status=None, limit=LOOKUP_LIMIT, deadline=deadline, interruptible=interruptible
        )
    except HexApiError as exc:
        return NewRuns(error=exc.detail)
    return NewRuns([r for r in runs if r.run_id not in known and began_after(r, since - CLOCK_SKEW)])


def find_new_runs_patiently(
    client: HexClient,
    clock: Clock,
    project_id: str,
    since: float,
    known: set[str],
    *,
    within: float,
    deadline: float,
    wake: threading.Event | None = None,
) -> NewRuns:
    """`find_new_runs`, looked again every LAG_RETRY_EVERY seconds for up to `within` while it finds none.

    Hex's run list may not show a run it has just made (read-after-write lag), and "no new run"
    ends the step as not started: so an empty answer is only believed once the lag has passed.
    With `wake`, the lookup is interruptible: a cancel raises `Interrupted` (nothing on its way).
    """
    began = clock.now()
    looks = 0
    while True:
        new = find_new_runs(client, project_id, since, known, deadline=deadline, interruptible=wake is not None)
        looks += 1
        now = clock.now()
        # The next look waits for the read budget too: a look it leaves no room for is not taken,
        # rather than failing for want of budget and turning "no new run" into an error.
        next_look = max(now + LAG_RETRY_EVERY, client.reads.next_allowed(now))
        if new.error is not None or new.candidates or next_look > min(began + within, deadline):
            return replace(new, looks=looks, seconds=now - began)
        if clock.sleep(next_look - now, wake):
            raise Interrupted(in_request=False)


def began_after(run: RunState, wall: float) -> bool:
    """Whether a listed run began after `wall`.

    A run still PENDING has no start time yet, so it counts as new: it may also be another
    workflow's run waiting for a kernel, which is why several candidates are left alone. A run
    that never got a kernel (UNABLE_TO_ALLOCATE_KERNEL) has no start time either: it counts as
    new unless it ended before `wall`.
    """
    if run.start_time is None:
        end = parse_time(run.end_time) if run.end_time else None
        return run.status == Status.PENDING or (end is not None and end >= wall)
    start = parse_time(run.start_time)
    return start is not None and start >= wall


def recent_history(runs: list[RunState], exclude: str | None = None) -> History | None:
    """The history of the HISTORY_RUNS most recent ended runs among `runs` (newest first), but `exclude`."""
    ended = [r for r in runs if r.run_id != exclude and r.status in (Status.COMPLETED, *FAILED)]
    return history_of([(r.status, run_duration(r)) for r in ended[:HISTORY_RUNS]])


def run_duration(run: RunState) -> float | None:
    """A completed run's duration in seconds, from elapsedTime or the start and end times."""
    if run.elapsed_ms is not None:
        return run.elapsed_ms / 1000
    if run.start_time and run.end_time:
        start, end = parse_time(run.start_time), parse_time(run.end_time)
        if start is not None and end is not None:
            return end - start
    return None


def parse_time(text: str) -> float | None:
    """Epoch seconds from Hex's ISO-8601 UTC timestamps (`2026-01-01T00:00:00.000Z`)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
