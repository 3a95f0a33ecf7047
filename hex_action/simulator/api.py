"""Routing and the Hex endpoints' answers: RunProject, GetRunStatus, CancelRun, GetProjectRuns, GetProject.

Only the current plural paths under ``/api/v1`` are served. Each endpoint reads and changes a
:class:`~hex_action.simulator.state.SimState` at the clock time of the request and answers with
Hex's payloads and error shapes (see :mod:`hex_action.simulator.responses`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from hex_action.simulator.responses import (
    SimResponse,
    envelope,
    json_response,
    too_many_requests,
    trace_id,
    tsoa,
    unauthorized,
)
from hex_action.simulator.state import TERMINAL_STATUSES, Project, Run, SimState
from hex_action.simulator.validation import parse_list_query, parse_run_body

API_PREFIX = "/api/v1"
RUNS_PATH = re.compile(r"^/api/v1/projects/(?P<project>[^/]+)/runs(?:/(?P<run>[^/]+))?/?$")
PROJECT_PATH = re.compile(r"^/api/v1/projects/(?P<project>[^/]+)/?$")
#: GetProject's fixed dates, before the request's clock time: made a month ago, published yesterday.
CREATED_BEFORE = 30 * 86400.0
PUBLISHED_BEFORE = 86400.0


@dataclass(frozen=True)
class Request:
    """One API request as the endpoints see it, arriving at clock time ``now``."""

    method: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    token: str | None
    body: bytes
    now: float
    #: The moment a status read's answer shows (a lagging replica's past); None: ``now``. The rate
    #: limits always count the request at ``now``, when it arrived.
    as_of: float | None = None


def bearer_token(value: str) -> str | None:
    """The token of an ``Authorization: Bearer …`` header value, or None."""
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _iso(seconds: float | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a ``Z``, like Hex's samples (``2022-11-15T23:53:31.554Z``)."""
    if seconds is None:
        return None
    text = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def route(
    request: Request,
    state: SimState,
    *,
    token: str,
    base_url: str | None,
    rate_limits: bool,
    max_active_runs: int | None,
) -> SimResponse:
    """Answer one API request: check the token, the path and the rate limits, then call the endpoint.

    ``token`` is the one accepted bearer token; links start with ``base_url``, else with
    ``http://`` plus the Host header. ``rate_limits`` enables the 429 answers and
    ``max_active_runs`` (None = unlimited) is the kernel limit of RunProject.
    """
    method, path, headers, now = request.method, request.path, request.headers, request.now
    if request.token is None or request.token != token:
        return unauthorized()
    project_match = PROJECT_PATH.match(path)
    if project_match is not None and method == "GET":
        wait = state.read_wait(token, now) if rate_limits else None
        if wait is not None:
            return too_many_requests(wait)
        return _get_project(state, project_match["project"], now)
    match = RUNS_PATH.match(path)
    if match is None:
        return envelope(404, "Not found", [f"No route for {method} {path}"])
    project_id, run_id = match["project"], match["run"]
    base = base_url or "http://" + headers.get("host", "127.0.0.1")
    # A rate-limited call is answered 429 before its project or run is even looked at.
    if run_id is None and method == "POST":
        wait = state.start_wait(token, now) if rate_limits else None
        if wait is not None:
            return too_many_requests(wait)
        return _run_project(state, project_id, request.body, base, now, max_active_runs)
    if method == "GET":
        wait = state.read_wait(token, now) if rate_limits else None
        if wait is not None:
            return too_many_requests(wait)
        if run_id is None:
            return _project_runs(state, project_id, request.params, base, now)
        expanded = headers.get("enable-expanded-stats", "").lower() == "true"
        seen = now if request.as_of is None else request.as_of
        return _run_status(state, project_id, run_id, base, seen, expanded=expanded)
    if run_id is not None and method == "DELETE":
        return _cancel_run(state, project_id, run_id, now)
    return envelope(405, "Method not allowed", [f"{method} is not supported on {path}"])


def _refuse(state: SimState, project_id: str, problems: list[str]) -> SimResponse | None:
    """Hex's answers, in its order, for an unknown project, a malformed request, an unpublished project."""
    project = state.project(project_id)
    if not project.exists:
        return envelope(404, "Project not found", [f"No project with id {project_id}"])
    if problems:
        return envelope(400, "Invalid input data", problems)
    if not project.published:
        return envelope(422, "Unprocessable content", ["Project is not published"])
    return None


def _get_project(state: SimState, project_id: str, now: float) -> SimResponse:
    """GetProject: the project's metadata (hex-openapi-latest's ``Project``), sharing left out."""
    project = state.project(project_id)
    if not project.exists:
        return envelope(404, "Project not found", [f"No project with id {project_id}"])
    payload: dict[str, Any] = {
        "id": project_id,
        "title": project.title if project.title is not None else f"Simulated project {project_id[:8]}",
        "description": None,
        "type": "PROJECT",
        "creator": {"email": "creator@example.com"},
        "owner": {"email": "owner@example.com"},
        "status": None,
        "categories": [],
        "reviews": {"required": False},
        "analytics": {
            "appViews": {"allTime": 0, "lastSevenDays": 0, "lastFourteenDays": 0, "lastThirtyDays": 0},
            "lastViewedAt": None,
            "publishedResultsUpdatedAt": None,
        },
        "lastEditedAt": _iso(now - PUBLISHED_BEFORE),
        "lastPublishedAt": _iso(now - PUBLISHED_BEFORE) if project.published else None,
        "createdAt": _iso(now - CREATED_BEFORE),
        "archivedAt": _iso(now - PUBLISHED_BEFORE) if project.archived else None,
        "trashedAt": _iso(now - PUBLISHED_BEFORE) if project.trashed else None,
        "schedules": [],
    }
    return json_response(200, payload)


def _run_project(
    state: SimState, project_id: str, raw: bytes, base: str, now: float, max_active_runs: int | None
) -> SimResponse:
    body, problems = parse_run_body(raw)
    refusal = _refuse(state, project_id, problems)
    if refusal is not None:
        return refusal
    project = state.project(project_id)
    input_params = body.get("inputParams")
    if input_params is not None and "viewId" in body:
        return envelope(422, "Unprocessable content", ["It is invalid to pass in both a viewId and inputParams"])
    if input_params and project.input_names is not None:
        unknown = [name for name in input_params if name not in project.input_names]
        if unknown:
            payload = {"traceId": trace_id(), "invalid": [], "notFound": unknown}
            return json_response(422, payload)
    notifications = _notification_recipients(body.get("notifications", []))
    run_id = str(uuid.uuid4())
    if body.get("dryRun", False):
        # A dry run validates the call and answers with a dummy run that is never stored.
        return json_response(201, _trigger_payload(project_id, run_id, base, project, notifications))
    if max_active_runs is not None and state.active_runs(now) >= max_active_runs:
        # Hex: the user already holds the maximum of concurrent kernels; no run is created.
        return envelope(503, "Service unavailable")
    state.runs[run_id] = Run(
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
    return json_response(201, _trigger_payload(project_id, run_id, base, project, notifications))


def _trigger_payload(
    project_id: str, run_id: str, base: str, project: Project, notifications: list[dict[str, Any]]
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "projectId": project_id,
        "runId": run_id,
        "runUrl": f"{base}/app/{project_id}/runs/{run_id}",
        "runStatusUrl": f"{base}{API_PREFIX}/projects/{project_id}/runs/{run_id}",
        "traceId": trace_id(),
        "projectVersion": project.project_version,
    }
    if notifications:
        payload["notifications"] = notifications
    return payload


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


def _run_payload(run: Run, base: str, now: float, *, expanded: bool = False) -> dict[str, Any]:
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
        "traceId": trace_id(),
    }
    if run.notifications:
        payload["notifications"] = run.notifications
    if expanded:
        events = [("PENDING", run.created_at), ("RUNNING", started), (payload["status"], ended)]
        payload["stateEvents"] = [
            {"type": "STATUS", "value": value, "timestamp": _iso(at)} for value, at in events if at is not None
        ]
    return payload


def _unknown_run(run: Run | None, project_id: str, run_id: str) -> SimResponse:
    """The answer for a run that does not exist, or that a lagging replica does not know yet."""
    if run is not None and run.lag_status == 403:
        return tsoa(403, "Forbidden")
    return tsoa(404, f"Run {run_id} not found for project {project_id}")


def _run_status(state: SimState, project_id: str, run_id: str, base: str, now: float, *, expanded: bool) -> SimResponse:
    run = state.find_run(project_id, run_id)
    if run is None or not run.visible(now):
        return _unknown_run(run, project_id, run_id)
    return json_response(200, _run_payload(run, base, now, expanded=expanded))


def _cancel_run(state: SimState, project_id: str, run_id: str, now: float) -> SimResponse:
    run = state.find_run(project_id, run_id)
    if run is None or not run.visible(now):
        return _unknown_run(run, project_id, run_id)
    status = run.status(now)
    if status in TERMINAL_STATUSES:
        return tsoa(422, f"Run {run_id} has already finished with status {status}")
    run.cancelled_at = now
    return SimResponse(204, {}, b"")


def _project_runs(state: SimState, project_id: str, params: dict[str, list[str]], base: str, now: float) -> SimResponse:
    query, problems = parse_list_query(params)
    refusal = _refuse(state, project_id, problems)
    if refusal is not None:
        return refusal
    status_filter, trigger_filter = query["statusFilter"], query["runTriggerFilter"]
    selected = [
        run
        for run in sorted(state.runs.values(), key=lambda r: r.created_at, reverse=True)
        if run.project_id == project_id
        and run.visible(now)
        and (status_filter is None or run.status(now) == status_filter)
        and (trigger_filter in (None, "ALL") or run.run_trigger == trigger_filter)
    ]
    limit, offset = query["limit"], query["offset"]
    page = selected[offset : offset + limit]

    def page_url(new_offset: int) -> str:
        args = {"limit": limit, "offset": new_offset}
        args.update({k: query[k] for k in ("statusFilter", "runTriggerFilter") if query[k] is not None})
        return f"{base}{API_PREFIX}/projects/{project_id}/runs?{urlencode(args)}"

    payload = {
        "runs": [_run_payload(run, base, now) for run in page],
        "nextPage": page_url(offset + limit) if offset + limit < len(selected) else None,
        "previousPage": page_url(max(0, offset - limit)) if offset > 0 else None,
        "traceId": trace_id(),
    }
    return json_response(200, payload)
