"""SIGINT and SIGTERM during start-up, before the action's own handlers (`signals.CancelSignal`) exist.

The entry point holds them first thing, importing nothing but `signal`: a cancel during the
imports would otherwise be a KeyboardInterrupt traceback, or SIGTERM's silent death, with no
outputs. `CancelSignal.install` then honours what was held. At the end, `ignore_signals` keeps
a late cancel from turning the exit code into a death by signal.
"""

from __future__ import annotations

import signal
from types import FrameType

#: Names of the signals that arrived before a `CancelSignal` was installed, in order.
HELD: list[str] = []


def hold_early_signals() -> None:
    """Until a `CancelSignal` is installed, remember SIGINT and SIGTERM rather than die of them."""

    def hold(signum: int, frame: FrameType | None) -> None:
        HELD.append(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, hold)
    signal.signal(signal.SIGTERM, hold)


def ignore_signals() -> None:
    """Ignore SIGINT and SIGTERM from now on: the action is done, and has nothing left to stop.

    Python restores the default handlers while it shuts down, so a cancel arriving then would
    kill the process and turn its exit code into a death by signal; an ignored signal stays ignored.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
