"""Scripted faults: answers that replace the simulator's normal handling of matching requests."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hex_action.simulator.responses import (
    SimResponse,
    envelope,
    json_response,
    parse_json,
    reason_phrase,
    unauthorized,
)


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


def take_fault(faults: list[Fault], method: str, path: str) -> Fault | None:
    """The first of ``faults`` matching a request, with one use counted (dropped when used up)."""
    for fault in faults:
        if fault.matches(method, path):
            fault.count -= 1
            if fault.count <= 0:
                faults.remove(fault)
            return fault
    return None


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g}"


def fault_response(fault: Fault, token: str | None) -> SimResponse:
    """The answer scripted by ``fault`` (which has a status) to a request sent with ``token``."""
    assert fault.status is not None  # noqa: S101 - only called for faults with a status
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = _format_seconds(fault.retry_after)
    if fault.body is None:
        if fault.status == 204:
            return SimResponse(204, headers, b"", fault.delay_seconds)
        if fault.status == 401:
            base = unauthorized()
        elif fault.status < 400:
            base = json_response(fault.status, {})
        else:
            message = "Too many requests" if fault.status == 429 else reason_phrase(fault.status)
            base = envelope(fault.status, message)
        return SimResponse(fault.status, {**base.headers, **headers}, base.body, fault.delay_seconds)
    text = fault.body if isinstance(fault.body, str) else json.dumps(fault.body)
    text = text.replace("{token}", token or "")
    content_type = "application/json" if parse_json(text.encode()) is not None else "text/plain"
    headers["Content-Type"] = content_type + "; charset=utf-8"
    return SimResponse(fault.status, headers, text.encode(), fault.delay_seconds)
