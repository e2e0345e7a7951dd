"""Redacting secrets from text an upstream sent back: whole, in part, in any case.

An upstream error body may quote a credential it received: the whole token, one
segment of a JWT, its first characters, or the token lower-cased. :func:`redact`
hides every run of text made of ``MIN_ECHO`` or more consecutive characters of a
secret (compared case-insensitively), so no usable part of it survives.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MIN_ECHO", "REDACTED", "redact", "secret_parts"]

MIN_ECHO = 8
"""The shortest echo of a secret that is redacted (shorter runs match ordinary words)."""
REDACTED = "[redacted]"


def secret_parts(values: Iterable[str]) -> list[str]:
    """The secrets to look for in ``values`` (header values): each whitespace-separated
    word (``Bearer`` schemes dropped) and each JWT segment, lower-cased, long enough."""
    found: set[str] = set()
    for value in values:
        for word in value.split():
            if word.lower() in {"bearer", "basic", "token"}:
                continue
            found.add(word.lower())
            found.update(segment.lower() for segment in word.split("."))
    return sorted((s for s in found if len(s) >= MIN_ECHO), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every run of ``MIN_ECHO``+ characters of a secret replaced by
    ``[redacted]`` (pure; case-insensitive)."""
    grams: set[str] = set()
    for secret in secrets:
        low = secret.lower()
        grams.update(low[i : i + MIN_ECHO] for i in range(len(low) - MIN_ECHO + 1))
    if not grams or len(text) < MIN_ECHO:
        return text
    low = text.lower()
    hidden = bytearray(len(text))
    for i in range(len(text) - MIN_ECHO + 1):
        if low[i : i + MIN_ECHO] in grams:
            hidden[i : i + MIN_ECHO] = b"\x01" * MIN_ECHO
    if not any(hidden):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if hidden[i]:
            while i < len(text) and hidden[i]:
                i += 1
            out.append(REDACTED)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
