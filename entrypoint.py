"""The action's entry point (the container's PID 1): hand over to the package, exit with its code."""

import sys

from hex_action.held_signals import hold_early_signals, ignore_signals

if __name__ == "__main__":
    hold_early_signals()  # before the heavier imports: a cancel during start-up is held, then honoured
    from hex_action.cli import main

    code = main()
    ignore_signals()  # done: a late cancel must not turn the exit code into a death by signal
    sys.exit(code)
