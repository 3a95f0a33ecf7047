"""The action's settings, read once from the inputs and validated before any request.

Inputs arrive as `INPUT_<NAME>` environment variables. The runner keeps hyphens
(`INPUT_PROJECT-ID`), which shells cannot reference, so both spellings are read
(see shared/github-actions-runtime.md, B1). Every problem is collected and reported
together, each naming its input and the fix.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from hex_action import inputs as parse
from hex_action.errors import InputError, InputProblem
from hex_action.steps import StepSpec

T = TypeVar("T")

#: Every input the action declares (action.yml), with its default.
DEFAULTS: dict[str, str] = {
    "api-token": "",
    "project-id": "",
    "input-params": "",
    "hex-url": "https://app.hex.tech",
    "wait": "true",
    "timeout": "1h",
    "poll-interval": "15s",
    "use-run-history": "true",
    "cancel-on-timeout": "true",
    "fail-on-error": "true",
    "update-published-results": "false",
    "use-cached-sql-results": "true",
    "dry-run": "false",
    "view-id": "",
    "notifications": "",
    "run-id": "",
    "pipeline": "",
    "pipeline-file": "",
    "max-parallel": "4",
    "fail-fast": "true",
    "summary": "true",
}

#: Hex allows 30 status reads a minute per user: one every 2 s is the ceiling for one run.
MIN_POLL_INTERVAL = 2.0
#: Hex allows 25 kernels at once per user.
MAX_PARALLEL = 25


@dataclass(frozen=True)
class Settings:
    """Everything the action needs, validated. `api_token` is never printed."""

    api_token: str
    api_base_url: str
    steps: tuple[StepSpec, ...]
    pipeline: bool
    wait: bool
    timeout: float
    poll_interval: float
    use_run_history: bool
    cancel_on_timeout: bool
    fail_on_error: bool
    max_parallel: int
    fail_fast: bool
    #: Write the job summary (outputs and annotations are written either way).
    summary: bool = True

    def __repr__(self) -> str:  # keep the token out of any accidental repr
        return f"Settings(api_base_url={self.api_base_url!r}, steps={len(self.steps)}, pipeline={self.pipeline})"


def api_token(values: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """The Hex API token: the `api-token` input, else the HEX_API_TOKEN environment variable, else ""."""
    return values.get("api-token", "") or environ.get("HEX_API_TOKEN", "").strip()


#: Environment variables read when an input is not given (the token's, HEX_API_TOKEN, is read by `api_token`).
ENV_FALLBACKS = {"hex-url": "HEX_URL"}


def read_inputs(environ: Mapping[str, str]) -> dict[str, str]:
    """The raw input values: `INPUT_PROJECT-ID` or `INPUT_PROJECT_ID`, else its ENV_FALLBACKS variable or default."""
    values: dict[str, str] = {}
    for name, default in DEFAULTS.items():
        upper = name.upper()
        raw = environ.get(f"INPUT_{upper}")
        if raw is None or raw == "":
            raw = environ.get(f"INPUT_{upper.replace('-', '_')}")
        if (raw is None or raw.strip() == "") and name in ENV_FALLBACKS:
            raw = environ.get(ENV_FALLBACKS[name])
        values[name] = default if raw is None or raw.strip() == "" else raw.strip()
    return values


class _Collector:
    """Runs parsers and gathers their problems instead of stopping at the first."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.problems: list[InputProblem] = []

    def add(self, name: str, problem: str, fix: str) -> None:
        self.problems.append(InputProblem(name, problem, fix))

    def get(self, name: str, parser: Callable[[str], T], fallback: T, fix: str) -> T:
        try:
            return parser(self.values[name])
        except ValueError as exc:
            self.add(name, str(exc), exc.fix if isinstance(exc, parse.NotJsonError) else fix)
            return fallback

    def optional(self, name: str, parser: Callable[[str], T], fix: str) -> T | None:
        if not self.values[name]:
            return None
        return self.get(name, parser, None, fix)


def load_settings(
    values: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    workspace: Path | None = None,
) -> Settings:
    """Validate the raw input values; raise `InputError` listing every problem."""
    environ = os.environ if environ is None else environ
    c = _Collector({**DEFAULTS, **values})
    bool_fix = "use true or false."

    token = api_token(c.values, environ)
    if not token:
        c.add(
            "api-token",
            "no Hex API token was given.",
            "pass `api-token: ${{ secrets.HEX_API_TOKEN }}` or set the HEX_API_TOKEN environment variable.",
        )
    elif any(ch.isspace() for ch in token):
        c.add("api-token", "the token contains white space.", "copy the token again, without spaces or newlines.")

    api_base_url = c.get("hex-url", normalise_hex_url, "", "use your workspace URL, e.g. https://app.hex.tech.")
    wait = c.get("wait", parse.parse_bool, True, bool_fix)
    timeout = c.get("timeout", parse.parse_duration, 3600.0, "use seconds or a duration such as 90s, 15m or 1h30m.")
    poll_interval = c.get("poll-interval", parse.parse_duration, 15.0, "use a duration such as 15s.")
    if poll_interval < MIN_POLL_INTERVAL:
        c.add(
            "poll-interval",
            f"{parse.format_duration(poll_interval)} is below the 2s floor (Hex allows 30 status reads a minute).",
            "use 2s or more.",
        )
    use_run_history = c.get("use-run-history", parse.parse_bool, True, bool_fix)
    cancel_on_timeout = c.get("cancel-on-timeout", parse.parse_bool, True, bool_fix)
    fail_on_error = c.get("fail-on-error", parse.parse_bool, True, bool_fix)
    max_parallel = c.get(
        "max-parallel", lambda raw: parse.parse_int(raw, 1, MAX_PARALLEL), 4, "use a number from 1 to 25."
    )
    fail_fast = c.get("fail-fast", parse.parse_bool, True, bool_fix)
    summary = c.get("summary", parse.parse_bool, True, bool_fix)

    pipeline_text = c.values["pipeline"]
    pipeline_file = c.values["pipeline-file"]
    steps: tuple[StepSpec, ...] = ()
    if pipeline_text or pipeline_file:
        steps = _pipeline_steps(c, pipeline_text, pipeline_file, workspace, environ)
        if not wait:
            c.add(
                "wait",
                "a pipeline always waits: each step needs the outcome of the ones before it.",
                "drop `wait: false`.",
            )
    else:
        steps = _single_step(c, wait)

    if c.problems:
        raise InputError(c.problems)
    return Settings(
        api_token=token,
        api_base_url=api_base_url,
        steps=steps,
        pipeline=bool(pipeline_text or pipeline_file),
        wait=wait,
        timeout=timeout,
        poll_interval=poll_interval,
        use_run_history=use_run_history,
        cancel_on_timeout=cancel_on_timeout,
        fail_on_error=fail_on_error,
        max_parallel=max_parallel,
        fail_fast=fail_fast,
        summary=summary,
    )


def _single_step(c: _Collector, wait: bool) -> tuple[StepSpec, ...]:
    bool_fix = "use true or false."
    project_id = ""
    if not c.values["project-id"]:
        c.add("project-id", "no project was given.", "set `project-id` to the id in the project's URL.")
    else:
        project_id = c.get("project-id", parse.parse_uuid, "", "copy the id from the project's URL in Hex.")
    # With run-id the action waits on a run started elsewhere: what would shape a new run is
    # refused below rather than silently ignored (and not parsed: its only fix is to drop it).
    existing = bool(c.values["run-id"])
    params_fix = 'use a JSON object such as {"region": "EMEA"}, or YAML such as region: EMEA.'
    input_params = None if existing else c.optional("input-params", parse_params, params_fix)
    update_published_results = c.get("update-published-results", parse.parse_bool, False, bool_fix)
    use_cached_sql_results = c.get("use-cached-sql-results", parse.parse_bool, True, bool_fix)
    view_id = c.values["view-id"] or None
    notifications_fix = 'use a JSON array such as [{"type": "FAILURE", …}].'
    notifications = (
        None if existing else c.optional("notifications", parse.parse_json_array_of_objects, notifications_fix)
    )
    dry_run = c.get("dry-run", parse.parse_bool, False, bool_fix)
    run_id = c.optional("run-id", parse.parse_uuid, "use the run-id output of the step that started the run.")
    if existing:  # as a pipeline refuses the single-project inputs
        shaping = {
            "input-params": bool(c.values["input-params"]),
            "update-published-results": update_published_results,
            "use-cached-sql-results": not use_cached_sql_results,
            "view-id": bool(view_id),
            "notifications": bool(c.values["notifications"]),
        }
        for name in (name for name, given in shaping.items() if given):
            c.add(name, "has no effect with run-id: the run was already started.", f"drop `{name}`, or drop run-id.")
    else:
        try:
            parse.check_view_id(view_id, input_params)
        except ValueError as exc:
            c.add("view-id", str(exc), parse.VIEW_ID_FIX)
    if run_id and dry_run:
        c.add("run-id", "a dry run cannot wait on an existing run.", "drop dry-run or run-id.")
    if run_id and not wait:
        c.add("run-id", "with wait: false there is nothing to do for an existing run.", "drop `wait: false`.")
    step = StepSpec(
        name=project_id or "project",
        project_id=project_id,
        input_params=input_params,
        update_published_results=update_published_results,
        use_cached_sql_results=use_cached_sql_results,
        view_id=view_id,
        notifications=notifications,
        dry_run=dry_run,
        existing_run_id=run_id,
    )
    return (step,)


def _pipeline_steps(
    c: _Collector,
    text: str,
    file_name: str,
    workspace: Path | None,
    environ: Mapping[str, str],
) -> tuple[StepSpec, ...]:
    from hex_action.pipeline import parse_pipeline  # noqa: PLC0415 - YAML is only imported for pipelines

    for single in ("project-id", "run-id", "input-params", "view-id", "notifications"):
        if c.values[single]:
            c.add(single, "cannot be used with a pipeline.", f"set `{single}` on the pipeline's steps instead.")
    # Single-project switches a pipeline does not read: ignored, `dry-run` would start real runs.
    if c.get("dry-run", parse.parse_bool, False, "use true or false."):
        c.add("dry-run", "a pipeline cannot be a dry run: its steps would start real runs.", "drop dry-run.")
    for per_step, default in (("update-published-results", False), ("use-cached-sql-results", True)):
        if c.get(per_step, parse.parse_bool, default, "use true or false.") != default:
            c.add(per_step, "cannot be used with a pipeline.", f"set `{per_step}` on the pipeline's steps instead.")
    source = "pipeline"
    if text and file_name:
        c.add("pipeline-file", "pipeline and pipeline-file cannot be used together.", "keep one of them.")
        return ()
    if file_name:
        source = "pipeline-file"
        base = workspace or Path(environ.get("GITHUB_WORKSPACE", "") or ".")
        path = Path(file_name) if Path(file_name).is_absolute() else base / file_name
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            c.add("pipeline-file", f"cannot read {file_name} ({exc.strerror}).", "give a path inside the workspace.")
            return ()
        except UnicodeDecodeError:
            c.add("pipeline-file", f"{file_name} is not UTF-8 text.", "give the path of a YAML or JSON file.")
            return ()
    steps, problems = parse_pipeline(text, source)
    c.problems.extend(problems)
    return tuple(steps)


def parse_params(raw: str) -> dict[str, Any]:
    """`input-params`: a JSON object, or a mapping in block YAML (`region: EMEA`), as a pipeline step has it.

    Text that starts like JSON (`{`) is JSON, so that its mistakes (a NaN, a trailing comma)
    are reported as such rather than read by YAML's looser rules as something else.
    """
    try:
        return parse.parse_json_object(raw)
    except ValueError as not_json:
        if raw.lstrip().startswith(("{", "[")):
            raise
        import yaml  # noqa: PLC0415 - only when the value is not JSON

        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise not_json from None
        if not isinstance(value, dict):
            raise not_json from None
        return parse.parse_json_object(value)  # refuses what JSON cannot carry (a YAML date), naming the fix


def normalise_hex_url(raw: str) -> str:
    """`https://app.hex.tech`, with or without `/` or `/api/v1`, -> `https://app.hex.tech/api/v1`.

    Plain http is refused except for loopback addresses (the local simulator): the token
    must not travel unencrypted.
    """
    value = raw.strip().rstrip("/")
    if value.endswith("/api/v1"):
        value = value[: -len("/api/v1")]
    elif value.endswith("/api"):
        value = value[: -len("/api")]
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{raw}' is not an http(s) URL.")
    if parts.query or parts.fragment or parts.username:
        raise ValueError(f"'{raw}' should be the workspace address only, without query or credentials.")
    if parts.path not in ("", "/"):
        # A pasted page address (https://app.hex.tech/acme/home) would give 404s on every call.
        raise ValueError(f"'{raw}' should be the host only, such as https://app.hex.tech, not a page address.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"'{raw}' uses plain http, which would send the token unencrypted.")
    return f"{value}/api/v1"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
