"""hex_action.pipeline: parsing and checking a pipeline before any request is sent."""

from __future__ import annotations

import json

import pytest

from hex_action.errors import InputProblem
from hex_action.pipeline import find_cycle, graph_mode, parse_pipeline
from hex_action.steps import StepSpec

A = "5a8591dd-4039-49df-9202-96385ba3eff8"
B = "01936f3c-8b2a-7c3e-9f00-0123456789ab"
C = "0b9a3c52-6f1e-4a8d-9c7b-2e5f8d1a4b63"
FIELDS = (
    "input-params, name, needs, notifications, project-id, timeout, update-published-results, "
    "use-cached-sql-results, view-id"
)


def parsed(text: str) -> list[StepSpec]:
    steps, problems = parse_pipeline(text)
    assert problems == []
    return steps


def problems_of(text: str, source: str = "pipeline") -> list[InputProblem]:
    return parse_pipeline(text, source)[1]


def problem(text: str, fix: str) -> InputProblem:
    return InputProblem("pipeline", text, fix)


# -- accepted forms ------------------------------------------------------------------------------


def test_yaml_list_with_needs() -> None:
    steps = parsed(
        f"""
- name: extract
  project-id: {A}
- name: transform
  project-id: {B}
  needs: extract
- name: publish
  project-id: {C}
  needs: [extract, transform]
"""
    )
    assert steps == [
        StepSpec(name="extract", project_id=A),
        StepSpec(name="transform", project_id=B, needs=("extract",)),
        StepSpec(name="publish", project_id=C, needs=("extract", "transform")),
    ]
    assert graph_mode(steps)


def test_json_list_names_steps_by_position() -> None:
    steps = parsed(json.dumps([{"project-id": A}, {"project-id": B.upper()}, {"name": "last", "project-id": A}]))
    assert steps == [
        StepSpec(name="1", project_id=A),
        StepSpec(name="2", project_id=B),
        StepSpec(name="last", project_id=A),
    ]
    assert not graph_mode(steps)


def test_steps_mapping() -> None:
    assert parsed(f"steps:\n  - project-id: {A}\n") == [StepSpec(name="1", project_id=A)]
    assert parsed(json.dumps({"steps": [{"project-id": B}]})) == [StepSpec(name="1", project_id=B)]


def test_every_field() -> None:
    steps = parsed(
        f"""
- name: a
  project-id: {A}
  input-params: {{region: EMEA, days: 7}}
  notifications:
    - type: FAILURE
      recipientType: USER
  update-published-results: true
  use-cached-sql-results: "false"
  timeout: 15m
- name: b
  project-id: {B}
  input-params: '{{"region": "APAC"}}'
  notifications: '[{{"type": "ALL"}}]'
  timeout: 90
  needs: [a, a]
- name: 3
  project-id: {C}
  view-id: " view-1 "
  timeout: 1.5
  needs: b
"""
    )
    assert steps == [
        StepSpec(
            name="a",
            project_id=A,
            input_params={"region": "EMEA", "days": 7},
            update_published_results=True,
            use_cached_sql_results=False,
            notifications=[{"type": "FAILURE", "recipientType": "USER"}],
            timeout=900.0,
        ),
        StepSpec(
            name="b",
            project_id=B,
            input_params={"region": "APAC"},
            notifications=[{"type": "ALL"}],
            timeout=90.0,
            needs=("a",),
        ),
        StepSpec(name="3", project_id=C, view_id="view-1", timeout=1.5, needs=("b",)),
    ]


def test_needs_by_position_name() -> None:
    steps = parsed(f"- project-id: {A}\n- project-id: {B}\n  needs: 1\n")
    assert steps[1].needs == ("1",)


# -- refused forms, each naming the step --------------------------------------------------------


def test_unknown_needs() -> None:
    text = f"- name: a\n  project-id: {A}\n- name: b\n  project-id: {B}\n  needs: [a, extract]\n"
    assert problems_of(text) == [problem("step 'b' needs 'extract', which is not a step.", "name an existing step.")]


def test_step_that_needs_itself() -> None:
    assert problems_of(f"- name: a\n  project-id: {A}\n  needs: a\n") == [
        problem("step 'a' needs itself.", "remove it from its own needs.")
    ]


def test_cycle_shows_the_cycle() -> None:
    text = f"""
- name: a
  project-id: {A}
  needs: c
- name: b
  project-id: {B}
  needs: a
- name: c
  project-id: {C}
  needs: b
- name: d
  project-id: {C}
"""
    assert problems_of(text) == [
        problem("steps form a cycle: a -> c -> b -> a.", "remove one of the needs in the cycle.")
    ]


def test_cycle_not_through_the_first_step() -> None:
    text = f"""
- name: start
  project-id: {A}
- name: x
  project-id: {B}
  needs: [start, y]
- name: y
  project-id: {C}
  needs: x
"""
    assert problems_of(text) == [problem("steps form a cycle: x -> y -> x.", "remove one of the needs in the cycle.")]


def test_find_cycle_without_cycle() -> None:
    steps = [StepSpec(name="a", project_id=A), StepSpec(name="b", project_id=B, needs=("a",))]
    assert find_cycle(steps) == []


def test_duplicate_names() -> None:
    text = f"- name: x\n  project-id: {A}\n- name: x\n  project-id: {B}\n- name: '1'\n  project-id: {C}\n"
    assert problems_of(text) == [problem("step name 'x' is used more than once.", "give every step a unique name.")]
    # A written name may collide with a default one.
    text = f"- project-id: {A}\n- name: '1'\n  project-id: {B}\n"
    assert problems_of(text) == [problem("step name '1' is used more than once.", "give every step a unique name.")]


def test_missing_project_id() -> None:
    assert problems_of(f"- name: a\n  project-id: {A}\n- name: b\n") == [
        problem("step 'b' has no project-id.", "add the id of the published project to run.")
    ]


def test_unknown_field() -> None:
    assert problems_of(f"- name: a\n  project_id: {A}\n") == [
        problem("step 'a' has an unknown field 'project_id'.", f"use only: {FIELDS}."),
        problem("step 'a' has no project-id.", "add the id of the published project to run."),
    ]
    assert problems_of(f"- project-id: {A}\n  dry-run: true\n") == [
        problem("step '1' has an unknown field 'dry-run'.", f"use only: {FIELDS}.")
    ]


def test_unknown_fields_of_mixed_key_types() -> None:
    # Sorting 1 with "foo" raised TypeError.
    assert problems_of(f"- {{project-id: {A}, 1: a, foo: b, 2024-01-01: c, ~: d, '1': e}}\n") == [
        problem(f"step '1' has an unknown field '{key}'.", f"use only: {FIELDS}.")
        for key in ("1", "2024-01-01", "None", "foo")
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "'soon' is not a duration."),
        ("0", "'0' must be a duration above zero."),
        ("-5m", "'-5m' is not a duration."),
        ("[1]", "must be text, got list."),
    ],
)
def test_bad_timeout(value: str, message: str) -> None:
    assert problems_of(f"- name: a\n  project-id: {A}\n  timeout: {value}\n") == [
        problem(f"step 'a', field 'timeout': {message}", "use a duration such as 15m.")
    ]


def test_bad_project_id() -> None:
    assert problems_of("- name: a\n  project-id: my-project\n- name: b\n  project-id: 123\n") == [
        problem(
            "step 'a', field 'project-id': 'my-project' is not a Hex id "
            "(a UUID such as 5a8591dd-4039-49df-9202-96385ba3eff8).",
            "copy the id from the project's URL in Hex.",
        ),
        problem("step 'b', field 'project-id': must be text, got int.", "copy the id from the project's URL in Hex."),
    ]


def test_bad_booleans_and_json_fields() -> None:
    text = f"""
- name: a
  project-id: {A}
  update-published-results: maybe
  input-params: [1]
  notifications: {{type: FAILURE}}
- name: b
  project-id: {B}
  input-params: 'region=EMEA'
"""
    fix = "see the README's pipeline section for the form."
    assert problems_of(text) == [
        problem("step 'a', field 'input-params': must be a mapping, got a list.", fix),
        problem("step 'a', field 'notifications': must be a list of mappings, got a mapping.", fix),
        problem("step 'a', field 'update-published-results': 'maybe' is not a boolean.", "use true or false."),
        problem("step 'b', field 'input-params': is not valid JSON (Expecting value at line 1 column 1).", fix),
    ]


def test_json_fields_refuse_items_that_are_not_mappings() -> None:
    assert problems_of(f"- name: a\n  project-id: {A}\n  notifications: [{{type: FAILURE}}, ALL]\n") == [
        problem(
            "step 'a', field 'notifications': must be a list of mappings, "
            "got a list with an item that is not a mapping.",
            "see the README's pipeline section for the form.",
        )
    ]


@pytest.mark.parametrize(
    ("value", "message", "fix"),
    [
        ("{as_of: 2024-01-01}", "as_of is a date (2024-01-01)", "quote it ('2024-01-01') to send it as text."),
        (
            "{window: {since: [1, 2024-01-01 10:00:00]}}",
            "window.since[1] is a datetime (2024-01-01 10:00:00)",
            "quote it ('2024-01-01 10:00:00') to send it as text.",
        ),
        ("{threshold: .nan}", "threshold is nan", "use a finite number or null."),
        ("{limit: -.inf}", "limit is -inf", "use a finite number or null."),
        ("{2024-01-01: x}", "a key is a date (2024-01-01)", "quote it ('2024-01-01') to send it as text."),
        ("{blob: !!binary aGk=}", "blob is a bytes (b'hi')", "quote it to send it as text."),
        ("{tags: !!set {a: null}}", "tags is a set ({'a'})", "quote it to send it as text."),
        (
            "&p {nested: *p}",
            "nested is a YAML alias of something that contains it",
            "write the value out instead of the alias.",
        ),
    ],
)
def test_yaml_values_json_cannot_carry_are_input_errors(value: str, message: str, fix: str) -> None:
    # requests would raise TypeError on a date (or send NaN) when the step starts, after others had run.
    assert problems_of(f"- name: a\n  project-id: {A}\n  input-params: {value}\n") == [
        problem(f"step 'a', field 'input-params': {message}, which JSON cannot carry.", fix)
    ]


def test_notifications_with_a_yaml_date_name_the_item() -> None:
    text = f"- name: a\n  project-id: {A}\n  notifications:\n    - type: FAILURE\n      after: 2024-01-01\n"
    assert problems_of(text) == [
        problem(
            "step 'a', field 'notifications': [0].after is a date (2024-01-01), which JSON cannot carry.",
            "quote it ('2024-01-01') to send it as text.",
        )
    ]


def test_quoted_yaml_values_and_integer_keys_are_sent_as_json() -> None:
    (step,) = parsed(f"- project-id: {A}\n  input-params: {{as_of: '2024-01-01', 7: seven, ok: true, n: 1.5}}\n")
    assert step.input_params == {"as_of": "2024-01-01", 7: "seven", "ok": True, "n": 1.5}
    assert (
        json.dumps(step.request_body()["inputParams"]) == '{"as_of": "2024-01-01", "7": "seven", "ok": true, "n": 1.5}'
    )


def test_view_id_with_input_params() -> None:
    assert problems_of(f"- name: a\n  project-id: {A}\n  view-id: v\n  input-params: {{x: 1}}\n") == [
        problem(
            "step 'a', field 'view-id': cannot be used together with input-params (Hex rejects the pair).",
            "set inputs in the saved view, or drop view-id.",
        )
    ]


def test_bad_needs_shape() -> None:
    assert problems_of(f"- name: a\n  project-id: {A}\n  needs: {{a: 1}}\n") == [
        problem("step 'a', field 'needs': must be a step name or a list of them.", "write `needs: [extract]`.")
    ]


def test_step_that_is_not_a_mapping_and_bad_names() -> None:
    assert problems_of(f"- project-id: {A}\n- just a string\n- name: ''\n  project-id: {B}\n") == [
        problem("step 2 is not a mapping.", "write each step as `- project-id: …`."),
        problem("step 3 has an empty or invalid name.", "use a short text name."),
    ]


@pytest.mark.parametrize(
    "text",
    ["", "[]", "just text", f"project-id: {A}", "42", f"steps:\n  - project-id: {A}\nother: 1\n", "steps: []"],
)
def test_not_a_list_of_steps(text: str) -> None:
    assert problems_of(text) == [
        problem("must be a non-empty list of steps.", "write a list of steps, each with a project-id.")
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("- a: [1\n", "line 2 column 1"),
        ("key: [unclosed", "line 1 column 15"),
        ("{", "line 1 column 2"),
        ("\t- x", "line 1 column 1"),
    ],
)
def test_invalid_yaml(text: str, where: str) -> None:
    assert problems_of(text) == [
        problem(f"is not valid YAML or JSON at {where}.", "write a list of steps, each with a project-id.")
    ]


def test_problems_name_the_source_input() -> None:
    assert problems_of("- name: a\n", source="pipeline-file") == [
        InputProblem("pipeline-file", "step 'a' has no project-id.", "add the id of the published project to run.")
    ]


def test_every_problem_is_reported_and_the_cycle_check_waits_for_them() -> None:
    text = f"""
- name: a
  project-id: {A}
  needs: b
- name: b
  project-id: nope
  needs: a
- name: c
  project-id: {C}
  needs: missing
"""
    assert [p.problem for p in problems_of(text)] == [
        "step 'b', field 'project-id': 'nope' is not a Hex id (a UUID such as 5a8591dd-4039-49df-9202-96385ba3eff8).",
        "step 'c' needs 'missing', which is not a step.",
    ]


def test_graph_mode() -> None:
    assert not graph_mode([])
    assert not graph_mode((StepSpec(name="a", project_id=A), StepSpec(name="b", project_id=B)))
    assert graph_mode((StepSpec(name="a", project_id=A), StepSpec(name="b", project_id=B, needs=("a",))))
