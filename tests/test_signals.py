"""Tests for hex_action.signals: the flag, interruptible blocks, and the lock-free handler."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from hex_action.errors import Interrupted
from hex_action.signals import CancelSignal


@pytest.fixture
def installed() -> Iterator[CancelSignal]:
    """A CancelSignal with real handlers installed; pytest's handlers and wakeup fd restored after."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    wakeup_fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup_fd)
    cancel = CancelSignal()
    cancel.install()
    yield cancel
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    signal.set_wakeup_fd(wakeup_fd)


def test_request_sets_the_flag_and_the_event() -> None:
    cancel = CancelSignal()
    assert not cancel.requested
    cancel.request("test")
    assert cancel.requested
    assert cancel.event.is_set()
    assert cancel.signal_name == "test"


def test_the_handler_takes_no_lock() -> None:
    # Setting the event from the handler could deadlock the main thread inside Event.wait().
    cancel = CancelSignal()
    cancel._handle(signal.SIGTERM, None)
    assert cancel.requested
    assert cancel.signal_name == "SIGTERM"
    assert not cancel.event.is_set(), "the watcher thread sets the event, never the handler"


def test_the_handler_raises_only_inside_an_interruptible_block_and_only_once() -> None:
    cancel = CancelSignal()
    with pytest.raises(Interrupted), cancel.interruptible():
        cancel._handle(signal.SIGINT, None)
    cancel._handle(signal.SIGTERM, None)  # outside: no raise
    assert cancel.signal_name == "SIGINT", "the first signal names the cancel"


def test_a_second_signal_inside_a_block_does_not_raise() -> None:
    cancel = CancelSignal()
    cancel._handle(signal.SIGINT, None)
    cancel._interruptible += 1  # a block entered before the flag was seen
    cancel._handle(signal.SIGTERM, None)


def test_an_interruptible_block_refuses_to_start_after_a_cancel() -> None:
    cancel = CancelSignal()
    cancel.request()
    with pytest.raises(Interrupted), cancel.interruptible():
        pytest.fail("the block must not run")


def test_a_real_signal_wakes_a_sleep_that_is_not_interruptible(installed: CancelSignal) -> None:
    # A retry pause waits on the event outside any interruptible block: the watcher thread wakes it.
    threading.Timer(0.05, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
    began = time.monotonic()
    assert installed.event.wait(10.0)
    assert time.monotonic() - began < 5.0
    assert installed.signal_name == "SIGTERM"


def test_a_real_signal_interrupts_a_request_in_flight(installed: CancelSignal) -> None:
    # The watcher thread must not take the handler's "first signal" away from it.
    threading.Timer(0.05, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
    with pytest.raises(Interrupted), installed.interruptible():
        time.sleep(5.0)  # a slow read
    assert installed.signal_name == "SIGTERM"
