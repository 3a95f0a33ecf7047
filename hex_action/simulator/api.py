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
"""

from __future__ import annotations

import argparse
import http
import ipaddress
import json
import math
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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

#: Every value of Hex's ``ProjectRunStatus`` enum (identical in all spec editions).
RUN_STATUSES = ("PENDING", "RUNNING", "ERRORED", "COMPLETED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL")
#: Statuses after which a run never changes again.
TERMINAL_STATUSES = frozenset({"ERRORED", "COMPLETED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL"})
_RUN_TRIGGERS = ("API", "SCHEDULED", "APP_REFRESH")
_FINAL_STATUSES = TERMINAL_STATUSES - {"KILLED"}

_API_PREFIX = "/api/v1"
_RUNS_PATH = re.compile(r"^/api/v1/projects/(?P<project>[^/]+)/runs(?:/(?P<run>[^/]+))?/?$")
_ADMIN_PROJECT_PATH = re.compile(r"^/_sim/projects/(?P<project>[^/]+)/?$")

# RunProjectRequestBody fields and their JSON types. The 2026-08 spec declares the body with
# additionalProperties: false, so unknown keys are answered with 400 (this catches typos in a client).
_BODY_FIELDS: dict[str, type] = {
    "inputParams": dict,
    "dryRun": bool,
    "updateCache": bool,  # deprecated but still accepted by Hex
    "updatePublishedResults": bool,
    "useCachedSqlResults": bool,
    "viewId": str,
    "notifications": list,
}
_NOTIFICATION_TYPES = ("SUCCESS", "FAILURE", "ALL")

# Error `code` values of the newer `{message, code, issues}` envelope (hex-openapi-latest.json).
_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    422: "UNPROCESSABLE_CONTENT",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}

_MINUTE = 60.0
_HOUR = 3600.0
# Seeded history runs are spaced this far apart, most recent one ending this long before "now".
_HISTORY_GAP_SECONDS = 60.0


@dataclass(frozen=True)
class SimResponse:
    """One answer of the simulator: HTTP status, headers and raw body.

    ``delay_seconds`` is only honoured by the HTTP layer (it sleeps before answering); the pure core
    never sleeps.
    """

    status: int
    headers: dict[str, str]
    body: bytes
    delay_seconds: float = 0.0

    def json(self) -> Any:
        """Return the body parsed as JSON (raises ``ValueError`` if it is not JSON)."""
        return json.loads(self.body)


@dataclass
class Fault:
    """A scripted answer that replaces normal handling for matching requests.

    Faults are tried in the order they were added, before authentication; a fault matches when
    ``method`` equals the request method (``"*"`` matches any) and ``path_regex`` is found in the
    request path (``re.search``, query string excluded). Each fault answers ``count`` requests and is
    then dropped.

    ``status`` is the HTTP status to answer with; ``None`` means "handle the request normally" and
    only applies ``delay_seconds`` (e.g. a slow RunProject that still creates the run).
    ``body`` is sent as is when it is a string (``application/json`` if it parses as JSON, else
    ``text/plain``) or JSON-encoded otherwise; ``None`` gives Hex's error envelope for the status.
    The placeholder ``{token}`` in the body is replaced by the bearer token the client sent, so tests
    can check that a client redacts a token echoed back by the server.
    ``retry_after`` sets a ``Retry-After`` header (seconds). ``delay_seconds`` makes the HTTP server
    wait before answering.
    """

    method: str
    path_regex: str
    status: int | None
    count: int = 1
    retry_after: float | None = None
    body: Any = None
    delay_seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        """Tell whether this fault applies to a request."""
        method_ok = self.method == "*" or self.method.upper() == method.upper()
        return method_ok and re.search(self.path_regex, path) is not None


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    token: str | None
    body: bytes
    now: float


@dataclass
class _Project:
    pending_seconds: float
    running_seconds: float
    final_status: str
    published: bool = True
    exists: bool = True
    input_names: frozenset[str] | None = None
    project_version: int = 1


@dataclass
class _Run:
    run_id: str
    project_id: str
    created_at: float
    pending_seconds: float
    running_seconds: float
    final_status: str
    project_version: int
    run_trigger: str = "API"
    input_params: dict[str, Any] | None = None
    body: Any = None
    notifications: list[dict[str, Any]] = field(default_factory=list)
    cancelled_at: float | None = None
    seeded: bool = False

    def started_at(self, now: float) -> float | None:
        """When the run left PENDING, or None if it has not (yet) started."""
        if self.final_status == "UNABLE_TO_ALLOCATE_KERNEL":
            return None  # never got a kernel, so it never ran
        start = self.created_at + self.pending_seconds
        until = now if self.cancelled_at is None else min(now, self.cancelled_at)
        return start if until >= start else None

    def ended_at(self, now: float) -> float | None:
        """When the run reached a terminal status, or None while it is still active."""
        if self.cancelled_at is not None and self.cancelled_at <= now:
            return self.cancelled_at
        end = self.created_at + self.pending_seconds
        if self.final_status != "UNABLE_TO_ALLOCATE_KERNEL":
            end += self.running_seconds
        return end if now >= end else None

    def status(self, now: float) -> str:
        """The status at clock time ``now`` (derived, never stored)."""
        if self.ended_at(now) is not None:
            return "KILLED" if self.cancelled_at is not None else self.final_status
        return "RUNNING" if self.started_at(now) is not None else "PENDING"


class _Window:
    """A fixed rate-limit window: Hex blocks "until the rate limit is reset, 60 seconds after the
    first request", so the window starts at the first request, not on a rolling basis."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.started_at: float | None = None
        self.count = 0

    def retry_after(self, now: float) -> float | None:
        """Seconds until a request would be allowed, or None if it is allowed now."""
        if self.started_at is None or now >= self.started_at + self.seconds:
            return None
        if self.count < self.limit:
            return None
        return self.started_at + self.seconds - now

    def record(self, now: float) -> None:
        if self.started_at is None or now >= self.started_at + self.seconds:
            self.started_at = now
            self.count = 0
        self.count += 1


def _iso(seconds: float | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a ``Z``, like Hex's samples (``2022-11-15T23:53:31.554Z``)."""
    if seconds is None:
        return None
    text = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> SimResponse:
    all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return SimResponse(status, all_headers, json.dumps(payload).encode())


def _envelope(status: int, message: str, issues: Sequence[str] = ()) -> SimResponse:
    """The newer error envelope used by RunProject/GetRunStatus/GetProjectRuns in hex-openapi-latest."""
    payload = {
        "message": message,
        "code": _ERROR_CODES.get(status, "ERROR"),
        "issues": [{"message": issue} for issue in issues],
    }
    return _json_response(status, payload)


def _trace_id() -> str:
    return str(uuid.uuid4())


def _tsoa(status: int, reason: str) -> SimResponse:
    """The older tsoa error body ``{reason, traceId}`` (CancelRun and most older endpoints)."""
    return _json_response(status, {"reason": reason, "traceId": _trace_id()})


def _unauthorized() -> SimResponse:
    # Hex answers a bad token with a plain-text body (see Kestra's HexConnectionInterface comment).
    return SimResponse(401, {"Content-Type": "text/plain; charset=utf-8"}, b"Unauthorized")


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g}"


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


class HexSimulator:
    """The simulated Hex API, without any networking.

    ``token`` is the only bearer token accepted. ``clock`` returns wall-clock seconds (epoch float);
    pass a fake clock to drive time by hand. A run is PENDING for ``pending_seconds`` after it is
    created, then RUNNING for ``running_seconds``, then in its final status; CancelRun turns an
    active run KILLED from that moment. Statuses are computed from the clock at read time, so no
    background thread is needed.

    Limits (on by default): ``rate_limits`` enables the 429 answers (reads ``read_limit_per_minute``
    per token, run starts ``run_limit_per_minute`` and ``run_limit_per_hour``); ``max_active_runs``
    (None = unlimited) is the kernel limit above which RunProject answers 503 and creates no run.

    Links in answers (``runUrl``, ``runStatusUrl``, ``nextPage``…) start with ``base_url`` when it is
    given, else with ``http://`` plus the request's Host header (``127.0.0.1`` without one).

    All methods are thread-safe.
    """

    def __init__(
        self,
        token: str,
        clock: Callable[[], float] = time.time,
        *,
        default_pending_seconds: float = 1.0,
        default_running_seconds: float = 3.0,
        default_final_status: str = "COMPLETED",
        rate_limits: bool = True,
        max_active_runs: int | None = 25,
        read_limit_per_minute: int = 30,
        run_limit_per_minute: int = 20,
        run_limit_per_hour: int = 60,
        base_url: str | None = None,
    ) -> None:
        if not token:
            raise ValueError("the simulator needs a non-empty token")
        _check_final_status(default_final_status)
        self.token = token
        self.clock = clock
        self.rate_limits = rate_limits
        self.max_active_runs = max_active_runs
        self._base_url = None if base_url is None else base_url.rstrip("/")
        self._defaults = _Project(default_pending_seconds, default_running_seconds, default_final_status)
        self._read_limit = read_limit_per_minute
        self._run_limits = (run_limit_per_minute, run_limit_per_hour)
        self._lock = threading.Lock()
        self._projects: dict[str, _Project] = {}
        self._runs: dict[str, _Run] = {}
        self._faults: list[Fault] = []
        self._log: list[dict[str, Any]] = []
        self._read_windows: dict[str, _Window] = {}
        self._start_windows: dict[str, tuple[_Window, _Window]] = {}

    # ----------------------------------------------------------------------------- configuration

    def configure_project(
        self,
        project_id: str,
        *,
        pending_seconds: float | None = None,
        running_seconds: float | None = None,
        final_status: str | None = None,
        published: bool = True,
        exists: bool = True,
        input_names: Iterable[str] | None = None,
        history: Sequence[float | Mapping[str, Any]] | None = None,
        project_version: int = 1,
    ) -> None:
        """Set how one project behaves (unset durations/status fall back to the simulator defaults).

        ``published=False`` makes RunProject and GetProjectRuns answer 422; ``exists=False`` makes
        them answer 404. ``input_names`` lists the published app's inputs: other ``inputParams``
        names then give 422 ``InvalidParamPayload`` with them in ``notFound``. ``history`` replaces
        this project's pre-seeded past runs: each item is a duration in seconds (a COMPLETED API run)
        or a mapping with ``durationSeconds`` and optional ``status`` and ``runTrigger``; the first
        item is the most recent run, ended a minute before now.
        """
        project = _Project(
            pending_seconds=self._defaults.pending_seconds if pending_seconds is None else pending_seconds,
            running_seconds=self._defaults.running_seconds if running_seconds is None else running_seconds,
            final_status=self._defaults.final_status if final_status is None else final_status,
            published=published,
            exists=exists,
            input_names=None if input_names is None else frozenset(input_names),
            project_version=project_version,
        )
        _check_final_status(project.final_status)
        with self._lock:
            self._projects[project_id] = project
            if history is not None:
                self._seed_history(project_id, project, history)

    def _seed_history(self, project_id: str, project: _Project, history: Sequence[float | Mapping[str, Any]]) -> None:
        for run_id in [r.run_id for r in self._runs.values() if r.seeded and r.project_id == project_id]:
            del self._runs[run_id]
        end = self.clock() - _HISTORY_GAP_SECONDS
        for item in history:
            spec: Mapping[str, Any] = item if isinstance(item, Mapping) else {"durationSeconds": item}
            duration = float(spec["durationSeconds"])
            status = str(spec.get("status", "COMPLETED"))
            trigger = str(spec.get("runTrigger", "API"))
            _check_final_status(status, allow_killed=True)
            if trigger not in _RUN_TRIGGERS:
                raise ValueError(f"unknown runTrigger {trigger!r}")
            # A run that never got a kernel spent its whole life PENDING.
            never_ran = status == "UNABLE_TO_ALLOCATE_KERNEL"
            run = _Run(
                run_id=str(uuid.uuid4()),
                project_id=project_id,
                created_at=end - duration,
                pending_seconds=duration if never_ran else 0.0,
                running_seconds=0.0 if never_ran else duration,
                final_status="COMPLETED" if status == "KILLED" else status,
                project_version=project.project_version,
                run_trigger=trigger,
                seeded=True,
            )
            if status == "KILLED":
                run.cancelled_at = end
            self._runs[run.run_id] = run
            end = run.created_at - _HISTORY_GAP_SECONDS

    def add_fault(self, *faults: Fault) -> None:
        """Append faults; they are matched in order before normal handling."""
        for fault in faults:
            if fault.count < 1:
                raise ValueError("a fault needs count >= 1")
            re.compile(fault.path_regex)  # fail here, not on the first request
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        """Forget runs, faults, project configuration, rate-limit counters and the request log."""
        with self._lock:
            self._projects.clear()
            self._runs.clear()
            self._faults.clear()
            self._log.clear()
            self._read_windows.clear()
            self._start_windows.clear()

    # ------------------------------------------------------------------------------- inspection

    def requests_log(self) -> list[dict[str, Any]]:
        """A copy of the API request log (admin calls excluded).

        Each entry: ``time`` (clock value), ``method``, ``path``, ``query`` (dict of lists),
        ``headers`` (lower-cased names, *without* Authorization), ``authorized``, ``status``,
        ``body`` (the request body parsed as JSON, or None).
        """
        with self._lock:
            return json.loads(json.dumps(self._log))  # type: ignore[no-any-return]

    def runs(self) -> list[dict[str, Any]]:
        """Every stored run (oldest first) with its current status and clock timestamps."""
        with self._lock:
            now = self.clock()
            return [
                {
                    "runId": run.run_id,
                    "projectId": run.project_id,
                    "status": run.status(now),
                    "runTrigger": run.run_trigger,
                    "createdAt": run.created_at,
                    "startedAt": run.started_at(now),
                    "endedAt": run.ended_at(now),
                    "cancelledAt": run.cancelled_at,
                    "inputParams": run.input_params,
                    "body": run.body,
                    "seeded": run.seeded,
                }
                for run in sorted(self._runs.values(), key=lambda r: r.created_at)
            ]

    # --------------------------------------------------------------------------------- handling

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]] | str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> SimResponse:
        """Answer one API request (``path`` starts with ``/api/v1``; query given parsed or raw)."""
        method = method.upper()
        if "?" in path:
            path, _, raw = path.partition("?")
            query = query or raw
        params = parse_qs(query, keep_blank_values=True) if isinstance(query, str) else dict(query)
        lower_headers = {k.lower(): v for k, v in headers.items()}
        token = _bearer_token(lower_headers.get("authorization", ""))
        with self._lock:
            now = self.clock()
            request = _Request(method, path, params, lower_headers, token, body, now)
            response = self._respond(request)
            self._log.append(
                {
                    "time": now,
                    "method": method,
                    "path": path,
                    "query": {k: list(v) for k, v in params.items()},
                    "headers": {k: v for k, v in lower_headers.items() if k != "authorization"},
                    "authorized": token == self.token,
                    "status": response.status,
                    "body": _parse_json(body),
                }
            )
        return response

    def _respond(self, request: _Request) -> SimResponse:
        delay = 0.0
        for fault in self._faults:
            if fault.matches(request.method, request.path):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                if fault.status is not None:
                    return _fault_response(fault, request.token)
                delay = fault.delay_seconds
                break
        response = self._route(request)
        if delay:
            response = SimResponse(response.status, response.headers, response.body, delay)
        return response

    def _route(self, request: _Request) -> SimResponse:
        method, path, headers, token, now = (
            request.method,
            request.path,
            request.headers,
            request.token,
            request.now,
        )
        if token is None or token != self.token:
            return _unauthorized()
        match = _RUNS_PATH.match(path)
        if match is None:
            return _envelope(404, "Not found", [f"No route for {method} {path}"])
        project_id, run_id = match["project"], match["run"]
        base = self._base_url or "http://" + headers.get("host", "127.0.0.1")
        if run_id is None and method == "POST":
            return self._run_project(project_id, request.body, base, token, now)
        if run_id is None and method == "GET":
            return self._project_runs(project_id, request.params, base, token, now)
        if run_id is not None and method == "GET":
            expanded = headers.get("enable-expanded-stats", "").lower() == "true"
            return self._run_status(project_id, run_id, base, token, now, expanded=expanded)
        if run_id is not None and method == "DELETE":
            return self._cancel_run(project_id, run_id, now)
        return _envelope(405, "Method not allowed", [f"{method} is not supported on {path}"])

    def _project(self, project_id: str) -> _Project:
        return self._projects.get(project_id, self._defaults)

    def _read_limited(self, token: str, now: float) -> SimResponse | None:
        if not self.rate_limits:
            return None
        window = self._read_windows.setdefault(token, _Window(self._read_limit, _MINUTE))
        wait = window.retry_after(now)
        if wait is not None:
            return _too_many_requests(wait)
        window.record(now)
        return None

    def _start_limited(self, token: str, now: float) -> SimResponse | None:
        if not self.rate_limits:
            return None
        per_minute, per_hour = self._run_limits
        windows = self._start_windows.setdefault(token, (_Window(per_minute, _MINUTE), _Window(per_hour, _HOUR)))
        waits = [w for w in (window.retry_after(now) for window in windows) if w is not None]
        if waits:
            return _too_many_requests(max(waits))
        for window in windows:
            window.record(now)
        return None

    def _run_project(self, project_id: str, raw: bytes, base: str, token: str, now: float) -> SimResponse:
        limited = self._start_limited(token, now)
        if limited is not None:
            return limited
        project = self._project(project_id)
        if not project.exists:
            return _envelope(404, "Project not found", [f"No project with id {project_id}"])
        body, problems = _parse_run_body(raw)
        if problems:
            return _envelope(400, "Invalid input data", problems)
        if not project.published:
            return _envelope(422, "Unprocessable content", ["Project is not published"])
        input_params = body.get("inputParams")
        if input_params is not None and "viewId" in body:
            return _envelope(422, "Unprocessable content", ["It is invalid to pass in both a viewId and inputParams"])
        if input_params and project.input_names is not None:
            unknown = [name for name in input_params if name not in project.input_names]
            if unknown:
                payload = {"traceId": _trace_id(), "invalid": [], "notFound": unknown}
                return _json_response(422, payload)
        notifications = _notification_recipients(body.get("notifications", []))
        run_id = str(uuid.uuid4())
        if body.get("dryRun", False):
            # A dry run validates the call and answers with a dummy run that is never stored.
            return _json_response(201, self._trigger_payload(project_id, run_id, base, project, notifications))
        if self.max_active_runs is not None:
            active = sum(1 for run in self._runs.values() if run.status(now) not in TERMINAL_STATUSES)
            if active >= self.max_active_runs:
                # Hex: the user already holds the maximum of concurrent kernels; no run is created.
                return _envelope(503, "Service unavailable")
        self._runs[run_id] = _Run(
            run_id=run_id,
            project_id=project_id,
            created_at=now,
            pending_seconds=project.pending_seconds,
            running_seconds=project.running_seconds,
            final_status=project.final_status,
            project_version=project.project_version,
            input_params=input_params,
            body=body,
            notifications=notifications,
        )
        return _json_response(201, self._trigger_payload(project_id, run_id, base, project, notifications))

    @staticmethod
    def _trigger_payload(
        project_id: str, run_id: str, base: str, project: _Project, notifications: list[dict[str, Any]]
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "projectId": project_id,
            "runId": run_id,
            "runUrl": f"{base}/app/{project_id}/runs/{run_id}",
            "runStatusUrl": f"{base}{_API_PREFIX}/projects/{project_id}/runs/{run_id}",
            "traceId": _trace_id(),
            "projectVersion": project.project_version,
        }
        if notifications:
            payload["notifications"] = notifications
        return payload

    def _run_payload(self, run: _Run, base: str, now: float, *, expanded: bool = False) -> dict[str, Any]:
        started, ended = run.started_at(now), run.ended_at(now)
        elapsed: float | None = None
        if started is not None:
            elapsed = round(((ended if ended is not None else now) - started) * 1000.0, 3)
        payload: dict[str, Any] = {
            "projectId": run.project_id,
            "projectVersion": run.project_version,
            "runId": run.run_id,
            "runUrl": f"{base}/app/{run.project_id}/runs/{run.run_id}",
            "status": run.status(now),
            "runTrigger": run.run_trigger,
            "startTime": _iso(started),
            "endTime": _iso(ended),
            "elapsedTime": elapsed,
            "traceId": _trace_id(),
        }
        if run.notifications:
            payload["notifications"] = run.notifications
        if expanded:
            events = [("PENDING", run.created_at), ("RUNNING", started), (payload["status"], ended)]
            payload["stateEvents"] = [
                {"type": "STATUS", "value": value, "timestamp": _iso(at)} for value, at in events if at is not None
            ]
        return payload

    def _find_run(self, project_id: str, run_id: str) -> _Run | None:
        run = self._runs.get(run_id)
        if run is None or run.project_id != project_id or not self._project(project_id).exists:
            return None
        return run

    def _run_status(
        self, project_id: str, run_id: str, base: str, token: str, now: float, *, expanded: bool
    ) -> SimResponse:
        limited = self._read_limited(token, now)
        if limited is not None:
            return limited
        run = self._find_run(project_id, run_id)
        if run is None:
            return _tsoa(404, f"Run {run_id} not found for project {project_id}")
        return _json_response(200, self._run_payload(run, base, now, expanded=expanded))

    def _cancel_run(self, project_id: str, run_id: str, now: float) -> SimResponse:
        run = self._find_run(project_id, run_id)
        if run is None:
            return _tsoa(404, f"Run {run_id} not found for project {project_id}")
        status = run.status(now)
        if status in TERMINAL_STATUSES:
            return _tsoa(422, f"Run {run_id} has already finished with status {status}")
        run.cancelled_at = now
        return SimResponse(204, {}, b"")

    def _project_runs(
        self, project_id: str, params: dict[str, list[str]], base: str, token: str, now: float
    ) -> SimResponse:
        limited = self._read_limited(token, now)
        if limited is not None:
            return limited
        project = self._project(project_id)
        if not project.exists:
            return _envelope(404, "Project not found", [f"No project with id {project_id}"])
        query, problems = _parse_list_query(params)
        if problems:
            return _envelope(400, "Invalid input data", problems)
        if not project.published:
            return _envelope(422, "Unprocessable content", ["Project is not published"])
        status_filter, trigger_filter = query["statusFilter"], query["runTriggerFilter"]
        selected = [
            run
            for run in sorted(self._runs.values(), key=lambda r: r.created_at, reverse=True)
            if run.project_id == project_id
            and (status_filter is None or run.status(now) == status_filter)
            and (trigger_filter in (None, "ALL") or run.run_trigger == trigger_filter)
        ]
        limit, offset = query["limit"], query["offset"]
        page = selected[offset : offset + limit]

        def page_url(new_offset: int) -> str:
            args = {"limit": limit, "offset": new_offset}
            args.update({k: query[k] for k in ("statusFilter", "runTriggerFilter") if query[k] is not None})
            return f"{base}{_API_PREFIX}/projects/{project_id}/runs?{urlencode(args)}"

        payload = {
            "runs": [self._run_payload(run, base, now) for run in page],
            "nextPage": page_url(offset + limit) if offset + limit < len(selected) else None,
            "previousPage": page_url(max(0, offset - limit)) if offset > 0 else None,
            "traceId": _trace_id(),
        }
        return _json_response(200, payload)


def _check_final_status(status: str, *, allow_killed: bool = False) -> None:
    allowed = _FINAL_STATUSES | ({"KILLED"} if allow_killed else set())
    if status not in allowed:
        raise ValueError(f"final status must be one of {sorted(allowed)}, not {status!r}")


def _bearer_token(value: str) -> str | None:
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _too_many_requests(wait: float) -> SimResponse:
    response = _envelope(429, "Too many requests")
    # Retry-After is whole seconds (RFC 9110); round up so a client honouring it is never early.
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def _fault_response(fault: Fault, token: str | None) -> SimResponse:
    assert fault.status is not None  # noqa: S101 - only called for faults with a status
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = _format_seconds(fault.retry_after)
    if fault.body is None:
        if fault.status == 204:
            return SimResponse(204, headers, b"", fault.delay_seconds)
        if fault.status == 401:
            base = _unauthorized()
        elif fault.status < 400:
            base = _json_response(fault.status, {})
        else:
            message = "Too many requests" if fault.status == 429 else _reason_phrase(fault.status)
            base = _envelope(fault.status, message)
        return SimResponse(fault.status, {**base.headers, **headers}, base.body, fault.delay_seconds)
    text = fault.body if isinstance(fault.body, str) else json.dumps(fault.body)
    text = text.replace("{token}", token or "")
    content_type = "application/json" if _parse_json(text.encode()) is not None else "text/plain"
    headers["Content-Type"] = content_type + "; charset=utf-8"
    return SimResponse(fault.status, headers, text.encode(), fault.delay_seconds)


def _reason_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _parse_run_body(raw: bytes) -> tuple[dict[str, Any], list[str]]:
    """Parse and type-check a RunProject body; return it and the problems found."""
    if not raw.strip():
        return {}, []
    try:
        body = json.loads(raw)
    except ValueError:
        return {}, ["Request body is not valid JSON"]
    if not isinstance(body, dict):
        return {}, ["Request body must be a JSON object"]
    problems = [f"Unrecognized key in body: '{key}'" for key in body if key not in _BODY_FIELDS]
    for key, expected in _BODY_FIELDS.items():
        if key in body and not isinstance(body[key], expected):
            problems.append(f"'{key}' must be of type {_json_type_name(expected)}")
    if isinstance(body.get("notifications"), list):
        for index, item in enumerate(body["notifications"]):
            if not isinstance(item, dict):
                problems.append(f"notifications[{index}] must be an object")
                continue
            if item.get("type") not in _NOTIFICATION_TYPES:
                problems.append(f"notifications[{index}].type must be one of {', '.join(_NOTIFICATION_TYPES)}")
            if not isinstance(item.get("includeSuccessScreenshot"), bool):
                problems.append(f"notifications[{index}].includeSuccessScreenshot must be a boolean")
    return body, problems


def _json_type_name(kind: type) -> str:
    return {dict: "object", list: "array", bool: "boolean", str: "string"}[kind]


def _notification_recipients(notifications: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Expand request notifications into ProjectRunNotificationRecipient entries, one per recipient."""
    recipients: list[dict[str, Any]] = []
    kinds = (("slackChannelIds", "SLACK_CHANNEL"), ("userIds", "USER"), ("groupIds", "GROUP"))
    for item in notifications:
        for key, recipient_type in kinds:
            for recipient_id in item.get(key, []):
                entry: dict[str, Any] = {
                    "type": item["type"],
                    "recipientType": recipient_type,
                    "includeSuccessScreenshot": item["includeSuccessScreenshot"],
                    "recipient": {"id": str(recipient_id), "name": str(recipient_id)},
                }
                for optional in ("subject", "body"):
                    if optional in item:
                        entry[optional] = item[optional]
                if item["includeSuccessScreenshot"]:
                    entry["screenshotFormat"] = [item.get("screenshotFormat", "png")]
                recipients.append(entry)
    return recipients


def _parse_list_query(params: Mapping[str, list[str]]) -> tuple[dict[str, Any], list[str]]:
    """Parse GetProjectRuns query parameters with the spec's defaults and bounds."""
    problems: list[str] = []

    def first(name: str) -> str | None:
        values = params.get(name)
        return values[0] if values else None

    def integer(name: str, default: int, low: int, high: int | None) -> int:
        text = first(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            problems.append(f"'{name}' must be an integer")
            return default
        if value < low or (high is not None and value > high):
            problems.append(f"'{name}' must be between {low} and {high}" if high else f"'{name}' must be >= {low}")
        return value

    query: dict[str, Any] = {
        "limit": integer("limit", 25, 1, 100),
        "offset": integer("offset", 0, 0, None),
        "statusFilter": first("statusFilter"),
        "runTriggerFilter": first("runTriggerFilter"),
    }
    if query["statusFilter"] is not None and query["statusFilter"] not in RUN_STATUSES:
        problems.append(f"'statusFilter' must be one of {', '.join(RUN_STATUSES)}")
    triggers = (*_RUN_TRIGGERS, "ALL")
    if query["runTriggerFilter"] is not None and query["runTriggerFilter"] not in triggers:
        problems.append(f"'runTriggerFilter' must be one of {', '.join(triggers)}")
    return query, problems


# ===================================================================================== HTTP layer


def _admin_fault(spec: Any) -> Fault:
    if not isinstance(spec, dict):
        raise ValueError("a fault must be a JSON object")
    known = {"method", "pathRegex", "status", "count", "retryAfter", "body", "delaySeconds"}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown fault keys: {sorted(unknown)}")
    return Fault(
        method=str(spec.get("method", "*")),
        path_regex=str(spec.get("pathRegex", ".*")),
        status=None if spec.get("status") is None else int(spec["status"]),
        count=int(spec.get("count", 1)),
        retry_after=None if spec.get("retryAfter") is None else float(spec["retryAfter"]),
        body=spec.get("body"),
        delay_seconds=float(spec.get("delaySeconds", 0.0)),
    )


def _admin_project(sim: HexSimulator, project_id: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise ValueError("a project configuration must be a JSON object")
    known = {
        "pendingSeconds",
        "runningSeconds",
        "finalStatus",
        "published",
        "exists",
        "inputNames",
        "history",
        "projectVersion",
    }
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown project keys: {sorted(unknown)}")

    def optional_float(key: str) -> float | None:
        return None if spec.get(key) is None else float(spec[key])

    sim.configure_project(
        project_id,
        pending_seconds=optional_float("pendingSeconds"),
        running_seconds=optional_float("runningSeconds"),
        final_status=spec.get("finalStatus"),
        published=bool(spec.get("published", True)),
        exists=bool(spec.get("exists", True)),
        input_names=spec.get("inputNames"),
        history=spec.get("history"),
        project_version=int(spec.get("projectVersion", 1)),
    )


def _handle_admin(sim: HexSimulator, method: str, path: str, raw: bytes) -> SimResponse:
    """Unauthenticated JSON endpoints that let tests and demos drive a simulator in another process."""
    try:
        payload = json.loads(raw) if raw.strip() else None
    except ValueError:
        return _json_response(400, {"error": "body is not valid JSON"})
    try:
        if method == "GET" and path in ("/_sim/health", "/_sim/health/"):
            return _json_response(200, {"ok": True})
        if method == "GET" and path in ("/_sim/requests", "/_sim/requests/"):
            return _json_response(200, sim.requests_log())
        if method == "GET" and path in ("/_sim/runs", "/_sim/runs/"):
            return _json_response(200, sim.runs())
        if method == "POST" and path in ("/_sim/reset", "/_sim/reset/"):
            sim.reset()
            return _json_response(200, {"ok": True})
        if method == "POST" and path in ("/_sim/faults", "/_sim/faults/"):
            specs = payload if isinstance(payload, list) else [payload]
            faults = [_admin_fault(spec) for spec in specs]
            sim.add_fault(*faults)
            return _json_response(200, {"ok": True, "added": len(faults)})
        match = _ADMIN_PROJECT_PATH.match(path)
        if method == "POST" and match is not None:
            _admin_project(sim, match["project"], payload if payload is not None else {})
            return _json_response(200, {"ok": True, "projectId": match["project"]})
    except (ValueError, TypeError, KeyError, re.error) as exc:
        return _json_response(400, {"error": str(exc)})
    return _json_response(404, {"error": f"no admin endpoint {method} {path}"})


class _SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sim: HexSimulator) -> None:
        self.sim = sim
        super().__init__(address, _SimRequestHandler)


class _SimRequestHandler(BaseHTTPRequestHandler):
    server: _SimHTTPServer
    # HTTP/1.1 so clients can keep connections alive, as they would against Hex.
    protocol_version = "HTTP/1.1"
    server_version = "HexSimulator/1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the simulator's own request log is the record."""

    def _dispatch(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._write(_envelope(411, "Length required", ["Send a Content-Length header"]))
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(self.path)
        if url.path.startswith("/_sim/"):
            response = _handle_admin(self.server.sim, self.command, url.path, raw)
        else:
            headers = dict(self.headers.items())
            response = self.server.sim.handle(self.command, url.path, url.query, headers, raw)
        if response.delay_seconds > 0:
            time.sleep(response.delay_seconds)  # a scripted slow answer (Fault.delay_seconds)
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its read timeout fired during a delay): nothing to answer.
            self.close_connection = True

    def _write(self, response: SimResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.status != 204 and self.command != "HEAD":
            self.wfile.write(response.body)
        self.wfile.flush()


class SimServer:
    """A running HTTP server around a :class:`HexSimulator` (see :func:`serve`); a context manager."""

    def __init__(self, sim: HexSimulator, httpd: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self.sim = sim
        self._httpd = httpd
        self._thread = thread
        host, port = httpd.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        #: Base URL, e.g. ``http://127.0.0.1:8765`` (the API lives under ``{url}/api/v1``).
        self.url = f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        """The bearer token the simulator accepts."""
        return self.sim.token

    def close(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> SimServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _loopback_host(host: str) -> str:
    """Return an IPv4 loopback address for ``host`` or raise ValueError: the simulator never listens
    on a reachable interface (it has no real security and its admin endpoints need no auth)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise ValueError(f"refusing to listen on {host!r}: use a loopback address such as 127.0.0.1")
    return host


def serve(sim: HexSimulator, host: str = "127.0.0.1", port: int = 0) -> SimServer:
    """Serve ``sim`` over HTTP on a loopback address in a daemon thread (``port=0``: any free port)."""
    httpd = _SimHTTPServer((_loopback_host(host), port), sim)
    thread = threading.Thread(target=httpd.serve_forever, name="hex-simulator", daemon=True)
    thread.start()
    return SimServer(sim, httpd, thread)


# ============================================================================================ CLI

_DURATION = re.compile(r"^\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Parse ``1.5``, ``2s``, ``500ms``, ``1m`` or ``1h`` into seconds (ValueError otherwise)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (examples: 1.5, 2s, 500ms, 1m)")
    return float(match["number"]) * _UNIT_SECONDS[match["unit"]]


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _parse_project_option(text: str) -> tuple[str, dict[str, Any]]:
    """Parse ``ID=running:5,final:ERRORED,pending:1`` into configure_project keyword arguments.

    Keys: pending, running (durations), final, published/exists (booleans), version (int),
    inputs (names separated by ``/``), history (durations separated by ``/``).
    """
    project_id, sep, spec = text.partition("=")
    if not project_id or not sep:
        raise ValueError(f"expected ID=key:value,...: {text!r}")
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, colon, value = item.partition(":")
        if not colon:
            raise ValueError(f"expected key:value in {item!r}")
        if key == "pending":
            options["pending_seconds"] = parse_duration(value)
        elif key == "running":
            options["running_seconds"] = parse_duration(value)
        elif key == "final":
            _check_final_status(value.upper())
            options["final_status"] = value.upper()
        elif key in ("published", "exists"):
            options[key] = _parse_bool(value)
        elif key == "version":
            options["project_version"] = int(value)
        elif key == "inputs":
            options["input_names"] = [name for name in value.split("/") if name]
        elif key == "history":
            options["history"] = [parse_duration(d) for d in value.split("/") if d]
        else:
            raise ValueError(f"unknown project key {key!r} in {text!r}")
    return project_id, options


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hex_action.simulator",
        description="Serve a local fake of Hex's run API on 127.0.0.1 until SIGINT/SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port, 0 for any free port (default 8765)")
    parser.add_argument("--token", help='accepted bearer token (default: $HEX_API_TOKEN, else "sim-token")')
    parser.add_argument("--pending", type=parse_duration, default=1.0, help="default PENDING time (1s)")
    parser.add_argument("--running", type=parse_duration, default=3.0, help="default RUNNING time (3s)")
    parser.add_argument(
        "--final-status",
        default="COMPLETED",
        type=str.upper,
        choices=sorted(_FINAL_STATUSES),
        help="default final status (COMPLETED)",
    )
    parser.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="ID=key:value,...",
        help="per-project behaviour, e.g. ID=running:5,final:ERRORED,pending:1 (also published:false, "
        "exists:false, version:3, inputs:a/b, history:30/45s); repeatable",
    )
    parser.add_argument("--no-rate-limits", action="store_true", help="never answer 429")
    parser.add_argument(
        "--max-active-runs", type=int, default=25, help="kernel limit before 503, 0 for none (default 25)"
    )
    parser.add_argument("--port-file", type=Path, help="write the bound port to this file (atomically)")
    return parser


def _write_port_file(path: Path, port: int) -> None:
    # Write then rename, so a reader polling for the file never sees it half written.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{port}\n", encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator as a process until SIGINT/SIGTERM, then return 0.

    Bad usage (including a non-loopback ``--host``) exits with status 2 through argparse.
    """
    parser = _argument_parser()
    args = parser.parse_args(argv)
    try:
        host = _loopback_host(args.host)
        projects = [_parse_project_option(text) for text in args.project]
    except ValueError as exc:
        parser.error(str(exc))
    token = args.token or os.environ.get("HEX_API_TOKEN") or "sim-token"
    sim = HexSimulator(
        token,
        default_pending_seconds=args.pending,
        default_running_seconds=args.running,
        default_final_status=args.final_status,
        rate_limits=not args.no_rate_limits,
        max_active_runs=args.max_active_runs or None,
    )
    for project_id, options in projects:
        sim.configure_project(project_id, **options)

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    wrote_port_file = False
    try:
        with serve(sim, host, args.port) as server:
            print(f"Hex simulator listening on {server.url}", flush=True)
            if args.port_file is not None:
                _write_port_file(args.port_file, server.port)
                wrote_port_file = True
            # Short waits so the signal handler's flag is seen promptly on every platform.
            while not stop.wait(0.2):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if wrote_port_file:
            args.port_file.unlink(missing_ok=True)  # the port is no longer served
    return 0


if __name__ == "__main__":
    sys.exit(main())
