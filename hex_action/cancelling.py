"""Cancelling runs at Hex: several at once, each with a note on how that went.

Hex refuses to cancel a run that has already ended; one last status read then tells how it
ended, which is the step's true outcome rather than "cancelled".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hex_action.client import HexClient, RunState
from hex_action.clock import Clock
from hex_action.errors import HexApiError
from hex_action.lag import LAG_RETRY_EVERY, LAG_STATUSES
from hex_action.status import is_terminal

#: Longest time one cancel (or the read just before it) may take.
CANCEL_WITHIN = 5.0
#: Most cancels sent at once (Hex allows 25 runs at once per user).
CANCEL_WORKERS = 25


@dataclass(frozen=True)
class RunToCancel:
    """A run the action started, as the cancel needs it."""

    project_id: str
    run_id: str
    run_url: str | None
    #: False while the run's first read (the project's history) is still to come: no status read then.
    readable: bool = True
    #: Created by the action and never read: a 404/403 on the cancel may be Hex's read-after-write
    #: lag (`lag`), so it is tried again within CANCEL_WITHIN (a DELETE of a run Hex does not know is harmless).
    fresh: bool = False


def last_look(client: HexClient, clock: Clock, run: RunToCancel) -> RunState | None:
    """One status read, if the read budget allows one now; None when it does not or fails."""
    now = clock.now()
    if not run.readable or client.reads.next_allowed(now) > now:
        return None
    try:
        return client.get_run(run.project_id, run.run_id, deadline=now + CANCEL_WITHIN, interruptible=False)
    except HexApiError:
        return None


def ended_instead(client: HexClient, clock: Clock, run: RunToCancel, refusal: HexApiError) -> RunState | None:
    """The run's end, when a refused cancel was Hex saying the run had already ended.

    Hex answers a cancel of an ended run with a 4xx; one last status read tells whether that
    was it (a 5xx or a network error says nothing about the run, so no read is spent then).
    """
    if not refusal.status_code or refusal.status_code >= 500:
        return None
    state = last_look(client, clock, run)
    return state if state is not None and is_terminal(state.status) else None


def cancel_many(client: HexClient, clock: Clock, runs: Sequence[RunToCancel]) -> list[tuple[str, RunState | None]]:
    """Cancel runs at Hex, all at once; per run a note on how that went, and its end if it had ended."""

    def cancel(run: RunToCancel) -> tuple[str, RunState | None]:
        give_up_at = clock.now() + CANCEL_WITHIN
        tries = 0
        while True:
            tries += 1
            try:
                client.cancel_run(run.project_id, run.run_id, within=max(1.0, give_up_at - clock.now()))
            except HexApiError as exc:
                if run.fresh and exc.status_code in LAG_STATUSES and clock.now() + LAG_RETRY_EVERY <= give_up_at:
                    clock.sleep(LAG_RETRY_EVERY)  # Hex may not know the run yet
                    continue
                state = ended_instead(client, clock, run, exc)
                if state is not None:  # that end is the outcome
                    return f"The run had already ended {state.status}.", state
                after = f" after {tries} tries" if tries > 1 else ""
                return (
                    f"Cancelling the run failed{after}, so it may still be running: {run.run_url} ({exc.detail})",
                    None,
                )
            except Exception as exc:
                return f"Cancelling the run failed ({type(exc).__name__}): {run.run_url}", None
            return "The run was cancelled.", None

    if len(runs) <= 1:
        return [cancel(r) for r in runs]
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - only for pipelines

    with ThreadPoolExecutor(max_workers=min(CANCEL_WORKERS, len(runs))) as pool:
        return list(pool.map(cancel, runs))
