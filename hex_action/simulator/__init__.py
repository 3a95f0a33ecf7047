"""A local fake of Hex's public API for run endpoints (moved from ``hex_action/simulator.py``)."""

from hex_action.simulator.api import (
    RUN_STATUSES,
    TERMINAL_STATUSES,
    Fault,
    HexSimulator,
    SimResponse,
    SimServer,
    main,
    parse_duration,
    serve,
)

__all__ = [
    "RUN_STATUSES",
    "TERMINAL_STATUSES",
    "Fault",
    "HexSimulator",
    "SimResponse",
    "SimServer",
    "main",
    "parse_duration",
    "serve",
]
