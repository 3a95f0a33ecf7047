"""hex_action.github: outputs, annotations, masking and untrusted text, checked against a port
of the runner's own parsers (tests/runner_parser.py), and that port against the runner's tests."""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import pytest
from runner_parser import (
    Command,
    FileCommandError,
    env_file_pairs,
    is_command,
    log_lines,
    output_pairs,
    parse_output_file,
    process_output,
    read_output_file,
    try_parse_legacy,
    try_parse_v2,
    unescape_data,
    unescape_property,
)

from hex_action import github as github_module
from hex_action.github import GitHub, escape_data, escape_property, format_output

ON_GITHUB = {"GITHUB_ACTIONS": "true"}

HOSTILE_VALUES = [
    "plain",
    "",
    " ",
    "a=b",
    "=",
    "==abc",
    "a<<b",
    "<<EOF",
    "EOF",
    "EOF\n",
    "line one\nline two",
    "x\nstatus=COMPLETED",
    "x\nstatus<<EOF\nCOMPLETED\nEOF",
    "ghadelimiter_0123456789abcdef0123456789abcdef",
    "before\nghadelimiter_0123456789abcdef0123456789abcdef\nafter",
    "\n",
    "\n\n",
    "trailing newline\n",
    "\nleading newline",
    "100%",
    "%0A%25%0D",
    "carriage\rreturn",
    "ends with CR\r",
    "crlf\r\nline",
    "ünïcødé ✅ 日本語 \u2028 \U0001f680",
    " padded ",
    "https://app.hex.tech/acme/app/abc/latest?a=1&b=2#x",
    "::set-output name=status::COMPLETED",
    "##[set-output name=status]COMPLETED",
    '[{"name":"a","status":"ERRORED"}]',
    "tab\there",
]


# -- the parser port, against the runner's own test cases (SetOutputFileCommandL0) -------------


def outputs_of(*lines: str, trailing_newline: bool = False) -> dict[str, str]:
    return parse_output_file("\n".join(lines) + ("\n" if trailing_newline else ""))


@pytest.mark.parametrize("trailing_newline", [False, True])
def test_port_simple_forms(trailing_newline: bool) -> None:
    assert outputs_of("MY_OUTPUT=MY VALUE", trailing_newline=trailing_newline) == {"MY_OUTPUT": "MY VALUE"}
    assert outputs_of("", "MY_OUTPUT=my value", "", "MY_OUTPUT_2=my second value", "") == {
        "MY_OUTPUT": "my value",
        "MY_OUTPUT_2": "my second value",
    }
    assert outputs_of("MY_OUTPUT=", trailing_newline=trailing_newline) == {"MY_OUTPUT": ""}
    assert outputs_of("MY_OUTPUT==abc", "MY_OUTPUT_2=def=ghi", "MY_OUTPUT_3=jkl=") == {
        "MY_OUTPUT": "=abc",
        "MY_OUTPUT_2": "def=ghi",
        "MY_OUTPUT_3": "jkl=",
    }


@pytest.mark.parametrize("trailing_newline", [False, True])
def test_port_heredoc_forms(trailing_newline: bool) -> None:
    assert outputs_of(
        "MY_OUTPUT<<EOF", "line one", "line two", "line three", "EOF", trailing_newline=trailing_newline
    ) == {"MY_OUTPUT": "line one\nline two\nline three"}
    assert outputs_of("MY_OUTPUT<<EOF", "EOF", trailing_newline=trailing_newline) == {"MY_OUTPUT": ""}
    assert outputs_of(
        "MY_OUTPUT<<=EOF",
        "hello",
        "one",
        "=EOF",
        "MY_OUTPUT_2<<<EOF",
        "hello",
        "two",
        "<EOF",
        "MY_OUTPUT_3<<EOF",
        "hello",
        "",
        "three",
        "",
        "EOF",
        "MY_OUTPUT_4<<EOF",
        "hello=four",
        "EOF",
        "MY_OUTPUT_5<<EOF",
        " EOF",
        "EOF",
        trailing_newline=trailing_newline,
    ) == {
        "MY_OUTPUT": "hello\none",
        "MY_OUTPUT_2": "hello\ntwo",
        "MY_OUTPUT_3": "hello\n\nthree\n",
        "MY_OUTPUT_4": "hello=four",
        "MY_OUTPUT_5": " EOF",
    }


def test_port_crlf_keeps_carriage_returns_on_linux() -> None:
    assert parse_output_file("A=1\r\nB<<EOF\r\nx\r\nEOF\r\n") == {"A": "1\r", "B": "x\r"}
    with pytest.raises(FileCommandError, match=re.escape("Matching delimiter not found 'EOF'")):
        parse_output_file("m<<EOF\nx\r\nEOF\r\n")


def test_port_delimiter_with_trailing_space_never_matches() -> None:
    with pytest.raises(FileCommandError, match=re.escape("Invalid value. Matching delimiter not found 'EOF '")):
        parse_output_file("m<<EOF \nx\nEOF\n")


def test_port_error_cases() -> None:
    with pytest.raises(FileCommandError, match=re.escape("Matching delimiter not found 'EOF line one line two")):
        parse_output_file("MY_OUTPUT<<EOF line one line two line three EOF")
    with pytest.raises(FileCommandError, match=re.escape("Invalid value. EOF marker missing new line.")):
        parse_output_file("MY_OUTPUT<<EOF line one\n     line two\n     line three EOF")
    with pytest.raises(FileCommandError, match=re.escape("Invalid format 'just text'")):
        parse_output_file("just text\n")
    message = "Invalid format '<<EOF'. Name must not be empty and delimiter must not be empty"
    with pytest.raises(FileCommandError, match=re.escape(message)):
        parse_output_file("<<EOF\nx\nEOF\n")
    with pytest.raises(FileCommandError, match="delimiter must not be empty"):
        parse_output_file("name<<\nx\n")
    # `=value` is a pair with an empty name, which SetOutput refuses (the step fails).
    assert list(env_file_pairs("=value\n")) == [("", "value")]
    with pytest.raises(FileCommandError):
        parse_output_file("=value\n")


def test_port_yields_pairs_before_an_error() -> None:
    pairs = env_file_pairs("a=1\nb<<EOF\n2\nEOF\nbroken\nc=3\n")
    assert next(pairs) == ("a", "1")
    assert next(pairs) == ("b", "2")
    with pytest.raises(FileCommandError):
        next(pairs)


def test_port_output_pairs_keep_the_order_written_and_every_rewrite() -> None:
    text = "run-id=1\nresults<<EOF\n[1]\nEOF\nresults=[1, 2]\nstatus=OK\n"
    assert list(output_pairs(text)) == [("run-id", "1"), ("results", "[1]"), ("results", "[1, 2]"), ("status", "OK")]
    assert parse_output_file(text) == {"run-id": "1", "results": "[1, 2]", "status": "OK"}
    pairs = output_pairs("a=1\n=2\n")
    assert next(pairs) == ("a", "1")  # applied before the empty name fails the step
    with pytest.raises(FileCommandError, match="Parameter 'name'"):
        next(pairs)


def test_port_reads_files_like_read_all_text(tmp_path: Path) -> None:
    assert read_output_file(tmp_path / "missing") == {}
    path = tmp_path / "out"
    path.write_bytes("\ufeffname=välue\n".encode())
    assert read_output_file(path) == {"name": "välue"}


def test_port_parses_v2_commands() -> None:
    command = try_parse_v2("  ::error title=A%3A b%2C c%25,file=x.py::first%0Asecond%0D%25")
    assert command == Command("error", {"title": "A: b, c%", "file": "x.py"}, "first\nsecond\r%")
    assert try_parse_v2("::ERROR::x") == Command("ERROR", {}, "x")
    assert try_parse_v2("::endgroup::") == Command("endgroup", {}, "")
    assert try_parse_v2("::error title=a::b::c") == Command("error", {"title": "a"}, "b::c")
    for line in ("text ::error::x", "::unknown::x", "::error", ":: error::x", "", "error::x"):
        assert try_parse_v2(line) is None, line


def test_port_parses_legacy_commands_anywhere_in_a_line() -> None:
    command = try_parse_legacy("log text ##[set-output name=status;other=a%3Bb]COMPLETED%5D")
    assert command == Command("set-output", {"name": "status", "other": "a;b"}, "COMPLETED]")
    assert try_parse_legacy("##[unknown]x") is None
    assert try_parse_legacy("##[error no closing bracket") is None
    assert is_command("prefix ##[add-mask]x")
    assert not is_command("plain text with :: in it")


def test_port_splits_output_lines_on_cr_and_lf() -> None:
    assert log_lines("a\nb\r\nc\rd\n\ne") == ["a", "b", "c", "d", "", "e"]


def test_port_stop_commands() -> None:
    stream = "::stop-commands::tok123\n::error::hidden\n##[add-mask]x\n::tok123::\n::error::shown\n"
    processor = process_output(stream)
    assert processor.commands == [Command("error", {}, "shown")]
    assert processor.log == ["::error::hidden", "##[add-mask]x"]
    # A token that is a command name is refused and does not stop anything.
    processor = process_output("::stop-commands::error\n::warning::w\n")
    assert processor.errors == ["invalid stop-commands token 'error'"]
    assert processor.commands == [Command("warning", {}, "w")]


# -- format_output / set_output round trip -----------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_format_output_round_trips_through_the_runner_parser(value: str) -> None:
    assert parse_output_file(format_output("status", value)) == {"status": value}


def test_many_hostile_outputs_in_one_file_come_back_exactly() -> None:
    intended = {f"out-{i}": value for i, value in enumerate(HOSTILE_VALUES)}
    text = "".join(format_output(name, value) for name, value in intended.items())
    assert parse_output_file(text) == intended


def test_random_values_round_trip() -> None:
    rng = random.Random(20260101)
    alphabet = "ab=<%\r\n :,#[]Eé✅"
    for _ in range(500):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
        assert parse_output_file(format_output("v", value)) == {"v": value}, repr(value)


def test_injected_second_output_stays_inside_the_value() -> None:
    text = format_output("run-url", "x\nstatus=COMPLETED")
    assert parse_output_file(text) == {"run-url": "x\nstatus=COMPLETED"}


def test_plain_values_use_the_simple_form_and_others_a_random_heredoc() -> None:
    assert format_output("run-id", "5a8591dd-4039-49df-9202-96385ba3eff8") == (
        "run-id=5a8591dd-4039-49df-9202-96385ba3eff8\n"
    )
    assert format_output("elapsed-seconds", "12.5") == "elapsed-seconds=12.5\n"
    assert format_output("empty", "") == "empty=\n"
    first = format_output("status", "a=b")
    assert re.fullmatch(r"status<<(ghadelimiter_[0-9a-f]{32})\na=b\n\1\n", first)
    assert first != format_output("status", "a=b"), "the delimiter must be fresh each time"


def test_heredoc_delimiter_is_redrawn_when_the_value_contains_it(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter(["0" * 32, "1" * 32])
    monkeypatch.setattr(github_module, "_random_hex", lambda: next(draws))
    value = f"x\nghadelimiter_{'0' * 32}\nstatus=COMPLETED"
    text = format_output("run-url", value)
    assert text == f"run-url<<ghadelimiter_{'1' * 32}\n{value}\nghadelimiter_{'1' * 32}\n"
    assert parse_output_file(text) == {"run-url": value}


def test_set_output_appends_to_github_output(tmp_path: Path) -> None:
    output = tmp_path / "output"
    output.write_text("earlier=kept\n", encoding="utf-8")
    stream = io.StringIO()
    gh = GitHub({"GITHUB_OUTPUT": str(output)}, stream)
    for i, value in enumerate(HOSTILE_VALUES):
        gh.set_output(f"out-{i}", value)
    gh.set_outputs({"status": "COMPLETED", "trace-id": None})
    expected = {f"out-{i}": value for i, value in enumerate(HOSTILE_VALUES)}
    assert read_output_file(output) == {"earlier": "kept", **expected, "status": "COMPLETED"}
    assert gh.outputs == {**expected, "status": "COMPLETED"}
    assert stream.getvalue() == "", "outputs go to the file only"


def test_outputs_go_to_stdout_when_github_output_is_unset() -> None:
    stream = io.StringIO()
    gh = GitHub(ON_GITHUB, stream)
    gh.set_output("run-id", "r-1")
    gh.set_output("run-id", "r-1")  # unchanged: said once
    gh.set_output("status", "RUNNING")
    gh.set_output("status", "COMPLETED")
    assert stream.getvalue() == "run-id=r-1\nstatus=RUNNING\nstatus=COMPLETED\n"
    assert gh.outputs == {"run-id": "r-1", "status": "COMPLETED"}


# -- escaping ------------------------------------------------------------------------------------


def test_escape_data_percent_first_then_cr_lf() -> None:
    assert escape_data("100%\r\n") == "100%25%0D%0A"
    assert escape_data("%0A") == "%250A"
    assert escape_data("a:b,c") == "a:b,c"


def test_escape_property_also_escapes_colon_and_comma() -> None:
    assert escape_property("a:b,c%\r\n") == "a%3Ab%2Cc%25%0D%0A"
    assert escape_property("%3A") == "%253A"


@pytest.mark.parametrize("text", HOSTILE_VALUES)
def test_escaping_round_trips_through_the_runner_unescape(text: str) -> None:
    assert unescape_data(escape_data(text)) == text
    assert unescape_property(escape_property(text)) == text


def test_annotation_exact_text_and_as_the_runner_reads_it() -> None:
    stream = io.StringIO()
    GitHub(ON_GITHUB, stream).annotate("error", "bad\nthing 100%", title="Invalid input 'x': y, z")
    assert stream.getvalue() == "::error title=Invalid input 'x'%3A y%2C z::bad%0Athing 100%25\n"
    assert process_output(stream.getvalue()).commands == [
        Command("error", {"title": "Invalid input 'x': y, z"}, "bad\nthing 100%")
    ]


def test_annotation_without_title() -> None:
    stream = io.StringIO()
    GitHub(ON_GITHUB, stream).annotate("warning", "careful")
    assert stream.getvalue() == "::warning::careful\n"


# -- untrusted text from Hex -----------------------------------------------------------------------

HEX_MESSAGES = [
    "::set-output name=status::COMPLETED",
    "##[set-output name=status]COMPLETED",
    "Query failed\n::error::injected\n##[add-mask]x\n::endgroup::",
    "first\r::warning::after a carriage return",
    "   ::stop-commands::abc",
    "::add-mask::hunter2",
    "ends with newline\n",
]


@pytest.mark.parametrize("message", HEX_MESSAGES)
def test_hex_text_in_an_annotation_stays_one_command(message: str) -> None:
    stream = io.StringIO()
    GitHub(ON_GITHUB, stream).annotate("error", message, title="Hex ERRORED")
    assert stream.getvalue().count("\n") == 1
    assert "\r" not in stream.getvalue()
    assert process_output(stream.getvalue()).commands == [Command("error", {"title": "Hex ERRORED"}, message)]


@pytest.mark.parametrize("message", HEX_MESSAGES)
def test_hex_text_in_a_debug_line_stays_one_command(message: str) -> None:
    stream = io.StringIO()
    GitHub(ON_GITHUB, stream).debug(message)
    assert process_output(stream.getvalue()).commands == [Command("debug", {}, message)]


@pytest.mark.parametrize("message", HEX_MESSAGES)
def test_untrusted_text_runs_no_command_and_commands_resume_after(message: str) -> None:
    stream = io.StringIO()
    gh = GitHub(ON_GITHUB, stream)
    gh.untrusted(message)
    gh.annotate("error", "after")
    processor = process_output(stream.getvalue())
    assert processor.commands == [Command("error", {}, "after")]
    assert processor.errors == []
    assert processor.stop_token is None
    assert processor.log == log_lines(message + "\n")


def test_untrusted_uses_a_fresh_random_token_that_is_no_command() -> None:
    stream = io.StringIO()
    gh = GitHub(ON_GITHUB, stream)
    gh.untrusted("one")
    gh.untrusted("two")
    tokens = re.findall(r"^::stop-commands::(.*)$", stream.getvalue(), flags=re.MULTILINE)
    assert len(tokens) == 2
    assert tokens[0] != tokens[1]
    for token in tokens:
        assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert stream.getvalue() == f"::stop-commands::{tokens[0]}\none\n::{tokens[0]}::\n" + (
        f"::stop-commands::{tokens[1]}\ntwo\n::{tokens[1]}::\n"
    )


def test_plain_log_lines_are_written_as_is() -> None:
    stream = io.StringIO()
    GitHub(ON_GITHUB, stream).line("Status RUNNING after 3s")
    assert stream.getvalue() == "Status RUNNING after 3s\n"


@pytest.mark.parametrize("message", HEX_MESSAGES)
def test_log_lines_quoting_hex_cannot_inject_commands(message: str) -> None:
    stream = io.StringIO()
    gh = GitHub(ON_GITHUB, stream)
    gh.line(f"Started run r-1: {message}")
    gh.line(message)
    processor = process_output(stream.getvalue())
    assert processor.commands == []
    assert processor.stop_token is None
    assert processor.log == log_lines(f"Started run r-1: {message}\n") + log_lines(message + "\n")


# -- secrets -------------------------------------------------------------------------------------


def test_add_secret_masks_first_and_redacts_everything_after(tmp_path: Path) -> None:
    secret = "hx-Secret%Token"
    output, summary = tmp_path / "output", tmp_path / "summary"
    stream = io.StringIO()
    gh = GitHub({**ON_GITHUB, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}, stream)
    gh.add_secret(secret)
    gh.add_secret(secret)  # once is enough
    gh.line(f"token is {secret}")
    gh.untrusted(f"Hex said: bad token {secret}")
    gh.debug(f"debug {secret}")
    gh.annotate("error", f"rejected {secret}", title=f"title {secret}")
    gh.set_output("run-url", f"https://x/{secret}")
    gh.summary(f"| {secret} |\n")

    text = stream.getvalue()
    first, rest = text.split("\n", 1)
    assert first == "::add-mask::hx-Secret%25Token"
    assert process_output(first + "\n").commands == [Command("add-mask", {}, secret)]
    assert secret not in rest
    assert "token is ***\n" in rest
    assert "Hex said: bad token ***\n" in rest
    assert "::debug::debug ***\n" in rest
    assert "::error title=title ***::rejected ***\n" in rest
    assert read_output_file(output) == {"run-url": "https://x/***"}
    assert gh.outputs == {"run-url": "https://x/***"}
    assert summary.read_text(encoding="utf-8") == "| *** |\n"


def test_add_secret_with_newline_is_one_mask_command() -> None:
    stream = io.StringIO()
    gh = GitHub(ON_GITHUB, stream)
    gh.add_secret("line1\nline2")
    assert stream.getvalue() == "::add-mask::line1%0Aline2\n"
    assert process_output(stream.getvalue()).commands == [Command("add-mask", {}, "line1\nline2")]


def test_empty_secret_prints_nothing() -> None:
    stream = io.StringIO()
    gh = GitHub(ON_GITHUB, stream)
    gh.add_secret("")
    gh.line("text")
    assert stream.getvalue() == "text\n"


# -- summary and environment -----------------------------------------------------------------------


def test_summary_is_appended(tmp_path: Path) -> None:
    summary = tmp_path / "summary"
    summary.write_text("from an earlier step\n", encoding="utf-8")
    gh = GitHub({"GITHUB_STEP_SUMMARY": str(summary)}, io.StringIO())
    gh.summary("### one ✅\n")
    gh.summary("two\n")
    assert summary.read_text(encoding="utf-8") == "from an earlier step\n### one ✅\ntwo\n"


def test_summary_outside_github_is_a_no_op(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stream = io.StringIO()
    GitHub({"GITHUB_STEP_SUMMARY": ""}, stream).summary("ignored\n")
    assert stream.getvalue() == ""
    assert list(tmp_path.iterdir()) == []


def test_environment_flags() -> None:
    gh = GitHub({"GITHUB_ACTIONS": "true", "RUNNER_DEBUG": "1"}, io.StringIO())
    assert gh.on_github
    assert gh.debug_enabled
    gh = GitHub({"GITHUB_ACTIONS": "false", "RUNNER_DEBUG": "0"}, io.StringIO())
    assert not gh.on_github
    assert not gh.debug_enabled


def test_a_closed_stdout_does_not_crash() -> None:
    stream = io.StringIO()
    stream.close()
    gh = GitHub(ON_GITHUB, stream)
    gh.line("nobody listens")
    gh.annotate("error", "still fine")


def test_debug_lines_only_on_github_or_with_runner_debug() -> None:
    for environ, shown in (({}, False), ({"RUNNER_DEBUG": "1"}, True), (ON_GITHUB, True)):
        stream = io.StringIO()
        GitHub(environ, stream).debug("status read")
        assert (stream.getvalue() == "::debug::status read\n") is shown, environ
