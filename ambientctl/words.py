"""Counts that agree with their nouns: `1 line`, `0 lines`, `1 flow`, `3 policies`. Every message and report
with a number in front of a noun says it through count(), never `line(s)`. Standard library only, usable from
the pure core and from --help."""

from __future__ import annotations

IRREGULAR = {"this": "these", "is": "are", "was": "were", "has": "have"}


def plural(noun: str) -> str:
    """English plural of the last word: policy -> policies, pass -> passes, CONNECT -> CONNECTs."""
    head, _, last = noun.rpartition(" ")
    if last in IRREGULAR:
        word = IRREGULAR[last]
    elif last.isupper():
        word = last + "s"
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        word = last + "es"
    elif last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def count(n: int, noun: str, plural_form: str | None = None, *, thousands: bool = False) -> str:
    """`1 line`, `0 lines`, `12,345 packets` (thousands=True)."""
    num = f"{n:,}" if thousands else str(n)
    return f"{num} {noun if n == 1 else plural_form or plural(noun)}"
