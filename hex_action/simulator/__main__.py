"""``python -m hex_action.simulator``: serve the simulator until SIGINT/SIGTERM (see :func:`main`)."""

import sys

from hex_action.simulator.cli import main

sys.exit(main())
