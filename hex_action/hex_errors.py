"""Hex's error bodies in all their shapes turned into the user's message, traceId and likely fix.

The client builds the errors for Hex's answers, and for its silence, here; it passes its
`redact`, so that the token never reaches a message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import requests

from hex_action.errors import HexApiError

MAX_ERROR_TEXT = 500

HINTS = {
    400: "Hex rejected the request as malformed; check input-params and notifications.",
    401: "The token is missing, expired or revoked, or hex-url points at another Hex host "
    "(EU workspaces use https://eu.hex.tech). Create a token in Hex under Settings > API keys.",
    403: "The token may not do this: a workspace token needs the 'Run projects' scope, the token's user "
    "needs access to the project, and update-published-results needs Can Edit.",
    404: "Hex knows no such project or run for this token: check project-id (and run-id) and that the "
    "token belongs to the project's workspace.",
    422: "Hex could not run the project as asked: it must be published (Hex runs the latest published "
    "version), and input-params may only name inputs of the published app.",
    429: "Hex's rate limit was reached (per user: 30 status reads and 20 run starts a minute). Other "
    "workflows using the same token share it.",
    500: "Hex had an internal error; quote the traceId to Hex support.",
    503: "Hex has no kernel free: the token's user already has 25 runs or sessions open. Cancel some in Hex, "
    "or run fewer projects at once.",
}


def api_error(response: requests.Response, redact: Callable[[str], str]) -> HexApiError:
    """The error for an answer that is not a success: Hex's words, its traceId and the likely fix."""
    code = response.status_code
    # Redact before describing: the description cuts long text, which could cut the token in two.
    words, trace_id, extra_hint = describe_error_body(redact(response.text))
    method = response.request.method if response.request is not None else ""
    what = f"Hex answered {code} {response.reason or ''}".rstrip() + f" to {method} {_path_of(response.url)}"
    message = f"{what}: {words}" if words else what
    # A hint drawn from Hex's own answer (the unknown input it names) replaces the generic one.
    hint = extra_hint or HINTS.get(code) or HINTS.get(500 if code >= 500 else 400)
    return HexApiError(
        redact(message),
        status_code=code,
        trace_id=redact(trace_id) if trace_id else None,
        hint=redact(hint) if hint else None,
    )


def redirect_error(response: requests.Response, base_url: str, redact: Callable[[str], str]) -> HexApiError:
    """The error for a redirect, which the client never follows: where it pointed, and the fix."""
    method = response.request.method if response.request is not None else ""
    target = urljoin(response.url or base_url, response.headers.get("Location", ""))
    there, here = urlsplit(target), urlsplit(base_url)
    what = f"Hex answered {response.status_code} to {method} {_path_of(response.url)}"
    if (there.scheme, there.netloc) != (here.scheme, here.netloc):
        final = f"{there.scheme}://{there.netloc}"
        message = (
            f"{what}: {here.scheme}://{here.netloc} redirected to another host, {final}. The request was not "
            "followed: the token is never sent to another host than hex-url, nor a run start sent twice."
        )
        hint = f"Set hex-url to {final}, the host Hex redirects to."
    else:
        message = f"{what}: redirected to {target}, which the action does not follow (a run start must not be resent)."
        hint = "Set hex-url to the address Hex redirects to."
    return HexApiError(redact(message), status_code=response.status_code, hint=redact(hint))


def connection_error(
    base_url: str, method: str, exc: requests.RequestException | None, redact: Callable[[str], str]
) -> HexApiError:
    """The error for a request that got no answer (`exc` None: after repeated errors)."""
    what = type(exc).__name__ if exc is not None else "repeated errors"
    detail = f" ({exc})" if exc is not None else ""
    return HexApiError(
        redact(f"Could not reach Hex at {base_url} for {method}: {what}{detail}")[:1000],
        hint="Check hex-url and the runner's network; Hex may be briefly unavailable.",
    )


def describe_error_body(text: str) -> tuple[str, str | None, str | None]:
    """Hex's own words from an error body in any of its shapes: (message, traceId, extra hint).

    Shapes: `{message, code, issues}`, tsoa `{reason, details, traceId}`, RunProject's
    422 `{invalid, notFound}`, and plain text (shared/hex-api.md, "Error body shapes").
    """
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return text.strip()[:MAX_ERROR_TEXT], None, None
    parts: list[str] = []
    for key in ("message", "reason"):
        if isinstance(data.get(key), str) and data[key]:
            parts.append(data[key])
    issues = data.get("issues")
    if isinstance(issues, list):
        parts += [str(i.get("message")) for i in issues if isinstance(i, dict) and i.get("message")]
    if isinstance(data.get("details"), str) and data["details"]:
        parts.append(data["details"])
    hint = None
    not_found = data.get("notFound")
    if isinstance(not_found, list) and not_found:
        names = ", ".join(str(n) for n in not_found)
        parts.append(f"unknown inputs: {names}")
        hint = f"The published app has no input named {names}; check the names in input-params."
    invalid = data.get("invalid")
    if isinstance(invalid, list) and invalid:
        described = [
            f"{i.get('paramName')}={i.get('paramValue')} (expected {i.get('dataType') or 'another type'})"
            for i in invalid
            if isinstance(i, dict)
        ]
        parts.append("invalid inputs: " + ", ".join(described))
    if not parts:
        parts.append(text.strip())
    trace_id = data.get("traceId")
    return "; ".join(parts)[:MAX_ERROR_TEXT], trace_id if isinstance(trace_id, str) else None, hint


def _path_of(url: str | None) -> str:
    if not url:
        return ""
    path = url.split("://", 1)[-1]
    return "/" + path.split("/", 1)[1] if "/" in path else "/"
