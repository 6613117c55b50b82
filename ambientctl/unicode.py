"""Text from files we did not write: decoding it (UTF-8, or UTF-16/32 as Windows tools write it) and keeping
what cannot be printed from reaching a terminal.

`decode_text` reads manifests and logs whatever Unicode encoding they carry a BOM for (PowerShell's `>` writes
UTF-16), and names the offending byte otherwise. `without_surrogates` replaces lone UTF-16 surrogates that JSON
escapes (`"\\ud800"`) can smuggle into strings, as Go's encoding/json does, so printing them cannot fail.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ambientctl.errors import InputError

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_LABEL = {"utf-32": "UTF-32", "utf-16": "UTF-16", "utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE",
          "utf-8-sig": "UTF-8"}


def sniff_encoding(data: bytes) -> str:
    """The codec for `data`: from its BOM, UTF-16 without one when every other byte of an ASCII-looking start
    is NUL, else UTF-8."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc
    head = data[:256]
    if len(head) >= 4 and len(head) % 2 == 0:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) == len(odd) and 0 not in even:
            return "utf-16-le"
        if even.count(0) == len(even) and 0 not in odd:
            return "utf-16-be"
    return "utf-8-sig"


def decode_text(data: bytes, name: str, expected: str) -> str:
    """`data` as text, or InputError naming the file, the byte and its offset."""
    enc = sniff_encoding(data)
    try:
        return data.decode(enc)
    except UnicodeDecodeError as e:
        bad = data[e.start:e.start + 1].hex() if enc.startswith("utf-8") else data[e.start:e.end].hex()
        raise InputError(f"{name}: not a text file: byte{'s' if len(bad) > 2 else ''} 0x{bad} at offset {e.start} "
                         f"{'is' if len(bad) <= 2 else 'are'} not {_LABEL[enc]} (expected {expected})") from None


_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # in JSON text: may decode to a lone surrogate


def without_surrogates(v: Any) -> Any:
    """`v` with lone surrogates in every string (and key) replaced by U+FFFD; containers are fixed in place."""
    if isinstance(v, str):
        return _SURROGATE.sub("\ufffd", v)
    if isinstance(v, list):
        for i, x in enumerate(v):
            if isinstance(x, str | list | dict):
                v[i] = without_surrogates(x)
    elif isinstance(v, dict):
        for k in list(v):
            x = v[k]
            if isinstance(k, str) and _SURROGATE.search(k):
                del v[k]
                k = _SURROGATE.sub("\ufffd", k)
            v[k] = without_surrogates(x) if isinstance(x, str | list | dict) else x
    return v


# What a terminal would act on instead of showing: C0 controls but tab and newline, DEL, C1 controls (CSI, OSC...
# as single bytes), and the bidirectional overrides/isolates that reorder what is shown (CVE-2021-42574).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def visible(s: str) -> str:
    """`s` with every character a terminal would act on shown as an escape (`\\x1b`, `\\u202e`)."""
    return _UNSAFE.sub(_escape, s) if _UNSAFE.search(s) else s


def visible_line(s: str) -> str:
    """Like visible, newlines included: for one-line messages (errors on stderr)."""
    return visible(s).replace("\n", "\\n").replace("\r", "\\r")


def visible_doc(v: Any) -> Any:
    """`v` (a JSON-like document) with `visible` applied to every string and key; unchanged parts are shared,
    not copied, so a clean document costs one pass."""
    if isinstance(v, str):
        return visible(v)
    if isinstance(v, dict):
        out = None
        for i, (k, x) in enumerate(v.items()):
            k2 = visible(k) if isinstance(k, str) else k
            x2 = visible_doc(x) if isinstance(x, str | dict | list | tuple) else x
            if out is None and (k2 is not k or x2 is not x):
                out = dict(itertools.islice(v.items(), i))
            if out is not None:
                out[k2] = x2
        return v if out is None else out
    if isinstance(v, list | tuple):
        items = [visible_doc(x) if isinstance(x, str | dict | list | tuple) else x for x in v]
        if all(a is b for a, b in zip(items, v, strict=True)):
            return v
        return type(v)(items) if isinstance(v, tuple) else items
    return v


_FIELDS: dict[type, tuple[str, ...]] = {}


def visible_objects(objs: Any) -> bool:
    """Apply `visible` in place to every string of these model objects (dataclasses: names, labels, rule bodies);
    True when something changed. For screens that show the model itself (the interactive app)."""
    changed = False
    for obj in objs:
        names = _FIELDS.get(type(obj))
        if names is None:
            names = _FIELDS[type(obj)] = tuple(obj.__dataclass_fields__)
        for n in names:
            v = getattr(obj, n)
            t = type(v)
            if t is str:
                if _UNSAFE.search(v):
                    setattr(obj, n, visible(v))
                    changed = True
            elif t is list and v and hasattr(v[0], "__dataclass_fields__"):
                changed |= visible_objects(v)
            elif t is dict or t is list:
                if v:
                    nv = visible_doc(v)
                    if nv is not v:
                        setattr(obj, n, nv)
                        changed = True
            elif hasattr(v, "__dataclass_fields__"):
                changed |= visible_objects((v,))
    return changed


# Terminal controls written as escapes in JSON ("\u001b") or YAML ("\e", "\x1b") text.
_ESCAPED_CONTROL = re.compile(r"\\u(?:00[0189][0-9a-fA-F]|007[fF]|200[eEfF]|202[a-eA-E]|206[6-9]|061[cC])"
                              r"|\\[eE]|\\x[0189][0-9a-fA-F]|\\x7[fF]")
_CONTROLS_SEEN: ContextVar[list[bool] | None] = ContextVar("controls_seen", default=None)


@contextmanager
def watching_controls() -> Iterator[list[bool]]:
    """While inside, `note_text` records whether any text read could hold terminal controls (the list is
    non-empty then): one regex pass over the input, so screens scan the model only when it is needed."""
    seen: list[bool] = []
    token = _CONTROLS_SEEN.set(seen)
    try:
        yield seen
    finally:
        _CONTROLS_SEEN.reset(token)


def note_text(text: str) -> None:
    seen = _CONTROLS_SEEN.get()
    if seen is not None and not seen and (_UNSAFE.search(text) or _ESCAPED_CONTROL.search(text)):
        seen.append(True)
