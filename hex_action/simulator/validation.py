"""Checks of what clients send: RunProject bodies and GetProjectRuns query parameters.

Each parser returns what it could read and the list of problems found, which the endpoints turn into
one 400 answer listing them all (as Hex's ``issues``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hex_action.simulator.state import RUN_STATUSES, RUN_TRIGGERS

# RunProjectRequestBody fields and their JSON types. The 2026-08 spec declares the body with
# additionalProperties: false, so unknown keys are answered with 400 (this catches typos in a client).
BODY_FIELDS: dict[str, type] = {
    "inputParams": dict,
    "dryRun": bool,
    "updateCache": bool,  # deprecated but still accepted by Hex
    "updatePublishedResults": bool,
    "useCachedSqlResults": bool,
    "viewId": str,
    "notifications": list,
}
NOTIFICATION_TYPES = ("SUCCESS", "FAILURE", "ALL")


def parse_run_body(raw: bytes) -> tuple[dict[str, Any], list[str]]:
    """Parse and type-check a RunProject body; return it and the problems found."""
    if not raw.strip():
        return {}, []
    try:
        body = json.loads(raw)
    except ValueError:
        return {}, ["Request body is not valid JSON"]
    if not isinstance(body, dict):
        return {}, ["Request body must be a JSON object"]
    problems = [f"Unrecognized key in body: '{key}'" for key in body if key not in BODY_FIELDS]
    for key, expected in BODY_FIELDS.items():
        if key in body and not isinstance(body[key], expected):
            problems.append(f"'{key}' must be of type {_json_type_name(expected)}")
    if isinstance(body.get("notifications"), list):
        for index, item in enumerate(body["notifications"]):
            if not isinstance(item, dict):
                problems.append(f"notifications[{index}] must be an object")
                continue
            if item.get("type") not in NOTIFICATION_TYPES:
                problems.append(f"notifications[{index}].type must be one of {', '.join(NOTIFICATION_TYPES)}")
            if not isinstance(item.get("includeSuccessScreenshot"), bool):
                problems.append(f"notifications[{index}].includeSuccessScreenshot must be a boolean")
    return body, problems


def _json_type_name(kind: type) -> str:
    return {dict: "object", list: "array", bool: "boolean", str: "string"}[kind]


def parse_list_query(params: Mapping[str, list[str]]) -> tuple[dict[str, Any], list[str]]:
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
    triggers = (*RUN_TRIGGERS, "ALL")
    if query["runTriggerFilter"] is not None and query["runTriggerFilter"] not in triggers:
        problems.append(f"'runTriggerFilter' must be one of {', '.join(triggers)}")
    return query, problems
