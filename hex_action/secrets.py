"""The one rule for hiding secrets in text the action shows: every log line, output and message."""

from __future__ import annotations

from collections.abc import Iterable


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by `***`.

    Longest first, so a secret that contains another is replaced whole; empty values are
    ignored (replacing "" would put `***` between every character).
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
