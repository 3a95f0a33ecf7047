"""A local fake of Hex's public API for run endpoints, for tests, demos and benchmarks.

The simulator models what the action relies on (see ``hex-api.md`` in the shared notes):

* ``POST /api/v1/projects/{projectId}/runs`` (RunProject), ``GET …/runs/{runId}`` (GetRunStatus),
  ``DELETE …/runs/{runId}`` (CancelRun) and ``GET …/runs`` (GetProjectRuns), current plural paths only;
* Bearer token auth, Hex's error body shapes, its rate limits (30 reads/min, 20 run starts/min and
  60/hour, HTTP 429 with ``Retry-After``) and the 25-kernel limit (HTTP 503, no run created);
* scripted faults (any status, ``Retry-After``, a body echoing the token, a delay) and per-project
  behaviour (durations, final status, unpublished, missing, known input names, past runs).

:class:`HexSimulator` is the pure core: no sockets, no threads, time read from an injectable clock,
so a run's status is derived from the clock whenever it is read. :func:`serve` wraps it in a
``ThreadingHTTPServer`` on 127.0.0.1 and adds unauthenticated admin endpoints under ``/_sim/``.
``python -m hex_action.simulator`` runs it as a process (see :func:`main`).

Only the standard library is used, so the simulator runs wherever the package does.

Modules: ``core`` (:class:`HexSimulator`: configuration, faults, request log, locking), ``api``
(routing and the endpoints' answers), ``validation`` (request bodies and query parameters),
``state`` (projects, runs, clock-derived statuses, rate-limit windows), ``responses``
(:class:`SimResponse` and Hex's error shapes), ``faults`` (:class:`Fault`), ``server`` (HTTP layer
and admin endpoints) and ``cli`` (:func:`main`). Import from this package, not from the modules.
"""

from hex_action.simulator.chaos import KINDS as CHAOS_KINDS
from hex_action.simulator.chaos import Chaos
from hex_action.simulator.cli import main, parse_duration
from hex_action.simulator.core import HexSimulator
from hex_action.simulator.faults import Fault
from hex_action.simulator.responses import SimResponse
from hex_action.simulator.server import SimServer, serve
from hex_action.simulator.state import RUN_STATUSES, TERMINAL_STATUSES

__all__ = [
    "CHAOS_KINDS",
    "RUN_STATUSES",
    "TERMINAL_STATUSES",
    "Chaos",
    "Fault",
    "HexSimulator",
    "SimResponse",
    "SimServer",
    "main",
    "parse_duration",
    "serve",
]
