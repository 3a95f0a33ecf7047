"""A Python port of the GitHub Actions runner's parsers, to check what the action writes.

Ported from actions/runner (C#), Linux build, as described in
shared/github-actions-runtime.md B2 and B3:

* `env_file_pairs`: `EnvFileKeyValuePairs` (src/Runner.Worker/FileCommandManager.cs), the
  reader of GITHUB_OUTPUT, GITHUB_ENV and GITHUB_STATE; `output_pairs` (in order) and
  `parse_output_file` (as applied): `SetOutputFileCommand`'s use of it.
* `log_lines`: how the runner cuts a process's stdout/stderr into lines
  (`StreamReader.ReadLine`: `\\r\\n`, `\\r` and `\\n` all end a line).
* `try_parse_v2` / `try_parse_legacy`: `ActionCommand.TryParseV2` (`::cmd k=v::data`)
  and `ActionCommand.TryParse` (`##[cmd k=v;k2=v2]data`, found anywhere in a line).
* `CommandProcessor`: `ActionCommandManager.TryProcessCommand`, including
  `::stop-commands::<token>` ... `::<token>::`.

It is written to be read next to the C# source: same names, same order of checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: Commands the runner registers (ActionCommandManager + its extensions); matched case-insensitively.
REGISTERED_COMMANDS = frozenset(
    {
        "stop-commands",
        "add-mask",
        "debug",
        "notice",
        "warning",
        "error",
        "group",
        "endgroup",
        "echo",
        "add-matcher",
        "remove-matcher",
        "set-output",
        "save-state",
        "set-env",
        "add-path",
    }
)


class FileCommandError(Exception):
    """What the runner reports as "Unable to process file command '<name>' successfully."."""


# -- GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE -------------------------------------------------


def _read_line(text: str, index: int) -> tuple[str | None, int, str | None]:
    """`ReadLine(text, ref index, out newline)`, Linux build: only `\\n` ends a line; `\\r` stays."""
    if index >= len(text):
        return None, index, None
    lf = text.find("\n", index)
    if lf < 0:
        return text[index:], len(text), None
    return text[index:lf], lf + 1, "\n"


def env_file_pairs(text: str) -> Iterator[tuple[str, str]]:
    """The (key, value) pairs of a file command file, yielded lazily like the runner's enumerator.

    Pairs before an error have been yielded (and applied by the runner) when the error is raised.
    """
    index = 0
    line, index, _ = _read_line(text, index)
    while line is not None:
        if line:  # empty lines are skipped
            equals = line.find("=")
            heredoc = line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                # Normal style NAME=VALUE: split at the first '='; nothing trimmed.
                key, value = line.split("=", 1)
            elif heredoc >= 0 and (equals < 0 or heredoc < equals):
                # Heredoc style NAME<<DELIMITER: the delimiter is the verbatim rest of the line.
                key, delimiter = line.split("<<", 1)
                if not key or not delimiter:
                    raise FileCommandError(
                        f"Invalid format '{line}'. Name must not be empty and delimiter must not be empty"
                    )
                start = index
                end = index
                temp, index, newline = _read_line(text, index)
                while temp != delimiter:  # ordinal comparison
                    if temp is None:
                        raise FileCommandError(f"Invalid value. Matching delimiter not found '{delimiter}'")
                    if newline is None:
                        raise FileCommandError("Invalid value. EOF marker missing new line.")
                    end = index - len(newline)
                    temp, index, newline = _read_line(text, index)
                value = text[start:end] if end > start else ""
            else:
                raise FileCommandError(f"Invalid format '{line}'")
            yield key, value
        line, index, _ = _read_line(text, index)


def output_pairs(text: str) -> Iterator[tuple[str, str]]:
    """GITHUB_OUTPUT's (name, value) pairs in the order written, as `SetOutputFileCommand` applies them
    one by one; an empty name fails the step (the pairs before it have been applied)."""
    for key, value in env_file_pairs(text):
        if not key:  # ExecutionContext.SetOutput: ArgUtil.NotNullOrEmpty(name)
            raise FileCommandError("Value cannot be null or empty. (Parameter 'name')")
        yield key, value


def parse_output_file(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner applies it: later values win; an empty name fails the step."""
    return dict(output_pairs(text))


def read_output_file(path: Path | str) -> dict[str, str]:
    """`File.ReadAllText` (UTF-8, a BOM dropped) then `parse_output_file`; a missing file gives nothing."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return {}
    return parse_output_file(data.decode("utf-8-sig"))


# -- workflow commands on stdout/stderr --------------------------------------------------------


def log_lines(stream: str) -> list[str]:
    """The lines the runner reads from a process's output (`StreamReader.ReadLine`)."""
    lines: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(stream):
        ch = stream[i]
        if ch in "\r\n":
            lines.append("".join(current))
            current = []
            if ch == "\r" and i + 1 < len(stream) and stream[i + 1] == "\n":
                i += 1
        else:
            current.append(ch)
        i += 1
    if current:
        lines.append("".join(current))
    return lines


@dataclass
class Command:
    """A parsed workflow command. Property keys are lower-cased (the runner compares them ignoring case)."""

    name: str
    properties: dict[str, str] = field(default_factory=dict)
    data: str = ""


def _unescape(text: str, mappings: tuple[tuple[str, str], ...]) -> str:
    for token, replacement in mappings:
        text = text.replace(replacement, token)
    return text


_DATA = (("\r", "%0D"), ("\n", "%0A"), ("%", "%25"))
_PROPERTY = (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25"))
_LEGACY = ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D"), ("%", "%25"))


def unescape_data(text: str) -> str:
    """`ActionCommand.UnescapeData`."""
    return _unescape(text, _DATA)


def unescape_property(text: str) -> str:
    """`ActionCommand.UnescapeProperty`."""
    return _unescape(text, _PROPERTY)


def _split_pair(text: str) -> list[str]:
    # Split(new[] {'='}, count: 2, StringSplitOptions.RemoveEmptyEntries): a pair needs both sides.
    return [part for part in text.split("=", 1) if part]


def try_parse_v2(message: str, registered: Iterable[str] = REGISTERED_COMMANDS) -> Command | None:
    """`ActionCommand.TryParseV2`: `::name k=v,k2=v2::data` after leading white space, or None."""
    if not message:
        return None
    known = {name.lower() for name in registered}
    message = message.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in known:
        return None
    command = Command(name)
    if space > 0:
        for prop in info[space + 1 :].strip().split(","):
            pair = _split_pair(prop) if prop else []
            if len(pair) == 2:
                command.properties[pair[0].lower()] = unescape_property(pair[1])
    command.data = unescape_data(message[end + 2 :])
    return command


def try_parse_legacy(message: str, registered: Iterable[str] = REGISTERED_COMMANDS) -> Command | None:
    """`ActionCommand.TryParse`: `##[name k=v;k2=v2]data` anywhere in the line, or None."""
    if not message:
        return None
    known = {name.lower() for name in registered}
    prefix = message.find("##[")
    if prefix < 0:
        return None
    bracket = message.find("]", prefix)
    if bracket < 0:
        return None
    info = message[prefix + 3 : bracket]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in known:
        return None
    command = Command(name)
    if space > 0:
        for prop in info[space + 1 :].split(";"):
            pair = _split_pair(prop) if prop else []
            if len(pair) == 2:
                command.properties[pair[0].lower()] = _unescape(pair[1], _LEGACY)
    command.data = _unescape(message[bracket + 1 :], _LEGACY)
    return command


def is_command(line: str) -> bool:
    """Whether the runner would treat this one line as a workflow command (outside stop-commands)."""
    return try_parse_v2(line) is not None or try_parse_legacy(line) is not None


@dataclass
class CommandProcessor:
    """`ActionCommandManager.TryProcessCommand` over a whole output stream.

    `commands` are the commands the runner would act on; `log` the lines shown as plain output;
    `errors` the runner's complaints (an invalid stop token).
    """

    registered: set[str] = field(default_factory=lambda: {c.lower() for c in REGISTERED_COMMANDS})
    commands: list[Command] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop_token: str | None = None

    def feed(self, stream: str) -> CommandProcessor:
        """Process every line of `stream` (as written to stdout or stderr)."""
        for line in log_lines(stream):
            self.process(line)
        return self

    def process(self, line: str) -> None:
        """One line."""
        command = try_parse_v2(line, self.registered) or try_parse_legacy(line, self.registered)
        if command is None:
            self.log.append(line)
            return
        name = command.name.lower()
        if self.stop_token is not None:
            if name == self.stop_token.lower():  # resume token
                self.registered.discard(self.stop_token.lower())
                self.stop_token = None
            else:
                self.log.append(line)
            return
        if name == "stop-commands":
            token = command.data
            if not token or token.lower() == "pause-logging" or token.lower() in self.registered:
                self.errors.append(f"invalid stop-commands token '{token}'")
                return
            self.stop_token = token
            self.registered.add(token.lower())
            return
        self.commands.append(command)

    def named(self, name: str) -> list[Command]:
        """The processed commands called `name`."""
        return [c for c in self.commands if c.name.lower() == name]


def process_output(stream: str) -> CommandProcessor:
    """A fresh processor fed with `stream`."""
    return CommandProcessor().feed(stream)
