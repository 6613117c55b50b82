"""One pluralising helper (ambientctl.words.count) for every count in front of a noun (#19)."""

import pytest

from ambientctl.words import count, plural


@pytest.mark.parametrize("n,noun,want", [
    (1, "line", "1 line"), (0, "line", "0 lines"), (2, "line", "2 lines"), (1, "flow", "1 flow"),
    (3, "policy", "3 policies"), (2, "key", "2 keys"), (2, "pass", "2 passes"), (2, "CONNECT", "2 CONNECTs"),
    (2, "key-log line", "2 key-log lines"), (1, "value", "1 value"), (1234, "packet", "1234 packets"),
])
def test_count(n, noun, want):
    assert count(n, noun) == want


def test_thousands_and_irregular():
    assert count(12345, "packet", thousands=True) == "12,345 packets"
    assert count(2, "person", "people") == "2 people"
    assert plural("this") == "these"
