"""GitHub's side: step outputs, the job summary, annotations, masking, log lines.

Nothing else in the action writes workflow commands. Every line goes through `redact`,
so a registered secret cannot reach the log, the outputs or the summary, even when Hex
echoes it back in an error.

No write here raises: a full disk, a read-only file or a closed stdout must not lose the rest
(the other file, the run's cancel, the verdict). Failures are kept, one per destination, and
`report_write_failures` turns them into one `::error` each at the end.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from hex_action.secrets import redact

#: Output values made only of these characters are written as `name=value`; anything else
#: (newlines, `<<`, `=` or untrusted text) uses the heredoc form with a random delimiter.
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/+ ")


def _random_hex() -> str:
    """128 random bits as hex, for heredoc delimiters and stop-commands tokens (unguessable by Hex)."""
    return os.urandom(16).hex()


def _could_be_command(text: str) -> bool:
    """Whether the runner might parse (part of) `text` as a command: a line starting `::` after
    white space, a legacy `##[` anywhere, or a CR/LF starting another line (runtime doc, B3)."""
    return "\n" in text or "\r" in text or "##[" in text or text.lstrip().startswith("::")


def escape_data(text: str) -> str:
    """Escape a workflow command's message: `%` first, then CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value: as data, plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_output(name: str, value: str) -> str:
    """One `GITHUB_OUTPUT` entry that no value can break out of.

    Plain values use `name=value`; others `name<<DELIM` with a fresh random delimiter,
    which cannot occur in the value (checked), per the runner's parser
    (shared/github-actions-runtime.md, B2).
    """
    if value and set(value) <= _PLAIN and value == value.strip():
        return f"{name}={value}\n"
    if not value:
        return f"{name}=\n"
    while True:
        delimiter = f"ghadelimiter_{_random_hex()}"
        if delimiter not in value:
            break
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


class GitHub:
    """The GitHub Actions runtime as seen from the container, or plain stdout elsewhere."""

    def __init__(self, environ: Mapping[str, str], stream: TextIO | None = None) -> None:
        # sys.stdout is None when the process was started without a file descriptor 1.
        self._stream: TextIO | None = stream or sys.stdout
        self._output_path = environ.get("GITHUB_OUTPUT") or None
        self._summary_path = environ.get("GITHUB_STEP_SUMMARY") or None
        self.on_github = environ.get("GITHUB_ACTIONS") == "true"
        self.debug_enabled = environ.get("RUNNER_DEBUG") == "1"
        self._secrets: list[str] = []
        #: Outputs written so far (for `--output json` and the tests).
        self.outputs: dict[str, str] = {}
        #: What could not be written, by destination (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, stdout): the first error.
        self.write_failures: dict[str, str] = {}

    def redact(self, text: str) -> str:
        """`text` with every registered secret replaced by `***`."""
        return redact(text, self._secrets)

    def add_secret(self, value: str) -> None:
        """Register a secret: masked by the runner from now on, and redacted by us everywhere."""
        if value and value not in self._secrets:
            self._secrets.append(value)
            # The mask command is the only line that may carry the secret itself.
            self._write(f"::add-mask::{escape_data(value)}\n")

    def line(self, text: str) -> None:
        """A log line of our own. It may quote Hex (a run URL, a status), so a line the runner
        could read as a workflow command is logged inside a stop-commands block instead."""
        text = self.redact(text)
        if _could_be_command(text):
            self.untrusted(text)
        else:
            self._write(text + "\n")

    def untrusted(self, text: str) -> None:
        """Log text that came from outside (Hex) so the runner cannot read it as commands."""
        token = _random_hex()
        self._write(f"::stop-commands::{token}\n{self.redact(text)}\n::{token}::\n")

    def debug(self, text: str) -> None:
        """A line the runner shows only when step debug logging is on; elsewhere only with RUNNER_DEBUG=1."""
        if self.on_github or self.debug_enabled:
            self._write(f"::debug::{escape_data(self.redact(text))}\n")

    def annotate(self, level: str, message: str, title: str | None = None) -> None:
        """An `error`, `warning` or `notice` annotation (escaped: the message cannot inject commands)."""
        props = f" title={escape_property(self.redact(title))}" if title else ""
        self._write(f"::{level}{props}::{escape_data(self.redact(message))}\n")

    def set_output(self, name: str, value: str) -> None:
        """Write one step output now, so it survives whatever happens next."""
        value = self.redact(value)
        unchanged = self.outputs.get(name) == value
        self.outputs[name] = value
        if self._output_path:
            self._append("GITHUB_OUTPUT", self._output_path, format_output(name, value))
        elif not unchanged:  # on a terminal, say each value once
            self._write(f"{name}={value}\n")

    def set_outputs(self, values: Mapping[str, str | None]) -> None:
        """Several outputs; None values are skipped."""
        for name, value in values.items():
            if value is not None:
                self.set_output(name, value)

    def summary(self, markdown: str) -> None:
        """Append to the job summary (no-op outside GitHub)."""
        if self._summary_path:
            self._append("GITHUB_STEP_SUMMARY", self._summary_path, self.redact(markdown))

    def report_write_failures(self) -> bool:
        """One `::error` per destination that could not be written; whether there was any.

        On stdout, or on stderr when stdout is what failed (the runner reads commands from both).
        """
        for destination, problem in self.write_failures.items():
            title = f"hex-action could not write {destination}"
            line = f"::error title={escape_property(title)}::{escape_data(self.redact(problem))}\n"
            if "stdout" in self.write_failures:
                _to_stderr(line)
            else:
                self._write(line)
        return bool(self.write_failures)

    def _append(self, variable: str, path: str, text: str) -> None:
        try:
            with Path(path).open("a", encoding="utf-8") as handle:
                handle.write(text)
        except (OSError, ValueError) as exc:
            what = "the step outputs" if variable == "GITHUB_OUTPUT" else "the job summary"
            self.write_failures.setdefault(variable, f"Could not write {what} to {variable} ({path}): {_reason(exc)}")

    def _write(self, text: str) -> None:
        if self._stream is None:
            self.write_failures.setdefault("stdout", "Could not write the log to stdout: it is closed.")
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError) as exc:
            # A closed or broken stdout (the runner gone, a pipe's reader exited) must not become a
            # crash mid-cleanup: the rest is written, and this is reported on stderr at the end.
            self.write_failures.setdefault("stdout", f"Could not write the log to stdout: {_reason(exc)}")
            if self._stream is sys.stdout:
                _discard_stdout()


def _reason(exc: Exception) -> str:
    """An OS error as `[Errno 28] No space left on device`, without the file name repeated."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"[Errno {exc.errno}] {exc.strerror}"
    return str(exc) or type(exc).__name__


def _to_stderr(line: str) -> None:
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass  # nowhere left to say it; the exit code still does


def _discard_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so that what is still buffered, and Python's flush at
    exit, do not fail again ("Exception ignored ... BrokenPipeError", exit code 120)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
