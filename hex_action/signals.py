"""SIGINT and SIGTERM: the runner's cancel sequence, turned into a flag the wait loop sees.

On cancellation the runner sends SIGINT to `docker run`, then SIGTERM 7.5 s later, then
kills the CLI 2.5 s after that; the CLI forwards both signals to our PID 1, which gets
them only because handlers are installed (shared/github-actions-runtime.md, B4). The
handler sets an event, which wakes any sleep at once. Inside an `interruptible()` block
(a status read in flight) it also raises `Interrupted`, so a slow read does not delay
the cancel. It never raises elsewhere: not during the POST that starts a run (the run
id it returns is needed to cancel that run), nor during the cancel itself, so a second
signal is harmless.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from hex_action.errors import Interrupted


class CancelSignal:
    """The one cancellation flag of the process."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name: str | None = None
        self._interruptible = 0

    @property
    def requested(self) -> bool:
        """Whether a cancel was requested."""
        return self.event.is_set()

    def install(self) -> None:
        """Handle SIGINT and SIGTERM (as PID 1 in a container SIGTERM is otherwise ignored)."""
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def request(self, name: str = "cancel") -> None:
        """Ask for cancellation (the handler's work, also usable without a signal)."""
        if self.signal_name is None:
            self.signal_name = name
        self.event.set()

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """A block that a signal may abort with `Interrupted`."""
        if self.event.is_set():
            raise Interrupted
        self._interruptible += 1
        try:
            yield
        finally:
            self._interruptible -= 1

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = not self.event.is_set()
        self.request(signal.Signals(signum).name)
        if first and self._interruptible > 0:
            raise Interrupted
