"""Signals at the edges of the process's life, found by the chaos soak: during start-up and at exit."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from hex_action.held_signals import hold_early_signals, ignore_signals
from hex_action.signals import CancelSignal


@pytest.fixture(autouse=True)
def restore_handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    wakeup = signal.set_wakeup_fd(-1)
    yield
    signal.set_wakeup_fd(wakeup)
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_cancel_during_start_up_is_held_then_honoured() -> None:
    hold_early_signals()
    os.kill(os.getpid(), signal.SIGTERM)  # before the action has its handlers: no death, no traceback
    cancel = CancelSignal()
    assert not cancel.requested
    cancel.install()
    assert cancel.requested
    assert cancel.signal_name == "SIGTERM"
    assert cancel.event.is_set()


def test_after_the_action_is_done_signals_are_ignored() -> None:
    ignore_signals()
    os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
