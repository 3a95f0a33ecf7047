"""The command line and the action's main: settings -> command -> presenter -> exit code.

This is the one place that turns outcomes and exceptions into exit codes (EXIT_CODES), and
the one place that chooses the presentation: `github` inside a GitHub Actions job
(`GITHUB_ACTIONS=true`), plain `text` anywhere else, or what `--output` asks for.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import textwrap
from collections.abc import Mapping, Sequence
from typing import NoReturn, cast

from hex_action import __version__
from hex_action.clock import Clock, SystemClock
from hex_action.errors import EXIT_FAILURE, EXIT_INPUT_ERROR, InputError
from hex_action.input_help import DESCRIPTIONS
from hex_action.present import FORMATS, Presenter, choose, default_format
from hex_action.secrets import redact
from hex_action.settings import DEFAULTS, ENV_FALLBACKS, Settings, api_token, load_settings, read_inputs
from hex_action.signals import CancelSignal

#: How many recent runs `runs` lists unless told otherwise.
RUNS_LIMIT = 10

#: What each input's flag takes, shown in --help.
METAVARS = {
    "api-token": "TOKEN",
    "project-id": "ID",
    "input-params": "JSON|YAML",
    "hex-url": "URL",
    "timeout": "DURATION",
    "poll-interval": "DURATION",
    "view-id": "ID",
    "notifications": "JSON",
    "run-id": "ID",
    "pipeline": "YAML|JSON",
    "pipeline-file": "PATH",
    "max-parallel": "1-25",
}
#: Every command, with its one-line description.
COMMANDS = {
    "run": "start a run of a published project (or a pipeline), wait for it, report (the default)",
    "status": "read a run's status once, or follow it to its end with --wait",
    "cancel": "cancel a run",
    "runs": "list a project's recent API-triggered runs, with status and duration",
}
#: Exit codes per command, as --help and the README give them.
EXIT_CODES = {
    "run": (
        "0  the run completed, a dry run was accepted, the run was started with --wait false,\n"
        "   or --fail-on-error false\n"
        "1  the run failed, timed out or was cancelled, or the Hex API failed\n"
    ),
    "status": (
        "0  the run completed or is still in progress (with --wait: it completed)\n"
        "1  the run ended otherwise (ERRORED, KILLED, ...), or its status could not be read\n"
    ),
    "cancel": "0  the run was cancelled, or had already ended (the status says how)\n1  the cancel failed\n",
    "runs": "0  the runs were listed\n1  the Hex API failed\n",
}
COMMON_EXIT_CODES = (
    "2  invalid input or configuration, found before any request was sent\n"
    "130, 143  outside GitHub, interrupted by SIGINT (Ctrl-C) or SIGTERM, after cancelling the run\n"
)
ENVIRONMENT = """\
environment:
  HEX_API_TOKEN   the token, when --api-token is not given (prefer it: other users can see flags)
  HEX_URL         the workspace URL, when --hex-url is not given
  INPUT_<NAME>    any input, as the action reads it (INPUT_PROJECT-ID or INPUT_PROJECT_ID); flags win
  GITHUB_ACTIONS  "true" selects the GitHub presentation (workflow commands, GITHUB_OUTPUT, job summary)
"""
#: The inputs each command takes besides the connection (token, project, host).
_COMMAND_INPUTS = {
    "status": ("timeout", "poll-interval", "fail-on-error"),
    "cancel": (),
    "runs": (),
}
_CONNECTION = ("api-token", "project-id", "hex-url")


class _Parser(argparse.ArgumentParser):
    """argparse that never echoes a token in a usage error: the value after a mistyped
    `--api-tokn` is as secret as the token, so unrecognized arguments are named by flag only."""

    secrets: Sequence[str] = ()

    def error(self, message: str) -> NoReturn:
        unknown = "unrecognized arguments: "
        if message.startswith(unknown):
            shown = [a.split("=", 1)[0] for a in message[len(unknown) :].split() if a.startswith("-")]
            message = unknown + (" ".join(shown) or "(values not shown)")
        super().error(redact(message, self.secrets))


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help text wrapped between words only: `update-published-results` stays one word."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def build_parser(command: str = "run") -> argparse.ArgumentParser:
    """The parser of one command: one flag per input it takes, each with action.yml's description."""
    epilog = f"exit codes:\n{_indent(EXIT_CODES[command] + COMMON_EXIT_CODES)}\n{ENVIRONMENT}"
    if command == "run":
        commands = "\n".join(f"  {name:<8}{text}" for name, text in COMMANDS.items())
        epilog = f"commands (hex-action COMMAND --help for each):\n{commands}\n\n{epilog}"
    parser = _Parser(
        prog="hex-action" if command == "run" else f"hex-action {command}",
        description=_DESCRIPTIONS[command],
        epilog=epilog,
        formatter_class=_Formatter,
    )
    if command in ("status", "cancel"):
        parser.add_argument(
            "run_id", metavar="RUN_ID", help="the run's id (the run-id output of the step that started it)"
        )
    names = list(DEFAULTS) if command == "run" else [*_CONNECTION, *_COMMAND_INPUTS[command]]
    for name in names:
        parser.add_argument(f"--{name}", dest=name, metavar=METAVARS.get(name, _choices(name)), help=_help(name))
    if command == "status":
        parser.add_argument(
            "--wait", dest="follow", action="store_true", help="follow the run until it ends (or --timeout)"
        )
    if command == "runs":
        parser.add_argument(
            "--limit",
            type=int,
            default=RUNS_LIMIT,
            metavar="N",
            help=f"how many runs, newest first (default {RUNS_LIMIT})",
        )
    parser.add_argument(
        "--output",
        "--format",
        dest="output",
        choices=FORMATS,
        help="github: the runner's workflow commands and files (the default when GITHUB_ACTIONS=true); "
        "text: plain lines on stderr (the default elsewhere); json: the same lines on stderr and one JSON "
        "document on stdout, keyed like the action's outputs",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="also show every status read")
    parser.add_argument("--version", action="version", version=f"hex-action {__version__}")
    return parser


_DESCRIPTIONS = {
    "run": "Run a published Hex project (or a pipeline of them): trigger, wait, cancel on timeout or Ctrl-C, report.",
    "status": "Read the status of a Hex run, or follow it with --wait.",
    "cancel": "Cancel a Hex run.",
    "runs": "List the recent API-triggered runs of a Hex project.",
}


def main(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None, clock: Clock | None = None
) -> int:
    """Run one command; return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "run"
    parser = build_parser(command)
    candidates = _tokens_in_sight(argv, environ)
    parser.secrets = candidates  # type: ignore[attr-defined]
    args = vars(parser.parse_args(argv))
    presentation = args.pop("output") or default_format(environ)
    verbose = args.pop("verbose")
    extra: dict[str, object] = {key: args.pop(key) for key in ("run_id", "follow", "limit") if key in args}

    cancel = CancelSignal()
    cancel.install()  # before anything else: a cancel during start-up must not kill us mid-write

    values = read_inputs(environ)
    values.update({name: value.strip() for name, value in args.items() if value is not None and value.strip()})
    if command in ("status", "cancel"):
        values["run-id"] = str(extra["run_id"]).strip()
        values["wait"] = "true"  # `status` reads once itself; load_settings checks the rest
    token = api_token(values, environ)
    presenter = choose(presentation, environ, token, [c for c in candidates if c != token], verbose=verbose)

    try:
        settings = load_settings(values, environ)
    except InputError as exc:
        presenter.input_error(exc)
        return EXIT_INPUT_ERROR
    except Exception as exc:  # a bug in reading the inputs: still say so, and write the outputs
        presenter.internal_error(
            f"Unexpected error in hex-action while reading the inputs: {type(exc).__name__}: {exc}"
        )
        return EXIT_FAILURE
    code = _dispatch(command, settings, presenter, cancel, clock or SystemClock(), extra)
    if presentation != "github" and cancel.signal_name in ("SIGINT", "SIGTERM"):
        # A shell expects 128 + the signal's number from a command it interrupted.
        return 128 + signal.Signals[cancel.signal_name].value
    return code


def _dispatch(
    command: str, settings: Settings, presenter: Presenter, cancel: CancelSignal, clock: Clock, extra: dict[str, object]
) -> int:
    # Imported here: keeps `--help` and input errors fast (no requests import).
    from hex_action import commands  # noqa: PLC0415
    from hex_action.run import execute  # noqa: PLC0415

    if command == "run" or (command == "status" and extra.get("follow")):
        return execute(settings, presenter, cancel, clock, command=command).exit_code
    if command == "status":
        return commands.read_status(settings, presenter, cancel, clock).exit_code
    if command == "cancel":
        return commands.cancel_run(settings, presenter, cancel, clock).exit_code
    return commands.list_runs(settings, presenter, cancel, clock, limit=cast(int, extra["limit"]) or RUNS_LIMIT)


def _tokens_in_sight(argv: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """Every value that may be a token: the flag's, HEX_API_TOKEN's and the input's, whichever wins."""
    found = [environ.get(name, "").strip() for name in ("HEX_API_TOKEN", "INPUT_API-TOKEN", "INPUT_API_TOKEN")]
    for index, arg in enumerate(argv):
        if arg == "--api-token" and index + 1 < len(argv):
            found.append(argv[index + 1].strip())
        elif arg.startswith("--api-token="):
            found.append(arg.split("=", 1)[1].strip())
    return [token for token in dict.fromkeys(found) if token]


def _help(name: str) -> str:
    text = DESCRIPTIONS.get(name, "").replace("%", "%%")
    if name in ENV_FALLBACKS:
        text += f" Falls back to the {ENV_FALLBACKS[name]} environment variable."
    default = DEFAULTS[name]
    return text + (f" (default: {default})" if default else "")


def _choices(name: str) -> str:
    return "true|false" if DEFAULTS[name] in ("true", "false") else "VALUE"


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.splitlines())


def run_main() -> None:
    """Console-script entry point."""
    sys.exit(main())
