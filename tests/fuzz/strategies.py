"""Hypothesis strategies for hostile input, derived from what ambientctl parses.

Manifests: `schema_paths` walks model/schema.py's table, so every field of every kind listed there is mutated
(a field added to the table is fuzzed without touching this file). A mutation takes a real demo cluster, picks a
document and a field path, and puts a hostile value there (wrong type, null, empty, huge, unicode, control and
bidi characters, deep nesting, raw YAML such as tags and aliases), or deletes it.

Other inputs (pcap/pcapng records, log lines, config dumps, saved traces) are mutated record by record from real
files: `json_mutation` replaces any node of a JSON document; `bytes_mutation` cuts, flips and splices bytes at
record boundaries.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from ambientctl.model import schema as sc

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "ambientctl" / "demo" / "data"

# --- hostile values --------------------------------------------------------------------------------------------

NASTY_CHARS = ["\x1b[31m", "\x1b]0;pwned\x07", "\x9b2J", "\x00", "\r", "\u202e", "\u2066", "\ud800", "\udfff",
               "\ufeff", "é", "🦀", "\\", '"', "'", "*", "/", ".", "(", "[", "{", ":", "#", "%", "\n", "\t", " "]
nasty_text = st.lists(st.sampled_from(NASTY_CHARS) | st.text(max_size=4), max_size=8).map("".join)

DEEP = "__deep_{}__"  # replaced by n nested lists when serialised (no serialiser recurses that deep)
RAW = "__raw_{}__"  # replaced by raw YAML/JSON text when serialised

RAW_YAML = ["!!binary aGVsbG8=", "2024-01-02T03:04:05Z", "2024-01-02", "!!set {a, b}", "{1: x, null: y}",
            "&a [*a]", "*nosuchanchor", "!!python/object:os.system {}", "0x1F", "0o17", "1e400", ".nan", "-.inf",
            "!!str", "[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]", "|\n  text", "!custom x", "? [a]\n: b"]
RAW_JSON = ["NaN", "Infinity", "-Infinity", "1" * 5000, "1e999", '"\\ud800"', '"\\udc00x"', "1.0e-400", "-0",
            '{"a": 1, "a": 2}', '"\\u0000"', "123456789012345678901234567890"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([0, -1, 65535, 65536, 2**31, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), nasty_text, st.just(""), st.just("x" * 70_000),
)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c,
                                                                                  max_size=3), max_leaves=8)
hostile = st.one_of(values, values, values, values, values, st.integers(200, 20_000).map(DEEP.format))


REGEXES = ["", ".*", "(a+)+$", "^/api/v[0-9]+/.*", "[", "a{1000000}", "(?P<x>a)(?P=x)", "\\", "(?i)GET", "\\d+"]


def valid_for(field: sc.Field, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of the right type with edge content: what a type check lets through to the model."""
    if isinstance(field, sc.Regex):
        return st.sampled_from(REGEXES)
    if isinstance(field, sc.Str | sc.Scalar):
        return st.one_of(st.text(max_size=10), nasty_text, st.sampled_from(
            ["", "*", "/", "default", "productpage", "sleep", "10.0.0.1", "::1", "10.0.0.0/8", "GET", "DELETE",
             "Exact", "PathPrefix", "RegularExpression", "Service", "HBONE", "ALLOW", "DENY", "CUSTOM", "AUDIT",
             "STRICT", "DISABLE", "Same", "All", "Selector", "True", "Ready", "bookinfo", "9080", "http",
             "source.ip", "destination.port", "request.headers[x]", "cluster.local/ns/default/sa/sleep"]))
    if isinstance(field, sc.Int):
        lo = field.lo if field.lo is not None else -(2**63)
        hi = field.hi if field.hi is not None else 2**63
        return st.one_of(st.integers(lo, hi), st.sampled_from([x for x in (lo, hi, 0, 1, 80, 9080, 15008)
                                                               if lo <= x <= hi]))
    if isinstance(field, sc.Num):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(field, sc.Bool):
        return st.booleans()
    if isinstance(field, sc.IntOrStr | sc.PortKey):
        return st.one_of(st.integers(0, 65535), st.sampled_from(["http", "9080", "", "0", "65535", "x" * 70]))
    if depth > 4:
        return st.just({} if isinstance(field, sc.Obj | sc.Map) else [])
    if isinstance(field, sc.List):
        return st.lists(valid_for(field.item, depth + 1), max_size=3)
    if isinstance(field, sc.Map):
        return st.dictionaries(st.sampled_from(["app", "version", "x-user", ""]) | st.text(max_size=4),
                               valid_for(field.value, depth + 1), max_size=3)
    if isinstance(field, sc.Obj):
        return st.fixed_dictionaries({}, optional={k: valid_for(f, depth + 1) for k, f in field.fields.items()})
    return hostile


def field_at(schema: sc.Field, path: tuple[Step, ...]) -> sc.Field:
    f = schema
    for step, name in path:
        f = f.fields[name] if step == "key" else f.item if step == "item" else f.value  # type: ignore[attr-defined]
    return f


@dataclass(frozen=True)
class Raw:
    """Raw serialised text put where a value goes."""

    text: str


def hostile_for(fmt: str) -> st.SearchStrategy[Any]:
    raw = RAW_YAML if fmt == "yaml" else RAW_JSON
    return st.one_of(hostile, hostile, st.sampled_from(raw).map(Raw))


def _swap(v: Any, raws: list[str]) -> Any:
    if isinstance(v, Raw):
        raws.append(v.text)
        return RAW.format(len(raws) - 1)
    if isinstance(v, dict):
        return {k: _swap(x, raws) for k, x in v.items()}
    if isinstance(v, list):
        return [_swap(x, raws) for x in v]
    return v


def _expand(text: str, raws: list[str]) -> bytes:
    for i, r in enumerate(raws):
        text = text.replace(f"'{RAW.format(i)}'", r).replace(f'"{RAW.format(i)}"', r).replace(RAW.format(i), r)
    if "__deep_" in text:
        text = re.sub(r"""['"]?__deep_(\d+)__['"]?""", lambda m: "[" * int(m.group(1)) + "]" * int(m.group(1)), text)
    return text.encode("utf-8", "surrogatepass")


def dump(docs: list[Any], fmt: str) -> bytes:
    """Serialise documents, expanding DEEP and Raw placeholders."""
    raws: list[str] = []
    docs = [_swap(d, raws) for d in docs]
    if fmt == "json":
        text = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, allow_nan=True)
    else:
        try:
            text = yaml.dump_all(docs, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=False,
                                 width=10**6)
        except UnicodeEncodeError:  # libyaml cannot emit a lone surrogate; the Python emitter escapes it
            text = yaml.safe_dump_all(docs, allow_unicode=False, width=10**6)
    return _expand(text, raws)


# --- manifests: fields from the schema table ---------------------------------------------------------------------

Step = tuple[str, str]  # ("key", name) | ("item", "") | ("value", "")


def schema_paths(field: sc.Field, prefix: tuple[Step, ...] = ()) -> list[tuple[Step, ...]]:
    """Every path to a field of `field`, containers included (a list path is mutated whole or item by item)."""
    out = [prefix] if prefix else []
    if isinstance(field, sc.Obj):
        for k, f in field.fields.items():
            out += schema_paths(f, (*prefix, ("key", k)))
    elif isinstance(field, sc.List):
        out += schema_paths(field.item, (*prefix, ("item", "")))
    elif isinstance(field, sc.Map):
        out += schema_paths(field.value, (*prefix, ("value", "")))
    return out


@cache
def kind_paths() -> dict[tuple[str, str], list[tuple[Step, ...]]]:
    return {k: schema_paths(s) for k, s in sc.SCHEMAS.items()}


@cache
def demo_docs(name: str = "bookinfo") -> tuple[Any, ...]:
    docs = []
    for f in sorted((DEMO / name).glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(f.read_text()) if d]
    return tuple(docs)


def _group_kind(doc: Any) -> tuple[str, str]:
    api = doc.get("apiVersion") or ""
    return (api.split("/")[0] if "/" in api else "", doc.get("kind") or "")


def put(doc: dict[str, Any], path: tuple[Step, ...], value: Any, how: str, pick: int) -> None:
    """Set (or delete, or append to) the field at `path`, creating what leads there."""
    cur: Any = doc
    for i, (step, name) in enumerate(path):
        last = i == len(path) - 1
        nxt = path[i + 1][0] if not last else None
        empty: Any = [] if nxt == "item" else {}
        if step == "key":
            if not isinstance(cur, dict):
                return
            if last:
                if how == "delete":
                    cur.pop(name, None)
                elif how == "append" and isinstance(cur.get(name), list):
                    cur[name].append(value)
                else:
                    cur[name] = value
                return
            if not isinstance(cur.get(name), dict | list):
                cur[name] = empty
            cur = cur[name]
        elif step == "item":
            if not isinstance(cur, list):
                return
            if not cur:
                cur.append(empty)
            j = pick % len(cur)
            if last:
                cur[j] = value
                return
            if not isinstance(cur[j], dict | list):
                cur[j] = empty
            cur = cur[j]
        else:  # a Map value: an existing key or a new one
            if not isinstance(cur, dict):
                return
            keys = list(cur) or ["fuzz"]
            k = keys[pick % len(keys)]
            if last:
                cur[k] = value
                return
            if not isinstance(cur.get(k), dict | list):
                cur[k] = empty
            cur = cur[k]


@st.composite
def mutated_cluster(draw: st.DrawFn, demo: str = "bookinfo") -> tuple[bytes, str, str]:
    """(file bytes, format, what was mutated) of the demo cluster with one or a few fields made hostile."""
    fmt = draw(st.sampled_from(["yaml", "json"]))
    docs = [copy.deepcopy(d) for d in demo_docs(demo)]
    extra_kinds = [k for k in sc.SCHEMAS if k not in {_group_kind(d) for d in docs}]
    whats = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 9)) == 0:  # a kind the demo does not have, built from its schema
            group, kind = draw(st.sampled_from(extra_kinds))
            docs.append({"apiVersion": f"{group}/v1" if group else "v1", "kind": kind,
                         "metadata": {"name": "fuzz", "namespace": "default"}})
            i = len(docs) - 1
        else:
            i = draw(st.integers(0, len(docs) - 1))
        doc = docs[i]
        top = draw(st.integers(0, 29))
        if top == 0:  # the document itself
            docs[i] = draw(hostile_for(fmt))
            whats.append(f"document {i + 1} replaced")
            continue
        schema = sc.SCHEMAS.get(_group_kind(doc), sc.OBJECT)
        path = draw(st.sampled_from(kind_paths().get(_group_kind(doc)) or schema_paths(sc.OBJECT)))
        how = draw(st.sampled_from(["set", "set", "set", "delete", "append"]))
        typed = draw(st.booleans())
        value = draw(valid_for(field_at(schema, path)) if typed else hostile_for(fmt))
        put(doc, path, value, how, draw(st.integers(0, 7)))
        whats.append(f"document {i + 1} {doc.get('kind') if isinstance(doc, dict) else '?'} "
                     f"{'.'.join(n or '[]' for _, n in path)} {how} {value!r:.80}")
    return dump(docs, fmt), fmt, "; ".join(whats)


# --- JSON documents (config dumps, saved traces, JSON logs) ------------------------------------------------------

def json_nodes(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += json_nodes(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:4]):
            out += json_nodes(v, (*prefix, i))
    return out


@st.composite
def json_mutation(draw: st.DrawFn, doc: Any, count: int = 3) -> Any:
    """`doc` with up to `count` nodes replaced by hostile values (or deleted)."""
    doc = copy.deepcopy(doc)
    nodes = json_nodes(doc)
    for _ in range(draw(st.integers(1, count))):
        path = draw(st.sampled_from(nodes))
        value = draw(hostile_for("json"))
        if not path:
            return value
        cur = doc
        try:
            for p in path[:-1]:
                cur = cur[p]
            if draw(st.integers(0, 4)) == 0 and isinstance(cur, dict):
                cur.pop(path[-1], None)
            else:
                cur[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    return doc


def dump_json(doc: Any) -> bytes:
    raws: list[str] = []
    return _expand(json.dumps(_swap(doc, raws), allow_nan=True), raws)


# --- bytes (captures) ------------------------------------------------------------------------------------------

@st.composite
def bytes_mutation(draw: st.DrawFn, data: bytes, boundaries: list[int]) -> bytes:
    """Cut, flip, zero, max out or splice bytes, preferring record boundaries (header and length fields)."""
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not b:
            break
        at = draw(st.sampled_from(boundaries) if boundaries and draw(st.booleans()) else st.integers(0, len(b) - 1))
        at = min(at + draw(st.integers(0, 16)), len(b) - 1)
        op = draw(st.sampled_from(["cut", "flip", "zero", "ff", "splice", "dup"]))
        n = draw(st.integers(1, 8))
        if op == "cut":
            del b[at:]
        elif op == "flip":
            b[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "zero":
            b[at:at + n] = bytes(len(b[at:at + n]))
        elif op == "ff":
            b[at:at + n] = b"\xff" * len(b[at:at + n])
        elif op == "splice":
            b[at:at] = draw(st.binary(max_size=24))
        else:
            b[at:at] = b[at:at + draw(st.integers(1, 64))]
    return bytes(b)
