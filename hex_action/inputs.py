"""Parsers for single input values: booleans, durations, JSON, ids.

Each returns the parsed value or raises `ValueError` whose text completes the sentence
"Input 'x': <text>"; `settings` (or `pipeline`) adds the input's name and the fix, except
for a `NotJsonError`, which brings its own fix.
"""

from __future__ import annotations

import datetime
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


def parse_json_object(raw: Any) -> dict[str, Any]:
    """A JSON object, such as `{"region": "EMEA"}`, or a mapping already parsed from a pipeline's YAML."""
    if not isinstance(raw, str):
        if not isinstance(raw, dict):
            raise ValueError(f"must be a mapping, got {_kind(raw, yaml=True)}.")
        check_json_value(raw)
        return raw
    value = _parse_json(raw)
    if not isinstance(value, dict):
        raise ValueError(f"must be a JSON object, got {_kind(value)}.")
    return value


def parse_json_array_of_objects(raw: Any) -> list[dict[str, Any]]:
    """A JSON array of objects, such as `[{"type": "FAILURE", ...}]`, or a list of mappings from YAML."""
    if not isinstance(raw, str):
        if not isinstance(raw, list):
            raise ValueError(f"must be a list of mappings, got {_kind(raw, yaml=True)}.")
        if not all(isinstance(item, dict) for item in raw):
            raise ValueError("must be a list of mappings, got a list with an item that is not a mapping.")
        check_json_value(raw)
        return raw
    value = _parse_json(raw)
    if not isinstance(value, list):
        raise ValueError(f"must be a JSON array of objects, got {_kind(value)}.")
    if not all(isinstance(item, dict) for item in value):
        raise ValueError("must be a JSON array of objects, got an array with an item that is not an object.")
    return value


class NotJsonError(ValueError):
    """A value parsed from YAML that JSON cannot carry; `fix` says what to write instead."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.fix = fix


def check_json_value(value: Any) -> None:
    """Raise `NotJsonError` if `value` cannot be sent as strict JSON.

    YAML has more types than JSON: `as_of: 2024-01-01` is a date, `.nan` a NaN, and
    `requests` would fail on them (TypeError) or send invalid JSON, after runs had started.
    """
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        # json.dumps is the judge; the walk only finds the culprit, to name it.
        found = _first_not_json(value, "", ())
        where, what, fix = found or ("", f"a value JSON cannot carry ({exc})", "quote it to send it as text.")
        raise NotJsonError(f"{where or 'the value'} is {what}, which JSON cannot carry.", fix) from None


#: How to resolve `check_view_id`'s problem.
VIEW_ID_FIX = "set inputs in the saved view, or drop view-id."


def check_view_id(view_id: str | None, input_params: dict[str, Any] | None) -> None:
    """Raise `ValueError` if a run would name both a saved view and input params: Hex rejects the pair."""
    if view_id and input_params is not None:
        raise ValueError("cannot be used together with input-params (Hex rejects the pair).")


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


def _first_not_json(value: Any, where: str, outer: tuple[int, ...]) -> tuple[str, str, str] | None:
    """The first thing in `value` json.dumps refuses: (where it is, what it is, the fix), or None."""
    if isinstance(value, dict | list | tuple):
        if id(value) in outer:  # a YAML alias inside what it names
            return (where, "a YAML alias of something that contains it", "write the value out instead of the alias.")
        inner = (*outer, id(value))
        if not isinstance(value, dict):
            for index, item in enumerate(value):
                found = _first_not_json(item, f"{where}[{index}]", inner)
                if found is not None:
                    return found
            return None
        for key, item in value.items():
            found = _not_json_scalar(f"a key in {where}" if where else "a key", key)
            if found is None:
                found = _first_not_json(item, f"{where}.{key}" if where else str(key), inner)
            if found is not None:
                return found
        return None
    return _not_json_scalar(where, value)


def _not_json_scalar(where: str, value: Any) -> tuple[str, str, str] | None:
    if value is None or isinstance(value, str | int):  # bool is an int
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, str(value), "use a finite number or null.")
    if isinstance(value, datetime.date):  # and datetime
        return (where, f"{_kind(value)} ({value})", f"quote it ('{value}') to send it as text.")
    return (where, f"{_kind(value, yaml=True)} ({value!r})", "quote it to send it as text.")


def _kind(value: Any, *, yaml: bool = False) -> str:
    """`a string`, `a number`, `a date`...; containers in JSON's words, or YAML's (`a list`) for YAML values."""
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    if yaml:
        kinds.update({dict: "a mapping", list: "a list"})
    if type(value) in kinds:
        return kinds[type(value)]
    if isinstance(value, int | float):
        return "a number"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
