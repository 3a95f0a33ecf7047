"""The environment the GitHub runner gives a Docker action's process, for the tests that run the action.

The runner passes every input declared in action.yml, given or not, as `INPUT_<NAME>`
(`Handler.AddInputsToEnvironment`: `INPUT_` + the name with spaces, and only spaces, replaced by
`_`, upper-cased, so hyphens stay: `INPUT_PROJECT-ID`). An input the workflow leaves out gets its
action.yml default; one without a default, or set to `''`, arrives empty
(shared/github-actions-runtime.md B1). What the test process itself inherited (`INPUT_*`,
`GITHUB_*`, `RUNNER_*`, a `HEX_API_TOKEN`, …) is stripped, so only what a test sets reaches the action.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
#: Variables of the test's own environment that must not leak into the action under test.
STRIPPED_PREFIXES = ("INPUT_", "GITHUB_", "RUNNER_", "ACTIONS_", "HEX_", "STATE_")


@cache
def declared_inputs() -> dict[str, str]:
    """Every input declared in action.yml, in order, with the value the runner gives it when unset."""
    meta = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    inputs = meta.get("inputs") or {}
    return {name: "" if spec.get("default") is None else str(spec["default"]) for name, spec in inputs.items()}


def input_variable(name: str) -> str:
    """`Handler.AddInputsToEnvironment`: `INPUT_` + the name, spaces to `_`, upper-cased (hyphens kept)."""
    return "INPUT_" + name.replace(" ", "_").upper()


def input_env(inputs: Mapping[str, str], *, unset: str = "default") -> dict[str, str]:
    """`INPUT_*` variables for every declared input, in action.yml's order, as the runner builds them.

    `unset="default"` gives unset inputs their action.yml default (what the runner does when a
    default is declared); `unset="empty"` gives them an empty string (an input with no default,
    or a workflow passing `''`). An input action.yml does not declare is a ValueError.
    """
    declared = declared_inputs()
    unknown = set(inputs) - set(declared)
    if unknown:
        raise ValueError(f"inputs not declared in action.yml: {sorted(unknown)}")
    if unset not in ("default", "empty"):
        raise ValueError(f"unset must be 'default' or 'empty', not {unset!r}")
    return {
        input_variable(name): inputs.get(name, default if unset == "default" else "")
        for name, default in declared.items()
    }


def inherited_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environ` (default: this process's) without the runner's and the action's own variables."""
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if not k.startswith(STRIPPED_PREFIXES)}
