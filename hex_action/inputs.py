"""Parsers for single input values: booleans, durations, JSON, ids.

Each returns the parsed value or raises `ValueError` whose text completes the sentence
"Input 'x': <text>"; `settings` adds the input's name and the fix.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_DURATION = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$")
# Hex ids are UUIDs. Any version is accepted: real project ids are UUIDv7 today, and
# the 2022 spec's v4-only pattern would reject them (see shared/hex-api.md, "Project ID format").
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def parse_bool(raw: str) -> bool:
    """`true`/`false` (also yes/no, on/off, 1/0), case-insensitive."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"'{raw}' is not a boolean.")


def parse_duration(raw: str) -> float:
    """Seconds from `600`, `90s`, `15m`, `1h30m` or `1.5h`; must be above zero."""
    value = raw.strip().lower().replace(" ", "")
    seconds: float
    try:
        seconds = float(value)
    except ValueError:
        match = _DURATION.match(value)
        if not value or match is None or not any(match.groupdict().values()):
            raise ValueError(f"'{raw}' is not a duration.") from None
        parts = match.groupdict()
        seconds = sum(float(parts[unit] or 0) * factor for unit, factor in (("h", 3600), ("m", 60), ("s", 1)))
    if not 0 < seconds < float("inf"):  # also rejects NaN
        raise ValueError(f"'{raw}' must be a duration above zero.")
    return seconds


def format_duration(seconds: float) -> str:
    """`3725` -> `1h2m5s`; fractions of a second are kept below one minute."""
    if seconds < 60:
        return f"{seconds:.1f}s".replace(".0s", "s")
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def parse_json_object(raw: str) -> dict[str, Any]:
    """A JSON object, such as `{"region": "EMEA"}`."""
    value = _parse_json(raw)
    if not isinstance(value, dict):
        raise ValueError(f"must be a JSON object, got {_json_kind(value)}.")
    return value


def parse_json_array_of_objects(raw: str) -> list[dict[str, Any]]:
    """A JSON array of objects, such as `[{"type": "FAILURE", ...}]`."""
    value = _parse_json(raw)
    if not isinstance(value, list):
        raise ValueError(f"must be a JSON array of objects, got {_json_kind(value)}.")
    if not all(isinstance(item, dict) for item in value):
        raise ValueError("must be a JSON array of objects, got an array with an item that is not an object.")
    return value


def parse_uuid(raw: str) -> str:
    """A Hex id: a UUID of any version."""
    value = raw.strip()
    if not _UUID.match(value):
        raise ValueError(f"'{raw}' is not a Hex id (a UUID such as 5a8591dd-4039-49df-9202-96385ba3eff8).")
    return value.lower()


def parse_int(raw: str, low: int, high: int) -> int:
    """A whole number from `low` to `high`."""
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"'{raw}' is not a whole number.") from None
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low} to {high}.")
    return value


def _parse_json(raw: str) -> Any:
    try:
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}).") from None


def _no_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity, which JSON does not have: Hex would reject the body.
    raise ValueError(f"is not valid JSON ({name} is not a JSON value; use a number or null).")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 reads as infinity
        raise ValueError(f"is not valid JSON ({text} is too large for a number).")
    return value


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")
