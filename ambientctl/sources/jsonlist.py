"""json.loads for big `kind: List` documents, in small steps: the top-level object member by member and its
arrays element by element, each element one C call. The result is what json.loads returns; the difference is
that no single call holds the GIL for the whole document (json.loads of a 4 MB, 5,000-pod list holds it
~100 ms — a frozen frame in the interactive app, which reads cluster state in a thread)."""

from __future__ import annotations

import json
import re
from typing import Any

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
STEPPED_ABOVE = 256 * 1024  # smaller documents: one json.loads is quicker and short enough


def loads(text: str) -> Any:
    """Like json.loads(text) (same value, json.JSONDecodeError on bad input), in steps for big documents."""
    if len(text) < STEPPED_ABOVE:
        return json.loads(text)
    i = _ws(text, 0)
    if i >= len(text) or text[i] not in "{[":
        return json.loads(text)
    value, end = _container(text, i, 0)
    end = _ws(text, end)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _ws(text: str, i: int) -> int:
    m = _WS.match(text, i)
    return m.end() if m else i


def _value(text: str, i: int, depth: int) -> tuple[Any, int]:
    if depth < 2 and text[i:i + 1] in ("{", "["):
        return _container(text, i, depth)
    return _DECODER.raw_decode(text, i)


def _container(text: str, i: int, depth: int) -> tuple[Any, int]:
    if text[i] == "[":
        items: list[Any] = []
        i = _ws(text, i + 1)
        if text[i:i + 1] == "]":
            return items, i + 1
        while True:
            v, i = _value(text, i, depth + 1)
            items.append(v)
            i = _ws(text, i)
            c = text[i:i + 1]
            if c == ",":
                i = _ws(text, i + 1)
            elif c == "]":
                return items, i + 1
            else:
                raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
    obj: dict[str, Any] = {}
    i = _ws(text, i + 1)
    if text[i:i + 1] == "}":
        return obj, i + 1
    while True:
        if text[i:i + 1] != '"':
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, i)
        key, i = _DECODER.raw_decode(text, i)
        i = _ws(text, i)
        if text[i:i + 1] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", text, i)
        v, i = _value(text, _ws(text, i + 1), depth + 1)
        obj[key] = v
        i = _ws(text, i)
        c = text[i:i + 1]
        if c == ",":
            i = _ws(text, i + 1)
        elif c == "}":
            return obj, i + 1
        else:
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
