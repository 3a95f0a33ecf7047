"""Pipelines: parse and check a YAML or JSON list of steps, before any request is sent."""

from __future__ import annotations

from typing import Any

import yaml

from hex_action import inputs as parse
from hex_action.errors import InputProblem
from hex_action.steps import StepSpec

_FIELDS = frozenset(
    {
        "name",
        "project-id",
        "input-params",
        "update-published-results",
        "use-cached-sql-results",
        "view-id",
        "notifications",
        "timeout",
        "needs",
    }
)


def parse_pipeline(text: str, source: str = "pipeline") -> tuple[list[StepSpec], list[InputProblem]]:
    """Steps from YAML or JSON text (a list of steps, or `{steps: [...]}`), and every problem found.

    Steps without `name` are named by their position (`1`, `2`, …). A pipeline with no
    `needs` anywhere runs in the written order; `graph_mode` tells the two apart.
    """
    problems: list[InputProblem] = []

    def problem(text: str, fix: str) -> None:
        problems.append(InputProblem(source, text, fix))

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem(f"is not valid YAML or JSON{where}.", "write a list of steps, each with a project-id.")
        return [], problems
    if isinstance(document, dict) and set(document) == {"steps"}:
        document = document["steps"]
    if not isinstance(document, list) or not document:
        problem("must be a non-empty list of steps.", "write a list of steps, each with a project-id.")
        return [], problems

    steps: list[StepSpec] = []
    for position, raw in enumerate(document, start=1):
        step = _parse_step(raw, position, problem)
        if step is not None:
            steps.append(step)

    names = [s.name for s in steps]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problem(f"step name '{name}' is used more than once.", "give every step a unique name.")
    known = set(names)
    for step in steps:
        for need in step.needs:
            if need not in known:
                problem(f"step '{step.name}' needs '{need}', which is not a step.", "name an existing step.")
            elif need == step.name:
                problem(f"step '{step.name}' needs itself.", "remove it from its own needs.")
    if not problems:
        cycle = find_cycle(steps)
        if cycle:
            problem(f"steps form a cycle: {' -> '.join(cycle)}.", "remove one of the needs in the cycle.")
    return steps, problems


def graph_mode(steps: list[StepSpec] | tuple[StepSpec, ...]) -> bool:
    """Whether any step has `needs` (run as a graph) rather than in written order."""
    return any(step.needs for step in steps)


def find_cycle(steps: list[StepSpec] | tuple[StepSpec, ...]) -> list[str]:
    """A cycle among the steps' needs as a list of names (first repeated at the end), or []."""
    needs = {s.name: s.needs for s in steps}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        path.append(name)
        for need in needs.get(name, ()):
            if state.get(need) == 1:
                return [*path[path.index(need) :], need]
            if need in needs and need not in state:
                found = visit(need)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return []

    for name in needs:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return []


def _parse_step(raw: Any, position: int, problem: Any) -> StepSpec | None:
    label = f"step {position}"
    if not isinstance(raw, dict):
        problem(f"{label} is not a mapping.", "write each step as `- project-id: …`.")
        return None
    name = raw.get("name", str(position))
    if not isinstance(name, str | int) or not str(name).strip():
        problem(f"{label} has an empty or invalid name.", "use a short text name.")
        name = str(position)
    name = str(name).strip()
    label = f"step '{name}'"
    # Keys as text: YAML keys may be numbers, dates or null, which do not sort with strings.
    for key in sorted({str(key) for key in raw} - _FIELDS):
        problem(f"{label} has an unknown field '{key}'.", f"use only: {', '.join(sorted(_FIELDS))}.")

    def field(key: str, parser: Any, fallback: Any, fix: str, *, text: bool = True) -> Any:
        if key not in raw or raw[key] is None:
            return fallback
        value = raw[key]
        try:
            if isinstance(value, bool) and parser is parse.parse_bool:
                return value
            if isinstance(value, int | float) and parser is parse.parse_duration:
                value = str(value)
            if text and not isinstance(value, str):
                raise ValueError(f"must be text, got {type(value).__name__}.")
            return parser(value)
        except ValueError as exc:
            problem(f"{label}, field '{key}': {exc}", exc.fix if isinstance(exc, parse.NotJsonError) else fix)
            return fallback

    if "project-id" not in raw:
        problem(f"{label} has no project-id.", "add the id of the published project to run.")
    project_id = field("project-id", parse.parse_uuid, "", "copy the id from the project's URL in Hex.")
    # As YAML structure, or as a JSON string like the single-project inputs.
    json_fix = "see the README's pipeline section for the form."
    input_params = field("input-params", parse.parse_json_object, None, json_fix, text=False)
    notifications = field("notifications", parse.parse_json_array_of_objects, None, json_fix, text=False)
    view_id = field("view-id", lambda v: v.strip(), None, "use the saved view's id.")
    try:
        parse.check_view_id(view_id, input_params)
    except ValueError as exc:
        problem(f"{label}, field 'view-id': {exc}", parse.VIEW_ID_FIX)
    needs_raw = raw.get("needs") or []
    if isinstance(needs_raw, str | int):
        needs_raw = [needs_raw]
    if not isinstance(needs_raw, list) or not all(isinstance(n, str | int) for n in needs_raw):
        problem(f"{label}, field 'needs': must be a step name or a list of them.", "write `needs: [extract]`.")
        needs_raw = []
    bool_fix = "use true or false."
    return StepSpec(
        name=name,
        project_id=project_id,
        input_params=input_params,
        update_published_results=field("update-published-results", parse.parse_bool, False, bool_fix),
        use_cached_sql_results=field("use-cached-sql-results", parse.parse_bool, True, bool_fix),
        view_id=view_id,
        notifications=notifications,
        timeout=field("timeout", parse.parse_duration, None, "use a duration such as 15m."),
        needs=tuple(dict.fromkeys(str(n) for n in needs_raw)),
    )
