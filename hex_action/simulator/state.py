"""The simulator's stored state: projects, runs, clock-derived run statuses and rate-limit windows.

Nothing here is locked, sends or sleeps: :class:`~hex_action.simulator.core.HexSimulator` holds its
lock around every use of a :class:`SimState`, and every time is a clock value passed in.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Every value of Hex's ``ProjectRunStatus`` enum (identical in all spec editions).
RUN_STATUSES = ("PENDING", "RUNNING", "ERRORED", "COMPLETED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL")
#: Statuses after which a run never changes again.
TERMINAL_STATUSES = frozenset({"ERRORED", "COMPLETED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL"})
RUN_TRIGGERS = ("API", "SCHEDULED", "APP_REFRESH")
#: Statuses a run can end in on its own (KILLED only comes from CancelRun).
FINAL_STATUSES = TERMINAL_STATUSES - {"KILLED"}

MINUTE = 60.0
HOUR = 3600.0
# Seeded history runs are spaced this far apart, most recent one ending this long before "now".
HISTORY_GAP_SECONDS = 60.0


def check_final_status(status: str, *, allow_killed: bool = False) -> None:
    """Raise ValueError unless ``status`` is one a run can end in (KILLED only if allowed)."""
    allowed = FINAL_STATUSES | ({"KILLED"} if allow_killed else set())
    if status not in allowed:
        raise ValueError(f"final status must be one of {sorted(allowed)}, not {status!r}")


@dataclass
class Project:
    """How one project behaves: run durations, final status, and what RunProject accepts."""

    pending_seconds: float
    running_seconds: float
    final_status: str
    published: bool = True
    exists: bool = True
    input_names: frozenset[str] | None = None
    project_version: int = 1
    #: GetProject's `title`; None: a title made from the project id.
    title: str | None = None
    archived: bool = False
    trashed: bool = False


@dataclass
class Run:
    """One stored run; its status is derived from the clock whenever it is read."""

    run_id: str
    project_id: str
    created_at: float
    pending_seconds: float
    running_seconds: float
    final_status: str
    project_version: int
    run_trigger: str = "API"
    input_params: dict[str, Any] | None = None
    body: Any = None
    notifications: list[dict[str, Any]] = field(default_factory=list)
    cancelled_at: float | None = None
    seeded: bool = False
    #: Read-after-write lag (chaos mode): until this clock time, reads, cancels and lists do not
    #: know the run, and answer `lag_status`.
    visible_at: float = 0.0
    lag_status: int = 404

    def visible(self, now: float) -> bool:
        """Whether reads at ``now`` know the run (it is past its read-after-write lag)."""
        return now >= self.visible_at

    def started_at(self, now: float) -> float | None:
        """When the run left PENDING, or None if it has not (yet) started."""
        if self.final_status == "UNABLE_TO_ALLOCATE_KERNEL":
            return None  # never got a kernel, so it never ran
        start = self.created_at + self.pending_seconds
        until = now if self.cancelled_at is None else min(now, self.cancelled_at)
        return start if until >= start else None

    def ended_at(self, now: float) -> float | None:
        """When the run reached a terminal status, or None while it is still active."""
        if self.cancelled_at is not None and self.cancelled_at <= now:
            return self.cancelled_at
        end = self.created_at + self.pending_seconds
        if self.final_status != "UNABLE_TO_ALLOCATE_KERNEL":
            end += self.running_seconds
        return end if now >= end else None

    def status(self, now: float) -> str:
        """The status at clock time ``now`` (derived, never stored)."""
        if self.ended_at(now) is not None:
            return "KILLED" if self.cancelled_at is not None else self.final_status
        return "RUNNING" if self.started_at(now) is not None else "PENDING"


class Window:
    """A fixed rate-limit window: Hex blocks "until the rate limit is reset, 60 seconds after the
    first request", so the window starts at the first request, not on a rolling basis."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.started_at: float | None = None
        self.count = 0

    def retry_after(self, now: float) -> float | None:
        """Seconds until a request would be allowed, or None if it is allowed now."""
        if self.started_at is None or now >= self.started_at + self.seconds:
            return None
        if self.count < self.limit:
            return None
        return self.started_at + self.seconds - now

    def record(self, now: float) -> None:
        """Count one request at ``now``, opening a new window if the last one has expired."""
        if self.started_at is None or now >= self.started_at + self.seconds:
            self.started_at = now
            self.count = 0
        self.count += 1


class SimState:
    """Projects, runs and per-token rate-limit windows of one simulator (not thread-safe).

    ``defaults`` is the behaviour of any project not configured; ``read_limit`` is the reads per
    minute and ``run_limits`` the run starts per minute and per hour, each per token.
    """

    def __init__(self, defaults: Project, read_limit: int, run_limits: tuple[int, int]) -> None:
        self.defaults = defaults
        self.read_limit = read_limit
        self.run_limits = run_limits
        self.projects: dict[str, Project] = {}
        self.runs: dict[str, Run] = {}
        self.read_windows: dict[str, Window] = {}
        self.start_windows: dict[str, tuple[Window, Window]] = {}

    def clear(self) -> None:
        """Forget projects, runs and rate-limit counters (the defaults and limits stay)."""
        self.projects.clear()
        self.runs.clear()
        self.read_windows.clear()
        self.start_windows.clear()

    def project(self, project_id: str) -> Project:
        """The configured behaviour of ``project_id``, else the defaults."""
        return self.projects.get(project_id, self.defaults)

    def find_run(self, project_id: str, run_id: str) -> Run | None:
        """The run ``run_id`` if it belongs to ``project_id`` and that project exists, else None."""
        run = self.runs.get(run_id)
        if run is None or run.project_id != project_id or not self.project(project_id).exists:
            return None
        return run

    def active_runs(self, now: float) -> int:
        """How many runs hold a kernel (are not terminal) at ``now``."""
        return sum(1 for run in self.runs.values() if run.status(now) not in TERMINAL_STATUSES)

    def read_wait(self, token: str, now: float) -> float | None:
        """Count a read by ``token`` and return None, or the seconds to wait if it is over the limit."""
        window = self.read_windows.setdefault(token, Window(self.read_limit, MINUTE))
        wait = window.retry_after(now)
        if wait is None:
            window.record(now)
        return wait

    def start_wait(self, token: str, now: float) -> float | None:
        """Count a run start by ``token`` and return None, or the seconds to wait if over a limit."""
        per_minute, per_hour = self.run_limits
        windows = self.start_windows.setdefault(token, (Window(per_minute, MINUTE), Window(per_hour, HOUR)))
        waits = [w for w in (window.retry_after(now) for window in windows) if w is not None]
        if waits:
            return max(waits)
        for window in windows:
            window.record(now)
        return None

    def seed_history(
        self, project_id: str, project: Project, history: Sequence[float | Mapping[str, Any]], now: float
    ) -> None:
        """Replace the seeded past runs of ``project_id`` (see ``HexSimulator.configure_project``)."""
        for run_id in [r.run_id for r in self.runs.values() if r.seeded and r.project_id == project_id]:
            del self.runs[run_id]
        end = now - HISTORY_GAP_SECONDS
        for item in history:
            spec: Mapping[str, Any] = item if isinstance(item, Mapping) else {"durationSeconds": item}
            duration = float(spec["durationSeconds"])
            status = str(spec.get("status", "COMPLETED"))
            trigger = str(spec.get("runTrigger", "API"))
            check_final_status(status, allow_killed=True)
            if trigger not in RUN_TRIGGERS:
                raise ValueError(f"unknown runTrigger {trigger!r}")
            # A run that never got a kernel spent its whole life PENDING.
            never_ran = status == "UNABLE_TO_ALLOCATE_KERNEL"
            run = Run(
                run_id=str(uuid.uuid4()),
                project_id=project_id,
                created_at=end - duration,
                pending_seconds=duration if never_ran else 0.0,
                running_seconds=0.0 if never_ran else duration,
                final_status="COMPLETED" if status == "KILLED" else status,
                project_version=project.project_version,
                run_trigger=trigger,
                seeded=True,
            )
            if status == "KILLED":
                run.cancelled_at = end
            self.runs[run.run_id] = run
            end = run.created_at - HISTORY_GAP_SECONDS
