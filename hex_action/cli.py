"""The command line and the action's main: settings -> engine -> report -> exit code.

This is the one place that turns outcomes and exceptions into exit codes:
0 success, 1 the run or the API failed (or was cancelled or timed out), 2 invalid input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence

from hex_action import __version__
from hex_action.clock import Clock, SystemClock
from hex_action.errors import EXIT_FAILURE, EXIT_INPUT_ERROR, InputError
from hex_action.github import GitHub
from hex_action.settings import DEFAULTS, api_token, load_settings, read_inputs
from hex_action.signals import CancelSignal
from hex_action.status import Status

EPILOG = """\
Every flag mirrors an action input and wins over its INPUT_* environment variable
(INPUT_PROJECT-ID or INPUT_PROJECT_ID). The token is read from --api-token, INPUT_API-TOKEN
or HEX_API_TOKEN; prefer the environment, where other users cannot see it.

exit codes:
  0  success: the run completed (or a dry run was accepted, or wait is false,
     or fail-on-error is false)
  1  the run failed, timed out or was cancelled, or the Hex API failed
  2  invalid input or configuration, found before any request was sent
"""


def build_parser() -> argparse.ArgumentParser:
    """The `hex-action` argument parser: one flag per action input."""
    parser = argparse.ArgumentParser(
        prog="hex-action",
        description="Run a published Hex project (or a pipeline of them): trigger, wait, cancel, report.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name, default in DEFAULTS.items():
        shown = f" (default: {default})" if default else ""
        parser.add_argument(f"--{name}", dest=name, metavar="VALUE", help=f"the action's `{name}` input{shown}")
    parser.add_argument(
        "--output",
        choices=("github", "json"),
        default="github",
        help="json: print the outputs as one JSON object on stdout at the end",
    )
    parser.add_argument("--version", action="version", version=f"hex-action {__version__}")
    return parser


def main(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None, clock: Clock | None = None
) -> int:
    """Run the action; return its exit code."""
    args = vars(build_parser().parse_args(argv))
    environ = os.environ if environ is None else environ
    github = GitHub(environ)
    as_json = args.pop("output") == "json"
    github.quiet_outputs = as_json
    cancel = CancelSignal()
    cancel.install()  # before anything else: a cancel during start-up must not kill us mid-write

    values = read_inputs(environ)
    values.update({name: value.strip() for name, value in args.items() if value is not None and value.strip()})
    token = api_token(values, environ)
    github.add_secret(token)  # the first line printed

    try:
        settings = load_settings(values, environ)
    except InputError as exc:
        code = _report_input_error(github, exc)
    except Exception as exc:  # a bug in reading the inputs: still say so, and write the outputs
        code = _report_internal_error(github, exc)
    else:
        from hex_action.run import execute  # noqa: PLC0415 - keeps `--help` and input errors fast

        code = execute(settings, github, cancel, clock or SystemClock())
    if as_json:
        outputs: dict[str, object] = dict(github.outputs)
        if "results" in outputs:  # a script wants the array, not JSON inside a JSON string
            outputs["results"] = json.loads(github.outputs["results"])
        print(json.dumps(outputs, indent=2))
    return code


def _report_input_error(github: GitHub, exc: InputError) -> int:
    for problem in exc.problems:
        github.annotate("error", str(problem), title=f"Invalid input '{problem.input_name}'")
    github.summary(
        "### ❌ Hex run not started: invalid input\n\n"
        + "\n".join(f"- `{p.input_name}`: {p.problem} **Fix:** {p.fix}" for p in exc.problems)
        + "\n\n"
    )
    # Outputs on this path too, so a later `if: always()` step can tell what happened.
    github.set_outputs({"status": Status.INVALID_INPUT, "results": "[]"})
    github.report_write_failures()
    return EXIT_INPUT_ERROR


def _report_internal_error(github: GitHub, exc: Exception) -> int:
    message = f"Unexpected error in hex-action while reading the inputs: {type(exc).__name__}: {exc}"
    github.annotate("error", message, title="hex-action failed")
    github.summary(f"### ❌ Hex run not started: internal error\n\n{message}\n\n")
    github.set_outputs({"status": Status.NOT_STARTED, "results": "[]"})
    github.report_write_failures()
    return EXIT_FAILURE


def run_main() -> None:
    """Console-script entry point."""
    sys.exit(main())
