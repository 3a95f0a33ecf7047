"""Run statuses: Hex's own and the ones the action adds, and which of them are final."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Every status the action reports.

    The first six are Hex's `ProjectRunStatus` values. The rest are the action's own:
    TIMED_OUT (the action gave up waiting), CANCELLED (the step was cancelled), DRY_RUN
    (Hex validated a dry run), SKIPPED (a pipeline step whose needs failed), NOT_STARTED
    (no run was started: Hex refused it, or the action failed first; the error says why),
    INVALID_INPUT (the inputs were invalid, so nothing was sent), UNKNOWN (the run's status
    could not be read: no such run, or no access; the error says why).
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    ERRORED = "ERRORED"
    KILLED = "KILLED"
    UNABLE_TO_ALLOCATE_KERNEL = "UNABLE_TO_ALLOCATE_KERNEL"
    TIMED_OUT = "TIMED_OUT"
    CANCELLED = "CANCELLED"
    DRY_RUN = "DRY_RUN"
    SKIPPED = "SKIPPED"
    NOT_STARTED = "NOT_STARTED"
    INVALID_INPUT = "INVALID_INPUT"
    UNKNOWN = "UNKNOWN"


#: Hex statuses after which a run never changes again.
HEX_TERMINAL = frozenset({Status.COMPLETED, Status.ERRORED, Status.KILLED, Status.UNABLE_TO_ALLOCATE_KERNEL})
#: Hex statuses of a run still in progress.
HEX_ACTIVE = frozenset({Status.PENDING, Status.RUNNING})
#: Outcomes that count as success.
SUCCESS = frozenset({Status.COMPLETED, Status.DRY_RUN})


def is_terminal(status: str) -> bool:
    """Whether a status read from Hex is final.

    Only the four known final values count. An unknown value (Hex has added statuses
    before) is treated as still in progress, so the wait goes on, bounded by the timeout,
    rather than reporting an outcome the action does not understand.
    """
    return status in HEX_TERMINAL


def is_known(status: str) -> bool:
    """Whether a status read from Hex is one of the documented values."""
    return status in HEX_TERMINAL or status in HEX_ACTIVE
