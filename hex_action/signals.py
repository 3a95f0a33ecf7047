"""SIGINT and SIGTERM: the runner's cancel sequence, turned into a flag the wait loop sees.

On cancellation the runner sends SIGINT to `docker run`, then SIGTERM 7.5 s later, then
kills the CLI 2.5 s after that; the CLI forwards both signals to our PID 1, which gets
them only because handlers are installed (shared/github-actions-runtime.md, B4).

The handler itself takes no lock: it sets a plain flag and, inside an `interruptible()`
block (an HTTP request or a sleep of the wait loop), raises `Interrupted`, so a slow
request does not delay the cancel. Waking a sleep that is not interruptible (a retry
pause) is done by a watcher thread: the interpreter writes each signal to a wakeup pipe
at once, and the thread sets the event. (Setting a `threading.Event` from the handler
could deadlock: the handler runs in the main thread, which may hold that event's lock in
`wait()` at that very moment.) A second signal is harmless: it raises nothing.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from hex_action.errors import Interrupted
from hex_action.held_signals import HELD


class CancelSignal:
    """The one cancellation flag of the process."""

    def __init__(self) -> None:
        #: Set once a cancel is requested; sleeps that take it as `wake` return at once.
        self.event = threading.Event()
        self.signal_name: str | None = None
        self._flag = False
        self._interruptible = 0

    @property
    def requested(self) -> bool:
        """Whether a cancel was requested."""
        return self._flag or self.event.is_set()

    def install(self) -> None:
        """Handle SIGINT and SIGTERM (as PID 1 in a container SIGTERM is otherwise ignored)."""
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        signal.set_wakeup_fd(write_end)
        threading.Thread(target=self._watch, args=(read_end,), name="hex-action-signals", daemon=True).start()
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)
        while HELD:  # a cancel held during start-up (`held_signals`) counts from now
            self.request(HELD.pop(0))

    def request(self, name: str = "cancel") -> None:
        """Ask for cancellation from ordinary code (not from a signal handler)."""
        self._note(name)
        self.event.set()

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """A block that a signal may abort with `Interrupted`."""
        if self.requested:
            raise Interrupted(in_request=False)  # nothing was on its way yet
        self._interruptible += 1
        try:
            yield
        finally:
            self._interruptible -= 1

    def _note(self, name: str) -> bool:
        first = not self._flag
        self._flag = True
        if self.signal_name is None:
            self.signal_name = name
        return first

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self._note(signal.Signals(signum).name)
        if first and self._interruptible > 0:
            raise Interrupted

    def _watch(self, read_end: int) -> None:
        """Set the event whenever a signal arrives (runs in its own thread, so no lock is held)."""
        # Only the event: the flag and the name are the handler's, which must see its own signal
        # as the first one to raise `Interrupted` in a request in flight.
        while os.read(read_end, 1):
            self.event.set()
