"""hex_action.inputs: parsers of single input values and their error texts."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from hex_action.inputs import (
    NotJsonError,
    check_view_id,
    format_duration,
    parse_bool,
    parse_duration,
    parse_int,
    parse_json_array_of_objects,
    parse_json_object,
    parse_uuid,
)

UUID_V4 = "5a8591dd-4039-49df-9202-96385ba3eff8"
UUID_V7 = "01936f3c-8b2a-7c3e-9f00-0123456789ab"


def error_text(parser: Callable[..., Any], *args: Any) -> str:
    """The text of the ValueError `parser(*args)` raises."""
    try:
        parser(*args)
    except ValueError as exc:
        return str(exc)
    pytest.fail(f"{parser.__name__}{args!r} raised nothing")


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("600", 600.0),
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1h30m15s", 5415.0),
        ("1.5h", 5400.0),
        ("2.5m", 150.0),
        ("0.5", 0.5),
        ("45.5s", 45.5),
        (" 2m 30s ", 150.0),
        ("1H30M", 5400.0),
        ("10m0s", 600.0),
    ],
)
def test_parse_duration(raw: str, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["", " ", "abc", "10x", "1d", "h", "m", "1m1h", "1h-5m", "--1", "1,5h", "ten minutes"])
def test_parse_duration_rejects_non_durations(raw: str) -> None:
    with pytest.raises(ValueError, match=f"^'{raw}' is not a duration\\.$"):
        parse_duration(raw)


@pytest.mark.parametrize("raw", ["0", "0s", "0h0m", "0.0", "-5", "nan", "inf"])
def test_parse_duration_rejects_zero_negative_and_non_finite(raw: str) -> None:
    with pytest.raises(ValueError, match=f"^'{raw}' must be a duration above zero\\.$"):
        parse_duration(raw)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1.5, "1.5s"),
        (10, "10s"),
        (59, "59s"),
        (60, "1m"),
        (90, "1m30s"),
        (3600, "1h"),
        (3725, "1h2m5s"),
        (5400, "1h30m"),
        (7200.4, "2h"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("raw", ["true", "True", "TRUE", "yes", "on", "1", " true "])
def test_parse_bool_true(raw: str) -> None:
    assert parse_bool(raw) is True


@pytest.mark.parametrize("raw", ["false", "False", "no", "OFF", "0", "\tfalse\n"])
def test_parse_bool_false(raw: str) -> None:
    assert parse_bool(raw) is False


@pytest.mark.parametrize("raw", ["maybe", "", "tru", "2", "y"])
def test_parse_bool_rejects(raw: str) -> None:
    with pytest.raises(ValueError, match=f"^'{raw}' is not a boolean\\.$"):
        parse_bool(raw)


def test_parse_json_object() -> None:
    assert parse_json_object('{"region": "EMEA", "n": [1, {"x": null}]}') == {"region": "EMEA", "n": [1, {"x": None}]}
    assert parse_json_object("{}") == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[]", "must be a JSON object, got an array."),
        ('[{"a": 1}]', "must be a JSON object, got an array."),
        ('"EMEA"', "must be a JSON object, got a string."),
        ("12", "must be a JSON object, got a number."),
        ("1.5", "must be a JSON object, got a number."),
        ("true", "must be a JSON object, got a boolean."),
        ("null", "must be a JSON object, got null."),
        ("{bad", "is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)."),
        ('{"a": 1,}', "is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 9)."),
        ("", "is not valid JSON (Expecting value at line 1 column 1)."),
        ("region: EMEA", "is not valid JSON (Expecting value at line 1 column 1)."),
    ],
)
def test_parse_json_object_errors(raw: str, message: str) -> None:
    assert error_text(parse_json_object, raw) == message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"n": NaN}', "is not valid JSON (NaN is not a JSON value; use a number or null)."),
        ('{"n": Infinity}', "is not valid JSON (Infinity is not a JSON value; use a number or null)."),
        ('{"n": [1, -Infinity]}', "is not valid JSON (-Infinity is not a JSON value; use a number or null)."),
        ('{"n": 1e999}', "is not valid JSON (1e999 is too large for a number)."),
        ('{"n": -1.5E400}', "is not valid JSON (-1.5E400 is too large for a number)."),
    ],
)
def test_parse_json_refuses_what_json_does_not_have(raw: str, message: str) -> None:
    # Python's json reads these; Hex would reject the body, after the action had started other runs.
    assert error_text(parse_json_object, raw) == message
    assert error_text(parse_json_array_of_objects, f"[{raw}]") == message


def test_parse_json_keeps_large_finite_numbers() -> None:
    assert parse_json_object('{"n": 1e308, "m": -2.5, "k": 10}') == {"n": 1e308, "m": -2.5, "k": 10}


def test_parse_json_array_of_objects() -> None:
    raw = '[{"type": "FAILURE", "includeSuccessScreenshot": false}]'
    assert parse_json_array_of_objects(raw) == [{"type": "FAILURE", "includeSuccessScreenshot": False}]
    assert parse_json_array_of_objects("[]") == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{}", "must be a JSON array of objects, got an object."),
        (
            '[{"type": "FAILURE"}, 1]',
            "must be a JSON array of objects, got an array with an item that is not an object.",
        ),
        ('["FAILURE"]', "must be a JSON array of objects, got an array with an item that is not an object."),
        ('"x"', "must be a JSON array of objects, got a string."),
        ("[", "is not valid JSON (Expecting value at line 1 column 2)."),
    ],
)
def test_parse_json_array_of_objects_errors(raw: str, message: str) -> None:
    assert error_text(parse_json_array_of_objects, raw) == message


def test_json_parsers_take_structures_parsed_from_yaml() -> None:
    assert parse_json_object({"region": "EMEA", "n": [1, None]}) == {"region": "EMEA", "n": [1, None]}
    assert parse_json_array_of_objects([{"type": "ALL"}]) == [{"type": "ALL"}]
    assert error_text(parse_json_object, ["a"]) == "must be a mapping, got a list."
    assert error_text(parse_json_object, 7) == "must be a mapping, got a number."
    assert error_text(parse_json_array_of_objects, {"a": 1}) == "must be a list of mappings, got a mapping."


def test_json_parsers_refuse_structures_json_cannot_carry() -> None:
    with pytest.raises(NotJsonError) as caught:
        parse_json_object({"as_of": datetime.date(2024, 1, 1)})
    assert (str(caught.value), caught.value.fix) == (
        "as_of is a date (2024-01-01), which JSON cannot carry.",
        "quote it ('2024-01-01') to send it as text.",
    )
    with pytest.raises(NotJsonError) as caught:
        parse_json_array_of_objects([{"type": "ALL"}, {"n": float("nan")}])
    assert (str(caught.value), caught.value.fix) == (
        "[1].n is nan, which JSON cannot carry.",
        "use a finite number or null.",
    )


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (UUID_V4, UUID_V4),
        (UUID_V7, UUID_V7),
        ("00000000-0000-1000-8000-000000000000", "00000000-0000-1000-8000-000000000000"),
        (UUID_V4.upper(), UUID_V4),
        (f"  {UUID_V7}\n", UUID_V7),
    ],
)
def test_parse_uuid_accepts_any_version(raw: str, parsed: str) -> None:
    assert parse_uuid(raw) == parsed


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "",
        UUID_V4.replace("-", ""),
        "{" + UUID_V4 + "}",
        UUID_V4[:-1],
        UUID_V4 + "0",
        UUID_V4.replace("a", "g"),
        f"{UUID_V4}\nx",
        f"https://app.hex.tech/acme/app/{UUID_V4}/latest",
    ],
)
def test_parse_uuid_rejects_non_uuids(raw: str) -> None:
    assert (
        error_text(parse_uuid, raw) == f"'{raw}' is not a Hex id (a UUID such as 5a8591dd-4039-49df-9202-96385ba3eff8)."
    )


def test_check_view_id_refuses_a_view_with_input_params() -> None:
    check_view_id("view-1", None)
    check_view_id(None, {"region": "EMEA"})
    check_view_id("", {})
    assert (
        error_text(check_view_id, "view-1", {}) == "cannot be used together with input-params (Hex rejects the pair)."
    )


def test_parse_int() -> None:
    assert parse_int("4", 1, 25) == 4
    assert parse_int(" 25 ", 1, 25) == 25
    assert parse_int("1", 1, 25) == 1
    for raw, message in [
        ("0", "0 is outside 1 to 25."),
        ("26", "26 is outside 1 to 25."),
        ("-1", "-1 is outside 1 to 25."),
        ("x", "'x' is not a whole number."),
        ("2.5", "'2.5' is not a whole number."),
        ("", "'' is not a whole number."),
    ]:
        assert error_text(parse_int, raw, 1, 25) == message
