"""Tests for hex_action.hex_errors: Hex's error bodies, in every shape, as the user's message."""

from __future__ import annotations

import json

import pytest

from hex_action.hex_errors import HINTS, MAX_ERROR_TEXT, describe_error_body


@pytest.mark.parametrize(
    ("body", "words", "trace_id"),
    [
        ({"message": "Service unavailable", "code": "SERVICE_UNAVAILABLE", "issues": []}, "Service unavailable", None),
        (
            {"reason": "Slack notifications cannot be sent.", "traceId": "t-1"},
            "Slack notifications cannot be sent.",
            "t-1",
        ),
        ({"message": "Bad", "issues": [{"message": "one"}, {"message": "two"}]}, "Bad; one; two", None),
        ({"reason": "Nope", "details": "more", "traceId": "t-2"}, "Nope; more", "t-2"),
    ],
)
def test_every_json_shape_gives_hex_words_and_trace_id(
    body: dict[str, object], words: str, trace_id: str | None
) -> None:
    assert describe_error_body(json.dumps(body))[:2] == (words, trace_id)


def test_unknown_inputs_are_named_with_a_fix() -> None:
    text, trace_id, hint = describe_error_body(json.dumps({"traceId": "t", "invalid": [], "notFound": ["regoin"]}))
    assert text == "unknown inputs: regoin"
    assert trace_id == "t"
    assert hint == "The published app has no input named regoin; check the names in input-params."


def test_invalid_inputs_show_name_value_and_type() -> None:
    body = {"invalid": [{"paramName": "n", "paramValue": '"x"', "dataType": "NUMBER"}], "notFound": []}
    assert describe_error_body(json.dumps(body))[0] == 'invalid inputs: n="x" (expected NUMBER)'


def test_plain_text_is_kept_and_cut() -> None:
    assert describe_error_body("Unauthorized\n") == ("Unauthorized", None, None)
    assert len(describe_error_body("x" * 5000)[0]) == MAX_ERROR_TEXT


def test_every_status_hint_names_a_fix() -> None:
    assert set(HINTS) >= {400, 401, 403, 404, 422, 429, 500, 503}
    assert "Run projects" in HINTS[403]
    assert "published" in HINTS[422]
    assert "eu.hex.tech" in HINTS[401]
