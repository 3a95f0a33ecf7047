"""The Hex API client: one session, timeouts on every call, a retry policy per kind of call.

Retries are done here rather than by `urllib3.Retry` because they must share the
process-wide rate limiters, honour a deadline and a cancel signal, and run on an
injectable clock so tests never sleep. The policy:

* status and list reads (GET) and cancels (DELETE) are retried on 429 (after
  `Retry-After`), 5xx, timeouts and connection errors, with jittered exponential backoff
  (also for a 429 that names no time) and a bounded number of attempts;
* the POST that starts a run is retried only where Hex cannot have created a run: 429
  and 503 (no kernel free: "no run is created"), until the deadline, as kernels free up
  when other runs end; and connections that failed before the request was sent, a bounded
  number of times. Never after a 500 or a read timeout: that could start a second run.

Redirects are never followed: requests would drop the token on the way to another host (a bare
401 follows) and turn a redirected POST into a GET; the error names the redirect and the fix.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from hex_action import __version__
from hex_action.clock import Clock
from hex_action.errors import HexApiError, Interrupted
from hex_action.hex_errors import HINTS, api_error, connection_error, redirect_error
from hex_action.ratelimit import RateLimiter, run_start_limiter, status_read_limiter
from hex_action.secrets import redact

USER_AGENT = f"hex-action/{__version__}"
#: (connect, read) seconds. A status read answers fast; a run start may take longer.
READ_TIMEOUT = (5.0, 20.0)
START_TIMEOUT = (5.0, 60.0)
CANCEL_TIMEOUT = (2.0, 5.0)
#: Without a deadline, how long a run start keeps retrying 429 and 503 (no kernel free).
START_BUSY_WAIT = 600.0
#: The longest backoff between two retries, before jitter.
MAX_BACKOFF = 30.0
#: The longest backoff between two starts refused for want of a kernel (503): at most about 40
#: retries an hour, leaving part of the token's 60 starts an hour to other steps.
START_BUSY_BACKOFF = 120.0
#: Asks GetRunStatus for `stateEvents` too (hex-api.md: GetRunStatus).
_EXPANDED_STATS = {"enable-expanded-stats": "true"}


@dataclass(frozen=True)
class RunHandle:
    """What Hex returns when it starts a run."""

    project_id: str
    run_id: str
    run_url: str
    trace_id: str | None
    project_version: str | None


@dataclass(frozen=True)
class RunState:
    """One status read of a run. `status` is Hex's text, which may be a value we do not know."""

    run_id: str
    status: str
    run_url: str | None
    elapsed_ms: float | None
    start_time: str | None
    end_time: str | None
    trace_id: str | None
    project_version: str | None
    #: Hex's own timestamps of the run's status changes (`stateEvents`, asked for with the
    #: `enable-expanded-stats` header), as (status, epoch seconds) in time order; empty when absent.
    state_events: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class ProjectInfo:
    """What GetProject tells about a project before it is run."""

    project_id: str
    title: str | None
    #: `lastPublishedAt` is set: RunProject runs the latest published version, so there must be one.
    published: bool
    archived: bool
    trashed: bool


@dataclass(frozen=True)
class RetryWait:
    """A retry about to wait: what Hex said (or what failed), for how long, and until when."""

    kind: str
    reason: str
    seconds: float
    #: Wall-clock time of the next attempt (epoch seconds).
    until: float


@dataclass(frozen=True)
class _Policy:
    """When to retry one kind of call."""

    attempts: int
    statuses: frozenset[int]
    retry_unsent_only: bool  # connection errors: only those that prove nothing was sent
    #: Of `statuses`, those retried until the deadline rather than `attempts` times (`attempts`
    #: bounds them when there is no deadline).
    until_deadline: frozenset[int] = frozenset()
    #: The longest backoff between two attempts, before jitter.
    backoff_cap: float = MAX_BACKOFF


_READ = _Policy(6, frozenset({429, 500, 502, 503, 504}), retry_unsent_only=False)
# A 503 on a start means all of the user's kernels are busy; one frees up when a run ends,
# which may take minutes: waiting is what the user wants, within the action's timeout.
# A start waiting for a free kernel backs off further: each retry spends one of the token's 60
# starts an hour, which the other steps of a pipeline need too.
_START = _Policy(
    5,
    frozenset({429, 503}),
    retry_unsent_only=True,
    until_deadline=frozenset({429, 503}),
    backoff_cap=START_BUSY_BACKOFF,
)
# A cancel is tried again quickly until its time is up (`within`, a few seconds): a run left
# behind burns a kernel, and the runner allows 7.5 s between its SIGINT and its SIGTERM.
_CANCEL = _Policy(10, frozenset({429, 500, 502, 503, 504}), retry_unsent_only=False, backoff_cap=1.0)


class HexClient:
    """Hex's run endpoints (current plural paths) and GetProject on one `requests.Session`."""

    def __init__(
        self,
        api_base_url: str,
        token: str,
        clock: Clock,
        *,
        wake: threading.Event | None = None,
        reads: RateLimiter | None = None,
        starts: RateLimiter | None = None,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._base = api_base_url.rstrip("/")
        self._token = token
        self._clock = clock
        self._wake = wake
        self.reads = reads or status_read_limiter()
        self.starts = starts or run_start_limiter()
        self._rng = rng or random.Random()
        self._session = session or requests.Session()
        self._session.headers.update(
            {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT, "Accept": "application/json"}
        )
        #: The traceId of Hex's latest response, for the `trace-id` output.
        self.last_trace_id: str | None = None
        #: Requests sent, by kind, for the benchmark and the notes.
        self.counts: dict[str, int] = {"start": 0, "status": 0, "list": 0, "cancel": 0, "project": 0}
        #: Told each time a retry starts waiting, so a long wait never looks like a hang.
        self.on_retry: Callable[[RetryWait], None] | None = None

    def redact(self, text: str) -> str:
        """`text` with the token replaced, for anything that may reach a log."""
        return redact(text, (self._token,))

    def trigger_run(self, project_id: str, body: Mapping[str, Any], *, deadline: float | None = None) -> RunHandle:
        """Start a run of the project's published version (RunProject).

        429 and 503 answers are retried until `deadline` (START_BUSY_WAIT from now without one).
        """
        if deadline is None:
            deadline = self._clock.now() + START_BUSY_WAIT
        data = self._call(
            "POST", f"/projects/{project_id}/runs", "start", _START, START_TIMEOUT, deadline, json_body=body
        )
        run_id = data.get("runId")
        if not isinstance(run_id, str) or not run_id:
            error = HexApiError("Hex accepted the run but its answer has no runId.", trace_id=self.last_trace_id)
            error.maybe_started = True  # a 2xx: Hex may well have started it
            raise error
        return RunHandle(
            project_id=str(data.get("projectId") or project_id),
            run_id=run_id,
            run_url=str(data.get("runUrl") or ""),
            trace_id=_text(data.get("traceId")),
            project_version=_text(data.get("projectVersion")),
        )

    def get_run(
        self, project_id: str, run_id: str, *, deadline: float | None = None, interruptible: bool = True
    ) -> RunState:
        """Read a run's status (GetRunStatus). `interruptible=False` while cancelling: a cancel must not stop it.

        Asks for the expanded stats, whose `stateEvents` give the timeline Hex itself recorded.
        """
        data = self._call(
            "GET",
            f"/projects/{project_id}/runs/{run_id}",
            "status",
            _READ,
            READ_TIMEOUT,
            deadline,
            interruptible=interruptible,
            headers=_EXPANDED_STATS,
        )
        return _run_state(data, run_id)

    def get_project(self, project_id: str, *, deadline: float | None = None) -> ProjectInfo:
        """Read a project's title and publish state (GetProject), from the status reads' budget."""
        params = {"includeSharing": "false"}
        data = self._call("GET", f"/projects/{project_id}", "project", _READ, READ_TIMEOUT, deadline, params=params)
        title = data.get("title")
        return ProjectInfo(
            project_id=project_id,
            title=title.strip() or None if isinstance(title, str) else None,
            published=bool(data.get("lastPublishedAt")),
            archived=bool(data.get("archivedAt")),
            trashed=bool(data.get("trashedAt")),
        )

    def list_runs(
        self,
        project_id: str,
        *,
        status: str | None = "COMPLETED",
        limit: int = 10,
        deadline: float | None = None,
        interruptible: bool = True,
    ) -> list[RunState]:
        """The project's recent API-triggered runs with `status` (None: any), newest first (GetProjectRuns)."""
        params = {"limit": str(limit), "runTriggerFilter": "API"}
        if status is not None:
            params["statusFilter"] = status
        data = self._call(
            "GET",
            f"/projects/{project_id}/runs",
            "list",
            _READ,
            READ_TIMEOUT,
            deadline,
            params=params,
            interruptible=interruptible,
        )
        runs = data.get("runs")
        if not isinstance(runs, list):
            return []
        return [_run_state(run, str(run.get("runId", ""))) for run in runs if isinstance(run, dict)]

    def cancel_run(self, project_id: str, run_id: str, *, within: float = 10.0) -> None:
        """Cancel a run (CancelRun), giving up after `within` seconds. Not interruptible."""
        deadline = self._clock.now() + within
        self._call(
            "DELETE",
            f"/projects/{project_id}/runs/{run_id}",
            "cancel",
            _CANCEL,
            CANCEL_TIMEOUT,
            deadline,
            interruptible=False,
        )

    # -- internals ------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        kind: str,
        policy: _Policy,
        timeout: tuple[float, float],
        deadline: float | None,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        interruptible: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        limiter = self.starts if kind == "start" else self.reads if kind in ("status", "list", "project") else None
        url = self._base + path
        failures = 0  # failed attempts that count against policy.attempts
        for attempt in itertools.count(1):
            if limiter is not None:
                self._pause_until(limiter.next_allowed(self._clock.now()), deadline, interruptible, kind)
                limiter.record(self._clock.now())
            self.counts[kind] += 1
            retry_after: float | None = None
            try:
                # A run start keeps its full read timeout: cutting it short would leave us not
                # knowing whether Hex created the run.
                bounded = timeout if kind == "start" else self._bounded_timeout(timeout, deadline)
                response = self._session.request(
                    method,
                    url,
                    json=json_body,
                    params=params,
                    headers=headers,
                    timeout=bounded,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                failures += 1
                if not _may_retry_exception(exc, policy) or failures >= policy.attempts:
                    error = connection_error(self._base, method, exc, self.redact)
                    error.maybe_started = kind == "start" and not _unsent(exc)
                    raise error from None
            else:
                self._note_trace(response)
                if response.is_redirect:
                    raise redirect_error(response, self._base, self.redact)
                if response.ok:
                    try:
                        return _json_or_empty(response, self.redact)
                    except HexApiError as not_json:
                        # A 2xx that is not Hex's JSON (a proxy's HTML page): for a start, Hex may well
                        # have started the run, so never again; a read or a cancel is tried again.
                        not_json.maybe_started = kind == "start"
                        failures += 1
                        if kind == "start" or failures >= policy.attempts:
                            raise
                        wait = self._backoff(attempt, policy.backoff_cap)
                        if not self._wait_to_retry(kind, not_json.detail, wait, deadline, interruptible):
                            raise
                        continue
                if not (response.status_code in policy.until_deadline and deadline is not None):
                    failures += 1
                if response.status_code not in policy.statuses or failures >= policy.attempts:
                    error = api_error(response, self.redact)
                    # Hex documents that a 503 creates no run; after another 5xx it may have.
                    error.maybe_started = (
                        kind == "start" and response.status_code >= 500 and response.status_code != 503
                    )
                    raise error
                retry_after = _retry_after(response, self._clock.wall())
                last_error = api_error(response, self.redact)
                # Without Retry-After (a 429 that names no time included) the backoff decides: Hex's
                # block lasts at most 60 s, and waiting a whole minute would give up a start whose
                # timeout is shorter after one try.
                wait = retry_after if retry_after is not None else self._backoff(attempt, policy.backoff_cap)
                if response.status_code == 429 and limiter is not None:
                    limiter.pause_until(self._clock.now() + wait)
                if not self._wait_to_retry(kind, last_error.detail, wait, deadline, interruptible):
                    last_error.retry_after = retry_after
                    raise last_error
                continue
            wait = self._backoff(attempt, policy.backoff_cap)
            reason = f"Could not reach Hex at {self._base} for {method}"
            if not self._wait_to_retry(kind, reason, wait, deadline, interruptible):
                raise connection_error(self._base, method, None, self.redact)
        raise AssertionError("unreachable: every attempt returns, raises or retries")  # pragma: no cover

    def _wait_to_retry(self, kind: str, reason: str, wait: float, deadline: float | None, interruptible: bool) -> bool:
        """Wait `wait` s before trying again, telling `on_retry` why; False, without waiting, when
        the next try would come after `deadline`."""
        if deadline is not None and self._clock.now() + wait > deadline:
            return False
        if self.on_retry is not None:
            self.on_retry(RetryWait(kind, reason, wait, self._clock.wall() + wait))
        self._pause(wait, interruptible)
        return True

    def _backoff(self, attempt: int, cap: float = MAX_BACKOFF) -> float:
        # Exponential up to `cap`, with jitter so that parallel jobs do not retry in lockstep.
        base = min(cap, 2.0 ** min(attempt - 1, 16))
        return base / 2 + self._rng.uniform(0, base / 2)

    def _bounded_timeout(self, timeout: tuple[float, float], deadline: float | None) -> tuple[float, float]:
        if deadline is None:
            return timeout
        left = max(0.5, deadline - self._clock.now())
        return (min(timeout[0], left), min(timeout[1], left))

    def _pause(self, seconds: float, interruptible: bool) -> None:
        if not interruptible:
            self._clock.sleep(seconds)
            return
        # Between attempts nothing is on its way to Hex: for a run start, the answers so far
        # said no run was made, so a cancel now leaves none behind (Interrupted.in_request).
        try:
            woken = self._clock.sleep(seconds, self._wake)
        except Interrupted:  # raised by the signal handler during the sleep
            raise Interrupted(in_request=False) from None
        if woken:
            raise Interrupted(in_request=False)

    def _pause_until(self, when: float, deadline: float | None, interruptible: bool, kind: str) -> None:
        now = self._clock.now()
        if when <= now:
            return
        if deadline is not None and when > deadline:
            raise HexApiError(
                f"Hex's rate limit for {kind} requests leaves no room before the deadline.",
                status_code=429,
                hint=HINTS[429],
            )
        self._pause(when - now, interruptible)

    def _note_trace(self, response: requests.Response) -> None:
        try:
            data = response.json()
        except ValueError:
            return
        if isinstance(data, dict) and isinstance(data.get("traceId"), str):
            self.last_trace_id = data["traceId"]


def _may_retry_exception(exc: requests.RequestException, policy: _Policy) -> bool:
    if not isinstance(exc, requests.ConnectionError | requests.Timeout):
        return False
    return _unsent(exc) if policy.retry_unsent_only else True


def _unsent(exc: requests.RequestException) -> bool:
    """Whether the request surely never reached Hex (the connection was never opened)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _retry_after(response: requests.Response, wall_now: float) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - wall_now)
    except (TypeError, ValueError):
        return None


def _json_or_empty(response: requests.Response, redact: Callable[[str], str]) -> dict[str, Any]:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        raise HexApiError(
            f"Hex answered {response.status_code} with a body that is not JSON: {redact(response.text)[:200]!r}"
        ) from None
    return data if isinstance(data, dict) else {}


def _run_state(data: Mapping[str, Any], run_id: str) -> RunState:
    status = data.get("status")
    elapsed = data.get("elapsedTime")
    return RunState(
        run_id=str(data.get("runId") or run_id),
        status=status if isinstance(status, str) else "",
        run_url=_text(data.get("runUrl")),
        elapsed_ms=float(elapsed) if isinstance(elapsed, int | float) and not isinstance(elapsed, bool) else None,
        start_time=_text(data.get("startTime")),
        end_time=_text(data.get("endTime")),
        trace_id=_text(data.get("traceId")),
        project_version=_text(data.get("projectVersion")),
        state_events=_state_events(data.get("stateEvents")),
    )


def _state_events(events: Any) -> tuple[tuple[str, float], ...]:
    """`stateEvents` as (status, epoch seconds), oldest first; events without a readable time are left out."""
    if not isinstance(events, list):
        return ()
    parsed = []
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("value"), str):
            continue
        try:
            when = datetime.fromisoformat(str(event.get("timestamp")))
        except ValueError:
            continue
        if when.tzinfo is None:  # Hex's timestamps are UTC
            continue
        parsed.append((event["value"], when.timestamp()))
    return tuple(sorted(parsed, key=lambda item: item[1]))


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)
