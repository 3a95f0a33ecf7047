"""Chaos mode: seeded random faults on every endpoint, for the chaos test and the soak (``make soak``).

With a :class:`Chaos` attached to a simulator, each API request meets, with probability ``rate``,
one fault drawn from those real APIs, proxies and networks produce:

* ``429`` with ``Retry-After`` and ``429-bare`` without it;
* ``500``, ``502``, ``503``, ``504``: an error answer, nothing done (Hex's 503 creates no run);
* ``html``: a proxy's HTML page (status 502, or 200) instead of Hex's JSON, nothing done;
* ``reset-before``: the connection is reset before Hex acts;
* ``reset-after``: Hex acts (creates or cancels a run), then the connection is reset unanswered;
* ``slow``: Hex acts, then answers only after a delay that may outlast the client's timeout;
* ``stale``: a status read answered by a replica a few seconds behind, so status changes are seen
  twice or out of order;

and each new run is, with probability ``lag_rate``, ``lag``: unknown (404, sometimes 403) to
status reads, cancels and run lists for up to ``max_lag`` seconds (read-after-write lag).

Decisions come from one ``random.Random(seed)`` in request order, so a seed replays the same
faults for the same sequence of requests. ``injected`` counts the faults applied, by kind.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, replace
from random import Random

from hex_action.simulator.responses import SimResponse, envelope

#: Every kind of fault, in the order the soak prints them.
KINDS = (
    "429",
    "429-bare",
    "500",
    "502",
    "503",
    "504",
    "html",
    "reset-before",
    "reset-after",
    "slow",
    "stale",
    "lag",
)
_HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


@dataclass(frozen=True)
class ChaosFault:
    """One drawn fault: its kind and the numbers it needs."""

    kind: str
    status: int = 0
    retry_after: float | None = None
    delay: float = 0.0
    behind: float = 0.0  # for ``stale``: how far behind the replica is, in seconds

    def early_answer(self) -> SimResponse | None:
        """The answer given instead of Hex's, before it acts; None when Hex acts first."""
        if self.kind == "reset-before":
            return SimResponse(0, {}, b"", reset=True)
        if self.kind == "html":
            return SimResponse(self.status, {"Content-Type": "text/html; charset=utf-8"}, _HTML)
        if self.status:
            response = envelope(self.status, "Too many requests" if self.status == 429 else "Service error")
            if self.retry_after is not None:
                response.headers["Retry-After"] = f"{self.retry_after:g}"
            return response
        return None

    def late_answer(self, response: SimResponse) -> SimResponse:
        """Hex's answer after it acted, as this fault delivers it (reset, or late)."""
        if self.kind == "reset-after":
            return replace(response, reset=True)
        if self.kind == "slow":
            return replace(response, delay_seconds=response.delay_seconds + self.delay)
        return response


class Chaos:
    """Seeded random faults for every request of one simulator (thread-safe)."""

    def __init__(
        self,
        seed: int,
        *,
        rate: float = 0.2,
        lag_rate: float = 0.3,
        max_delay: float = 6.0,
        max_lag: float = 3.0,
    ) -> None:
        if not 0.0 <= rate <= 1.0 or not 0.0 <= lag_rate <= 1.0:
            raise ValueError("chaos rates must be between 0 and 1")
        self.seed = seed
        self.rate = rate
        self.lag_rate = lag_rate
        self.max_delay = max_delay
        self.max_lag = max_lag
        self._rng = Random(seed)
        self._lock = threading.Lock()
        #: Faults applied so far, by kind.
        self.injected: Counter[str] = Counter()

    def draw(self, method: str, run_path: bool) -> ChaosFault | None:
        """The fault for one request, or None. `run_path`: the path names a run (a status read or a cancel)."""
        with self._lock:
            rng = self._rng
            if rng.random() >= self.rate:
                return None
            kinds = [k for k in KINDS if k != "lag" and (k != "stale" or (method == "GET" and run_path))]
            kind = rng.choice(kinds)
            if kind in ("429", "429-bare"):
                retry_after = float(rng.randint(1, 2)) if kind == "429" else None
                return ChaosFault(kind, 429, retry_after=retry_after)
            if kind in ("500", "502", "503", "504"):
                return ChaosFault(kind, int(kind))
            if kind == "html":
                return ChaosFault(kind, rng.choice((200, 502)))
            if kind == "slow":
                return ChaosFault(kind, delay=round(rng.uniform(0.5, self.max_delay), 2))
            if kind == "stale":
                return ChaosFault(kind, behind=round(rng.uniform(0.5, 3.0), 2))
            return ChaosFault(kind)

    def lag(self) -> tuple[float, int] | None:
        """For a new run: how long it stays unknown, and the status it is unknown with; or None."""
        with self._lock:
            if self._rng.random() >= self.lag_rate:
                return None
            return round(self._rng.uniform(0.3, self.max_lag), 2), self._rng.choice((404, 404, 403))

    def count(self, kind: str) -> None:
        """Count one applied fault."""
        with self._lock:
            self.injected[kind] += 1
