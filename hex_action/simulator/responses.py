"""The simulator's answers: :class:`SimResponse` and the shapes of Hex's error bodies.

Hex answers errors in three shapes, and the simulator reproduces each where Hex uses it: the newer
``{message, code, issues}`` envelope (RunProject, GetRunStatus, GetProjectRuns in
hex-openapi-latest), the older tsoa ``{reason, traceId}`` body (CancelRun and most older endpoints)
and a plain-text ``Unauthorized`` for a bad token.
"""

from __future__ import annotations

import http
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Error `code` values of the newer `{message, code, issues}` envelope (hex-openapi-latest.json).
ERROR_CODES = {
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


@dataclass(frozen=True)
class SimResponse:
    """One answer of the simulator: HTTP status, headers and raw body.

    ``delay_seconds`` is only honoured by the HTTP layer (it sleeps before answering); the pure core
    never sleeps. ``reset``: no answer at all, the connection is reset (chaos mode).
    """

    status: int
    headers: dict[str, str]
    body: bytes
    delay_seconds: float = 0.0
    reset: bool = False

    def json(self) -> Any:
        """Return the body parsed as JSON (raises ``ValueError`` if it is not JSON)."""
        return json.loads(self.body)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> SimResponse:
    """A JSON answer (``application/json; charset=utf-8``) with optional extra headers."""
    all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return SimResponse(status, all_headers, json.dumps(payload).encode())


def envelope(status: int, message: str, issues: Sequence[str] = ()) -> SimResponse:
    """The newer error envelope used by RunProject/GetRunStatus/GetProjectRuns in hex-openapi-latest."""
    payload = {
        "message": message,
        "code": ERROR_CODES.get(status, "ERROR"),
        "issues": [{"message": issue} for issue in issues],
    }
    return json_response(status, payload)


def trace_id() -> str:
    """A fresh ``traceId`` value."""
    return str(uuid.uuid4())


def tsoa(status: int, reason: str) -> SimResponse:
    """The older tsoa error body ``{reason, traceId}`` (CancelRun and most older endpoints)."""
    return json_response(status, {"reason": reason, "traceId": trace_id()})


def unauthorized() -> SimResponse:
    """The 401 answer to a missing or wrong bearer token."""
    # Hex answers a bad token with a plain-text body (see Kestra's HexConnectionInterface comment).
    return SimResponse(401, {"Content-Type": "text/plain; charset=utf-8"}, b"Unauthorized")


def too_many_requests(wait: float) -> SimResponse:
    """The 429 answer to a rate-limited call, ``wait`` seconds before it would be allowed."""
    response = envelope(429, "Too many requests")
    # Retry-After is whole seconds (RFC 9110); round up so a client honouring it is never early.
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def reason_phrase(status: int) -> str:
    """The standard reason phrase of an HTTP status, or ``Error`` for an unknown one."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def parse_json(body: bytes) -> Any:
    """A body parsed as JSON, or None when it is empty or not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
