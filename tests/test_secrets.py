"""The one redaction rule (hex_action.secrets)."""

from __future__ import annotations

from hex_action.secrets import redact


def test_every_secret_is_replaced_wherever_it_stands() -> None:
    assert redact("a tok-1 b tok-1 c tok-2", ["tok-1", "tok-2"]) == "a *** b *** c ***"


def test_a_secret_containing_another_is_replaced_whole() -> None:
    # Shorter first would leave "***-suffix" behind, showing part of the longer one.
    assert redact("key=abc-suffix", ["abc", "abc-suffix"]) == "key=***"


def test_empty_secrets_change_nothing() -> None:
    assert redact("plain text", ["", ""]) == "plain text"
    assert redact("plain text", []) == "plain text"
