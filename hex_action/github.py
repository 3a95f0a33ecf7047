"""GitHub's side: step outputs, the job summary, annotations, masking, log lines.

Nothing else in the action writes workflow commands. Every line goes through `redact`,
so a registered secret cannot reach the log, the outputs or the summary, even when Hex
echoes it back in an error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

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
        self._stream = stream or sys.stdout
        self._output_path = environ.get("GITHUB_OUTPUT") or None
        self._summary_path = environ.get("GITHUB_STEP_SUMMARY") or None
        self.on_github = environ.get("GITHUB_ACTIONS") == "true"
        self.debug_enabled = environ.get("RUNNER_DEBUG") == "1"
        self._secrets: list[str] = []
        #: Outputs written so far (for `--output json` and the tests).
        self.outputs: dict[str, str] = {}
        self.quiet_outputs = False

    def redact(self, text: str) -> str:
        """`text` with every registered secret replaced by `***`."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

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
            with Path(self._output_path).open("a", encoding="utf-8") as handle:
                handle.write(format_output(name, value))
        elif not self.quiet_outputs and not unchanged:  # on a terminal, say each value once
            self._write(f"{name}={value}\n")

    def set_outputs(self, values: Mapping[str, str | None]) -> None:
        """Several outputs; None values are skipped."""
        for name, value in values.items():
            if value is not None:
                self.set_output(name, value)

    def summary(self, markdown: str) -> None:
        """Append to the job summary (no-op outside GitHub)."""
        if self._summary_path:
            with Path(self._summary_path).open("a", encoding="utf-8") as handle:
                handle.write(self.redact(markdown))

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            pass  # a closed stdout (the runner gone) must not turn into a crash mid-cleanup
