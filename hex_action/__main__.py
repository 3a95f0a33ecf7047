"""`python -m hex_action`: the same as `hex-action` and `entrypoint.py`."""

import sys

from hex_action.cli import main

sys.exit(main())
