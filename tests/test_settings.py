"""hex_action.settings: reading INPUT_* once, and every validation problem with its input and fix."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from hex_action.errors import InputError, InputProblem
from hex_action.settings import DEFAULTS, Settings, api_token, load_settings, normalise_hex_url, read_inputs
from hex_action.steps import StepSpec

PROJECT = "5a8591dd-4039-49df-9202-96385ba3eff8"
PROJECT_V7 = "01936f3c-8b2a-7c3e-9f00-0123456789ab"
RUN = "0b9a3c52-6f1e-4a8d-9c7b-2e5f8d1a4b63"
TOKEN = "hxtp_secret_token_value"
PIPELINE = f"- name: extract\n  project-id: {PROJECT}\n- name: load\n  project-id: {PROJECT_V7}\n"


def settings(environ: Mapping[str, str] | None = None, **values: str) -> Settings:
    """Valid single-project settings, changed by `values` (keys with `_` for `-`)."""
    inputs = {"api-token": TOKEN, "project-id": PROJECT}
    inputs.update({name.replace("_", "-"): value for name, value in values.items()})
    return load_settings(inputs, environ={} if environ is None else environ)


def problems(
    environ: Mapping[str, str] | None = None, workspace: Path | None = None, **values: str
) -> list[InputProblem]:
    """The problems load_settings reports for these inputs (keys with `_` for `-`)."""
    inputs = {"api-token": TOKEN, "project-id": PROJECT}
    inputs.update({name.replace("_", "-"): value for name, value in values.items()})
    with pytest.raises(InputError) as info:
        load_settings(inputs, environ={} if environ is None else environ, workspace=workspace)
    return info.value.problems


# -- read_inputs ---------------------------------------------------------------------------------


def test_read_inputs_defaults() -> None:
    assert read_inputs({}) == DEFAULTS


def test_read_inputs_hyphen_and_underscore_spellings() -> None:
    assert read_inputs({"INPUT_PROJECT-ID": PROJECT})["project-id"] == PROJECT
    assert read_inputs({"INPUT_PROJECT_ID": PROJECT})["project-id"] == PROJECT
    assert read_inputs({"INPUT_PROJECT-ID": PROJECT, "INPUT_PROJECT_ID": PROJECT_V7})["project-id"] == PROJECT
    # The runner sets every declared input, so an empty hyphen spelling falls back to the other.
    assert read_inputs({"INPUT_PROJECT-ID": "", "INPUT_PROJECT_ID": PROJECT_V7})["project-id"] == PROJECT_V7
    assert read_inputs({"INPUT_POLL-INTERVAL": "5s", "INPUT_WAIT": "false"}) == {
        **DEFAULTS,
        "poll-interval": "5s",
        "wait": "false",
    }


def test_read_inputs_strips_white_space_and_blank_means_default() -> None:
    values = read_inputs({"INPUT_TIMEOUT": "  15m\n", "INPUT_HEX-URL": "   ", "INPUT_API-TOKEN": " tok \n"})
    assert values["timeout"] == "15m"
    assert values["hex-url"] == "https://app.hex.tech"
    assert values["api-token"] == "tok"


def test_read_inputs_ignores_other_names() -> None:
    assert read_inputs({"INPUT_project-id": PROJECT, "PROJECT_ID": PROJECT, "INPUT_UNKNOWN": "x"}) == DEFAULTS


# -- load_settings: the happy path ---------------------------------------------------------------


def test_defaults_for_a_single_project() -> None:
    s = settings()
    assert s == Settings(
        api_token=TOKEN,
        api_base_url="https://app.hex.tech/api/v1",
        steps=(StepSpec(name=PROJECT, project_id=PROJECT),),
        pipeline=False,
        wait=True,
        timeout=3600.0,
        poll_interval=15.0,
        use_run_history=True,
        cancel_on_timeout=True,
        fail_on_error=True,
        max_parallel=4,
        fail_fast=True,
    )


def test_single_project_fields() -> None:
    s = settings(
        project_id=PROJECT_V7.upper(),
        input_params='{"region": "EMEA"}',
        notifications='[{"type": "FAILURE"}]',
        update_published_results="true",
        use_cached_sql_results="no",
        dry_run="yes",
        wait="false",
        timeout="1h30m",
        poll_interval="2s",
        cancel_on_timeout="false",
        fail_on_error="off",
    )
    assert s.steps == (
        StepSpec(
            name=PROJECT_V7,
            project_id=PROJECT_V7,
            input_params={"region": "EMEA"},
            update_published_results=True,
            use_cached_sql_results=False,
            notifications=[{"type": "FAILURE"}],
            dry_run=True,
        ),
    )
    assert (s.wait, s.timeout, s.poll_interval, s.cancel_on_timeout, s.fail_on_error) == (
        False,
        5400.0,
        2.0,
        False,
        False,
    )


def test_run_id_and_view_id() -> None:
    (step,) = settings(run_id=RUN.upper()).steps
    assert step.existing_run_id == RUN
    (step,) = settings(view_id="view-1").steps
    assert step.view_id == "view-1"
    assert step.input_params is None


# -- the token -------------------------------------------------------------------------------------


def test_token_from_input_wins_over_environment() -> None:
    assert settings(environ={"HEX_API_TOKEN": "from-env"}).api_token == TOKEN


def test_token_from_hex_api_token() -> None:
    s = load_settings({"project-id": PROJECT}, environ={"HEX_API_TOKEN": " from-env\n"})
    assert s.api_token == "from-env"


def test_api_token_is_the_input_else_hex_api_token() -> None:
    # The one place the fallback is decided: cli masks exactly what settings sends.
    assert api_token({"api-token": TOKEN}, {"HEX_API_TOKEN": "from-env"}) == TOKEN
    assert api_token({"api-token": ""}, {"HEX_API_TOKEN": " from-env\n"}) == "from-env"
    assert api_token({}, {"HEX_API_TOKEN": "from-env"}) == "from-env"
    assert api_token(read_inputs({}), {}) == ""


def test_missing_token_names_the_input_and_the_fix() -> None:
    assert problems(api_token="") == [
        InputProblem(
            "api-token",
            "no Hex API token was given.",
            "pass `api-token: ${{ secrets.HEX_API_TOKEN }}` or set the HEX_API_TOKEN environment variable.",
        )
    ]


def test_token_with_white_space_is_refused_without_showing_it() -> None:
    found = problems(api_token="abc def")
    assert found == [
        InputProblem(
            "api-token", "the token contains white space.", "copy the token again, without spaces or newlines."
        )
    ]
    assert "abc" not in str(InputError(found))


def test_repr_hides_the_token() -> None:
    s = settings()
    assert TOKEN not in repr(s)
    assert TOKEN not in str(s)
    assert repr(s) == "Settings(api_base_url='https://app.hex.tech/api/v1', steps=1, pipeline=False)"


# -- single inputs -------------------------------------------------------------------------------


def test_missing_project() -> None:
    assert problems(project_id="") == [
        InputProblem("project-id", "no project was given.", "set `project-id` to the id in the project's URL.")
    ]


def test_invalid_project_id() -> None:
    assert problems(project_id="my-project") == [
        InputProblem(
            "project-id",
            "'my-project' is not a Hex id (a UUID such as 5a8591dd-4039-49df-9202-96385ba3eff8).",
            "copy the id from the project's URL in Hex.",
        )
    ]


@pytest.mark.parametrize(("raw", "shown"), [("1s", "1s"), ("1.5", "1.5s"), ("0.5s", "0.5s")])
def test_poll_interval_below_two_seconds(raw: str, shown: str) -> None:
    assert problems(poll_interval=raw) == [
        InputProblem(
            "poll-interval",
            f"{shown} is below the 2s floor (Hex allows 30 status reads a minute).",
            "use 2s or more.",
        )
    ]


def test_poll_interval_of_two_seconds_is_allowed() -> None:
    assert settings(poll_interval="2").poll_interval == 2.0


def test_bad_duration_and_booleans() -> None:
    assert problems(timeout="soon", wait="maybe", fail_fast="si") == [
        InputProblem("wait", "'maybe' is not a boolean.", "use true or false."),
        InputProblem("timeout", "'soon' is not a duration.", "use seconds or a duration such as 90s, 15m or 1h30m."),
        InputProblem("fail-fast", "'si' is not a boolean.", "use true or false."),
    ]
    assert problems(timeout="0") == [
        InputProblem(
            "timeout", "'0' must be a duration above zero.", "use seconds or a duration such as 90s, 15m or 1h30m."
        )
    ]


@pytest.mark.parametrize(("raw", "message"), [("0", "0 is outside 1 to 25."), ("26", "26 is outside 1 to 25.")])
def test_max_parallel_bounds(raw: str, message: str) -> None:
    assert problems(max_parallel=raw) == [InputProblem("max-parallel", message, "use a number from 1 to 25.")]
    assert settings(max_parallel="25").max_parallel == 25


def test_input_params_and_notifications_must_be_json_of_the_right_kind() -> None:
    assert problems(input_params="region EMEA", notifications='{"type": "FAILURE"}') == [
        InputProblem(
            "input-params",
            "is not valid JSON (Expecting value at line 1 column 1).",
            'use a JSON object such as {"region": "EMEA"}, or YAML such as region: EMEA.',
        ),
        InputProblem(
            "notifications",
            "must be a JSON array of objects, got an object.",
            'use a JSON array such as [{"type": "FAILURE", …}].',
        ),
    ]


def test_input_params_take_a_yaml_mapping_like_a_pipeline_step() -> None:
    assert settings(input_params="region: EMEA\nyears: [2024, 2025]").steps[0].input_params == {
        "region": "EMEA",
        "years": [2024, 2025],
    }
    assert problems(input_params="as_of: 2024-01-01") == [
        InputProblem(
            "input-params",
            "as_of is a date (2024-01-01), which JSON cannot carry.",
            "quote it ('2024-01-01') to send it as text.",
        )
    ]
    assert problems(input_params="- a\n- b")[0].problem == "is not valid JSON (Expecting value at line 1 column 1)."


def test_input_params_and_notifications_refuse_nan_and_infinity() -> None:
    assert problems(input_params='{"threshold": NaN}', notifications='[{"type": "FAILURE", "n": Infinity}]') == [
        InputProblem(
            "input-params",
            "is not valid JSON (NaN is not a JSON value; use a number or null).",
            'use a JSON object such as {"region": "EMEA"}, or YAML such as region: EMEA.',
        ),
        InputProblem(
            "notifications",
            "is not valid JSON (Infinity is not a JSON value; use a number or null).",
            'use a JSON array such as [{"type": "FAILURE", …}].',
        ),
    ]


def test_view_id_with_input_params() -> None:
    assert problems(view_id="view-1", input_params="{}") == [
        InputProblem(
            "view-id",
            "cannot be used together with input-params (Hex rejects the pair).",
            "set inputs in the saved view, or drop view-id.",
        )
    ]


def test_run_id_with_dry_run_or_without_wait() -> None:
    assert problems(run_id=RUN, dry_run="true") == [
        InputProblem("run-id", "a dry run cannot wait on an existing run.", "drop dry-run or run-id.")
    ]
    assert problems(run_id=RUN, wait="false") == [
        InputProblem("run-id", "with wait: false there is nothing to do for an existing run.", "drop `wait: false`.")
    ]
    assert problems(run_id="latest") == [
        InputProblem(
            "run-id",
            "'latest' is not a Hex id (a UUID such as 5a8591dd-4039-49df-9202-96385ba3eff8).",
            "use the run-id output of the step that started the run.",
        )
    ]


def test_inputs_that_shape_a_new_run_are_refused_with_run_id() -> None:
    found = problems(
        run_id=RUN,
        input_params='{"region": "EMEA"}',
        update_published_results="true",
        use_cached_sql_results="false",
        view_id="view-1",
        notifications='[{"type": "FAILURE"}]',
    )
    assert found == [
        InputProblem(name, "has no effect with run-id: the run was already started.", f"drop `{name}`, or drop run-id.")
        for name in (
            "input-params",
            "update-published-results",
            "use-cached-sql-results",
            "view-id",
            "notifications",
        )
    ]


def test_run_id_accepts_the_run_switches_at_their_defaults() -> None:
    (step,) = settings(run_id=RUN, update_published_results="false", use_cached_sql_results="true").steps
    assert step == StepSpec(name=PROJECT, project_id=PROJECT, existing_run_id=RUN)


def test_run_id_with_input_params_that_are_not_json_reports_only_that_they_have_no_effect() -> None:
    assert problems(run_id=RUN, input_params="{bad", notifications="[") == [
        InputProblem(
            "input-params",
            "has no effect with run-id: the run was already started.",
            "drop `input-params`, or drop run-id.",
        ),
        InputProblem(
            "notifications",
            "has no effect with run-id: the run was already started.",
            "drop `notifications`, or drop run-id.",
        ),
    ]


def test_several_problems_are_reported_together_in_input_order() -> None:
    found = problems(api_token="", hex_url="http://app.hex.tech", timeout="soon", project_id="")
    assert [p.input_name for p in found] == ["api-token", "hex-url", "timeout", "project-id"]
    message = str(InputError(found))
    assert message.splitlines() == [str(p) for p in found]
    assert message.splitlines()[2] == (
        "Input 'timeout': 'soon' is not a duration. Fix: use seconds or a duration such as 90s, 15m or 1h30m."
    )


# -- hex-url ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "base"),
    [
        ("https://app.hex.tech", "https://app.hex.tech/api/v1"),
        ("https://app.hex.tech/", "https://app.hex.tech/api/v1"),
        ("https://app.hex.tech/api/v1", "https://app.hex.tech/api/v1"),
        ("https://app.hex.tech/api/v1/", "https://app.hex.tech/api/v1"),
        ("https://app.hex.tech/api", "https://app.hex.tech/api/v1"),
        (" https://eu.hex.tech ", "https://eu.hex.tech/api/v1"),
        ("https://atreides.hex.tech/api/v1", "https://atreides.hex.tech/api/v1"),
        ("http://localhost:8080", "http://localhost:8080/api/v1"),
        ("http://127.0.0.1:9000/api/v1", "http://127.0.0.1:9000/api/v1"),
        ("http://[::1]:8080/", "http://[::1]:8080/api/v1"),
    ],
)
def test_hex_url_normalisation(raw: str, base: str) -> None:
    assert normalise_hex_url(raw) == base


PLAIN_HTTP = "uses plain http, which would send the token unencrypted."
NOT_HTTP = "is not an http(s) URL."
NOT_BARE = "should be the workspace address only, without query or credentials."


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("http://app.hex.tech", PLAIN_HTTP),
        ("http://eu.hex.tech/api/v1", PLAIN_HTTP),
        ("http://10.0.0.5:8080", PLAIN_HTTP),
        ("http://localhost.evil.example", PLAIN_HTTP),
        ("app.hex.tech", NOT_HTTP),
        ("ftp://app.hex.tech", NOT_HTTP),
        ("https://", NOT_HTTP),
        ("https://user:pw@app.hex.tech", NOT_BARE),
        ("https://app.hex.tech?x=1", NOT_BARE),
        ("https://app.hex.tech#top", NOT_BARE),
    ],
)
def test_hex_url_refusals(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"^'") as info:
        normalise_hex_url(raw)
    assert str(info.value) == f"'{raw}' {reason}"


def test_hex_url_problem_names_the_input_and_the_fix() -> None:
    assert problems(hex_url="http://app.hex.tech") == [
        InputProblem(
            "hex-url",
            "'http://app.hex.tech' uses plain http, which would send the token unencrypted.",
            "use your workspace URL, e.g. https://app.hex.tech.",
        )
    ]
    assert settings(hex_url="https://eu.hex.tech/").api_base_url == "https://eu.hex.tech/api/v1"


# -- pipelines -------------------------------------------------------------------------------------


def pipeline_settings(environ: Mapping[str, str] | None = None, **values: str) -> Settings:
    inputs = {"api-token": TOKEN, **{name.replace("_", "-"): value for name, value in values.items()}}
    return load_settings(inputs, environ={} if environ is None else environ)


def pipeline_problems(
    workspace: Path | None = None, environ: Mapping[str, str] | None = None, **values: str
) -> list[InputProblem]:
    inputs = {"api-token": TOKEN, **{name.replace("_", "-"): value for name, value in values.items()}}
    with pytest.raises(InputError) as info:
        load_settings(inputs, environ={} if environ is None else environ, workspace=workspace)
    return info.value.problems


def test_pipeline_from_the_input() -> None:
    s = pipeline_settings(pipeline=PIPELINE, max_parallel="2", fail_fast="false")
    assert s.pipeline
    assert s.steps == (
        StepSpec(name="extract", project_id=PROJECT),
        StepSpec(name="load", project_id=PROJECT_V7),
    )
    assert (s.max_parallel, s.fail_fast) == (2, False)


def test_pipeline_and_project_id_are_exclusive() -> None:
    assert pipeline_problems(pipeline=PIPELINE, project_id=PROJECT, input_params="{}") == [
        InputProblem(
            "project-id", "cannot be used with a pipeline.", "set `project-id` on the pipeline's steps instead."
        ),
        InputProblem(
            "input-params", "cannot be used with a pipeline.", "set `input-params` on the pipeline's steps instead."
        ),
    ]


def test_pipeline_and_pipeline_file_are_exclusive() -> None:
    assert pipeline_problems(pipeline=PIPELINE, pipeline_file="p.yml") == [
        InputProblem("pipeline-file", "pipeline and pipeline-file cannot be used together.", "keep one of them.")
    ]


def test_pipeline_refuses_dry_run_rather_than_starting_real_runs() -> None:
    assert pipeline_problems(pipeline=PIPELINE, dry_run="true") == [
        InputProblem("dry-run", "a pipeline cannot be a dry run: its steps would start real runs.", "drop dry-run.")
    ]
    assert not any(step.dry_run for step in pipeline_settings(pipeline=PIPELINE, dry_run="false").steps)


def test_pipeline_refuses_action_level_run_switches() -> None:
    assert pipeline_problems(pipeline=PIPELINE, use_cached_sql_results="false", update_published_results="true") == [
        InputProblem(
            "update-published-results",
            "cannot be used with a pipeline.",
            "set `update-published-results` on the pipeline's steps instead.",
        ),
        InputProblem(
            "use-cached-sql-results",
            "cannot be used with a pipeline.",
            "set `use-cached-sql-results` on the pipeline's steps instead.",
        ),
    ]


def test_pipeline_refuses_wait_false() -> None:
    assert pipeline_problems(pipeline=PIPELINE, wait="false") == [
        InputProblem(
            "wait", "a pipeline always waits: each step needs the outcome of the ones before it.", "drop `wait: false`."
        )
    ]


def test_pipeline_problems_are_reported_with_the_others() -> None:
    found = pipeline_problems(pipeline="- name: a\n", timeout="soon")
    assert found == [
        InputProblem("timeout", "'soon' is not a duration.", "use seconds or a duration such as 90s, 15m or 1h30m."),
        InputProblem("pipeline", "step 'a' has no project-id.", "add the id of the published project to run."),
    ]


def test_pipeline_file_is_read_relative_to_github_workspace(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "pipeline.yml").write_text(PIPELINE, encoding="utf-8")
    s = pipeline_settings(environ={"GITHUB_WORKSPACE": str(tmp_path)}, pipeline_file=".github/pipeline.yml")
    assert [step.name for step in s.steps] == ["extract", "load"]
    assert s.pipeline


def test_pipeline_file_absolute_path_and_explicit_workspace(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(f'[{{"project-id": "{PROJECT}"}}]', encoding="utf-8")
    s = pipeline_settings(environ={"GITHUB_WORKSPACE": "/nonexistent"}, pipeline_file=str(path))
    assert s.steps == (StepSpec(name="1", project_id=PROJECT),)
    s = load_settings(
        {"api-token": TOKEN, "pipeline-file": "p.json"},
        environ={"GITHUB_WORKSPACE": "/nonexistent"},
        workspace=tmp_path,
    )
    assert s.steps == (StepSpec(name="1", project_id=PROJECT),)


def test_pipeline_file_missing(tmp_path: Path) -> None:
    assert pipeline_problems(environ={"GITHUB_WORKSPACE": str(tmp_path)}, pipeline_file="nope.yml") == [
        InputProblem(
            "pipeline-file", "cannot read nope.yml (No such file or directory).", "give a path inside the workspace."
        )
    ]


def test_pipeline_file_that_is_not_text(tmp_path: Path) -> None:
    (tmp_path / "p.yml").write_bytes(b"\xff\xfe\x00\x01")
    assert pipeline_problems(workspace=tmp_path, pipeline_file="p.yml") == [
        InputProblem("pipeline-file", "p.yml is not UTF-8 text.", "give the path of a YAML or JSON file.")
    ]


def test_pipeline_file_problems_name_the_file_input(tmp_path: Path) -> None:
    (tmp_path / "p.yml").write_text("- name: a\n  project-id: nope\n", encoding="utf-8")
    assert pipeline_problems(workspace=tmp_path, pipeline_file="p.yml") == [
        InputProblem(
            "pipeline-file",
            "step 'a', field 'project-id': 'nope' is not a Hex id (a UUID such as "
            "5a8591dd-4039-49df-9202-96385ba3eff8).",
            "copy the id from the project's URL in Hex.",
        )
    ]
