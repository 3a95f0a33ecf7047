"""The pure core of the simulator: :class:`HexSimulator`, the simulated Hex API without networking.

It holds the configuration, the scripted faults and the request log, and locks around every
request; the endpoints themselves live in :mod:`hex_action.simulator.api` and the stored runs in
:mod:`hex_action.simulator.state`.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from hex_action.simulator.api import RUNS_PATH, Request, bearer_token, route
from hex_action.simulator.chaos import Chaos, ChaosFault
from hex_action.simulator.faults import Fault, fault_response, take_fault
from hex_action.simulator.responses import SimResponse, parse_json
from hex_action.simulator.state import Project, SimState, check_final_status


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
        chaos: Chaos | None = None,
    ) -> None:
        if not token:
            raise ValueError("the simulator needs a non-empty token")
        check_final_status(default_final_status)
        self.token = token
        self.clock = clock
        self.rate_limits = rate_limits
        self.max_active_runs = max_active_runs
        self._base_url = None if base_url is None else base_url.rstrip("/")
        self._lock = threading.Lock()
        self._state = SimState(
            Project(default_pending_seconds, default_running_seconds, default_final_status),
            read_limit_per_minute,
            (run_limit_per_minute, run_limit_per_hour),
        )
        self._faults: list[Fault] = []
        self._log: list[dict[str, Any]] = []
        #: Seeded random faults on every API request (chaos mode), or None.
        self.chaos = chaos

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
        title: str | None = None,
        archived: bool = False,
        trashed: bool = False,
    ) -> None:
        """Set how one project behaves (unset durations/status fall back to the simulator defaults).

        ``published=False`` makes RunProject and GetProjectRuns answer 422; ``exists=False`` makes
        them answer 404. ``input_names`` lists the published app's inputs: other ``inputParams``
        names then give 422 ``InvalidParamPayload`` with them in ``notFound``. ``history`` replaces
        this project's pre-seeded past runs: each item is a duration in seconds (a COMPLETED API run)
        or a mapping with ``durationSeconds`` and optional ``status`` and ``runTrigger``; the first
        item is the most recent run, ended a minute before now. ``title``, ``archived`` and ``trashed``
        shape GetProject's answer (``published=False`` gives a null ``lastPublishedAt`` there).
        """
        defaults = self._state.defaults
        project = Project(
            pending_seconds=defaults.pending_seconds if pending_seconds is None else pending_seconds,
            running_seconds=defaults.running_seconds if running_seconds is None else running_seconds,
            final_status=defaults.final_status if final_status is None else final_status,
            published=published,
            exists=exists,
            input_names=None if input_names is None else frozenset(input_names),
            project_version=project_version,
            title=title,
            archived=archived,
            trashed=trashed,
        )
        check_final_status(project.final_status)
        with self._lock:
            self._state.projects[project_id] = project
            if history is not None:
                self._state.seed_history(project_id, project, history, self.clock())

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
            self._state.clear()
            self._faults.clear()
            self._log.clear()

    # ------------------------------------------------------------------------------- inspection

    def requests_log(self) -> list[dict[str, Any]]:
        """A copy of the API request log (admin calls excluded).

        Each entry: ``time`` (clock value), ``method``, ``path``, ``query`` (dict of lists),
        ``headers`` (lower-cased names, *without* Authorization), ``authorized``, ``status``,
        ``body`` (the request body parsed as JSON, or None); in chaos mode, ``chaos``: the kind of
        fault applied to the request, if any.
        """
        with self._lock:
            return json.loads(json.dumps(self._log))  # type: ignore[no-any-return]

    def runs(self, at: float | None = None) -> list[dict[str, Any]]:
        """Every stored run (oldest first) with its status at clock time ``at`` (default: now) and timestamps."""
        with self._lock:
            now = self.clock() if at is None else at
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
                for run in sorted(self._state.runs.values(), key=lambda r: r.created_at)
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
        token = bearer_token(lower_headers.get("authorization", ""))
        with self._lock:
            now = self.clock()
            request = Request(method, path, params, lower_headers, token, body, now)
            response, chaos = self._respond(request)
            self._log.append(
                {
                    "time": now,
                    "method": method,
                    "path": path,
                    "query": {k: list(v) for k, v in params.items()},
                    "headers": {k: v for k, v in lower_headers.items() if k != "authorization"},
                    "authorized": token == self.token,
                    "status": response.status,
                    "body": parse_json(body),
                }
            )
            if chaos is not None:
                self._log[-1]["chaos"] = chaos
        return response

    def _respond(self, request: Request) -> tuple[SimResponse, str | None]:
        """The answer, and the kind of chaos fault applied to it (None: none)."""
        # Faults come first, before authentication; one without a status only delays the answer.
        fault = take_fault(self._faults, request.method, request.path)
        if fault is not None and fault.status is not None:
            return fault_response(fault, request.token), None
        match = RUNS_PATH.match(request.path)
        drawn = self.chaos.draw(request.method, bool(match and match["run"])) if self.chaos and match else None
        if drawn is not None:
            early = drawn.early_answer()
            if early is not None:
                return self._count(early, drawn)
            if drawn.kind == "stale":
                request, drawn = self._stale(request, drawn, match["run"] if match else None)
        response = route(
            request,
            self._state,
            token=self.token,
            base_url=self._base_url,
            rate_limits=self.rate_limits,
            max_active_runs=self.max_active_runs,
        )
        if fault is not None and fault.delay_seconds:
            response = SimResponse(response.status, response.headers, response.body, fault.delay_seconds)
        if request.method == "POST" and response.status == 201:
            self._maybe_lag(response)
        if drawn is None:
            return response, None
        return self._count(drawn.late_answer(response), drawn)

    # ------------------------------------------------------------------------------------ chaos

    def _count(self, response: SimResponse, drawn: ChaosFault) -> tuple[SimResponse, str]:
        assert self.chaos is not None  # noqa: S101 - only called in chaos mode
        self.chaos.count(drawn.kind)
        return response, drawn.kind

    def _stale(self, request: Request, drawn: ChaosFault, run_id: str | None) -> tuple[Request, ChaosFault | None]:
        """A status read answered by a replica ``drawn.behind`` seconds behind, if it knew the run then."""
        then = request.now - drawn.behind
        run = self._state.runs.get(run_id or "")
        if run is None or then < max(run.created_at, run.visible_at):
            return request, None  # a replica that far behind would not know the run: not a stale read
        return dataclasses.replace(request, as_of=then), drawn

    def _maybe_lag(self, response: SimResponse) -> None:
        """In chaos mode, a new run may stay unknown to reads for a moment (read-after-write lag)."""
        if self.chaos is None:
            return
        run = self._state.runs.get(str((parse_json(response.body) or {}).get("runId", "")))
        lag = self.chaos.lag() if run is not None else None
        if run is not None and lag is not None:
            run.visible_at, run.lag_status = run.created_at + lag[0], lag[1]
            self.chaos.count("lag")
