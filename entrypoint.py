"""The action's entry point (the container's PID 1): hand over to the package, exit with its code."""

import sys

from hex_action.cli import main

if __name__ == "__main__":
    sys.exit(main())
