"""Snapshot source: cluster state from files instead of a live cluster.

Accepts what people actually have in a ticket: `kubectl get ... -o yaml|json` output (multi-document YAML,
`kind: List`, JSON), a directory of such files, or a .tar/.tar.gz/.tgz/.zip archive of them. Unknown kinds are
kept but ignored; a malformed document fails with the file, the document number and the field.
"""

from __future__ import annotations

import json
import os
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ambientctl.errors import InputError, file_error, no_such_file
from ambientctl.model import Cluster, parse_object
from ambientctl.sources import jsonlist
from ambientctl.sources.ztunnel_state import cluster_from_ztunnel_state, looks_like_ztunnel_state
from ambientctl.unicode import SURROGATE_ESCAPE, decode_text, note_text, watching_controls, without_surrogates

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")

# Limits that keep a hostile or broken snapshot from exhausting memory (each refusal is one line naming the file).
MAX_FILE_BYTES = 256 << 20  # one manifest file or archive member (a 50,000-pod List is ~50 MB)
MAX_ARCHIVE_BYTES = 512 << 20  # all manifests of one archive, inflated
MAX_ALIAS_GROWTH = 100_000  # YAML nodes that aliases may add beyond the document's own (alias bombs add billions)

try:  # libyaml is 10x faster on big snapshots; fall back to the pure-Python loader.
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Base = yaml.SafeLoader


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """YAML as Kubernetes reads it (YAML -> JSON): timestamps stay strings; tags with no JSON form are errors."""


def _no_json_form(loader: Any, node: Any) -> Any:
    raise yaml.constructor.ConstructorError(None, None, f"{node.tag.replace('tag:yaml.org,2002:', '!!')} has no "
                                            "JSON form (Kubernetes manifests are JSON)", node.start_mark)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.constructor.SafeConstructor.construct_yaml_str)
for _tag in ("binary", "set", "omap", "pairs"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _no_json_form)


def load_snapshot(path: str | os.PathLike[str]) -> Cluster:
    """Read a file, directory or archive of manifests into a Cluster."""
    with watching_controls() as seen:
        cluster = _load_snapshot(path)
    cluster.control_chars = bool(seen)
    return cluster


def _load_snapshot(path: str | os.PathLike[str]) -> Cluster:
    """Read a file, directory or archive of manifests into a Cluster."""
    p = Path(path)
    from ambientctl.bundle.read import read_bundle

    bundle = read_bundle(p)
    if bundle is not None:
        return _load_bundle(bundle)
    cluster = Cluster(source=f"snapshot {p}")
    for origin, doc in iter_documents(p):
        if looks_like_ztunnel_state(doc):
            if p.is_dir() or cluster.pods or cluster.services:
                raise InputError(f"{origin}: a ztunnel config_dump/local config must be the only file of a snapshot")
            return cluster_from_ztunnel_state(doc, str(p))
        _add(cluster, doc, origin)
    return cluster


def _load_bundle(bundle: Any) -> Cluster:
    """A support bundle's cluster state: only its snapshot/ (its logs, reports and ztunnel dumps are evidence,
    not state), as verified against the manifest's checksums (ambientctl.bundle.read), plus what the original
    read could not see, so answers carry the same caveats."""
    src = bundle.manifest.get("source") if isinstance(bundle.manifest.get("source"), dict) else {}
    cluster = Cluster(source=f"bundle {bundle.path} of {src.get('description') or 'unknown source'}")
    for name, data in bundle.snapshot:
        if name.endswith(MANIFEST_SUFFIXES):
            for origin, doc in decode_documents(data, f"{bundle.path}:{name}"):
                if looks_like_ztunnel_state(doc):  # a bundle of a ztunnel's own view
                    state = cluster_from_ztunnel_state(doc, origin)
                    state.source, state.unreadable, state.absent_kinds = cluster.source, cluster.unreadable, \
                        cluster.absent_kinds
                    cluster = state
                    continue
                _add(cluster, doc, origin)
    cluster.unreadable = dict(src.get("unreadable") or {})
    cluster.absent_kinds = list(src.get("absentKinds") or [])
    return cluster


def _add(cluster: Cluster, doc: Any, origin: str) -> None:
    if doc is None:  # empty YAML document (`---` at the end of a file)
        return
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        for i, item in enumerate(doc["items"], 1):
            cluster.add(parse_object(item, f"{origin} item {i}"))
        return
    cluster.add(parse_object(doc, origin))


def iter_documents(p: Path) -> Iterator[tuple[str, Any]]:
    """Yield (origin, decoded document) for every document under `p`."""
    if not p.exists():
        raise no_such_file(p, "snapshot")
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(MANIFEST_SUFFIXES + ARCHIVE_SUFFIXES))
        if not files:
            raise InputError(f"{p}: directory holds no .yaml, .yml, .json or archive files")
        for f in files:
            yield from iter_documents(f)
        return
    name = p.name.lower()
    if name.endswith(ARCHIVE_SUFFIXES):
        yield from _archive_documents(p)
        return
    yield from decode_documents(read_bounded(p), str(p))


def read_bounded(p: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a file, refused beyond `limit` (also a device or FIFO that never ends, e.g. /dev/zero)."""
    try:
        with p.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise file_error(p, e, "snapshot") from None
    if len(data) > limit:
        raise InputError(f"{p}: larger than {limit >> 20} MiB; ambientctl reads snapshot files up to that size")
    return data


def decode_documents(data: bytes, name: str) -> Iterator[tuple[str, Any]]:
    """Decode JSON or (multi-document) YAML bytes; origins are `<name> document <n>`."""
    text = decode_text(data, name, "YAML or JSON manifests")
    note_text(text)
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            doc = jsonlist.loads(text)
            if SURROGATE_ESCAPE.search(text):
                doc = without_surrogates(doc)
        except json.JSONDecodeError as e:
            if e.msg == "Extra data" and "\n---" in text:  # YAML documents, the first one in flow style
                yield from _yaml_documents(text, name)
                return
            raise InputError(f"{name}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
        except RecursionError:
            raise InputError(f"{name}: JSON nested too deeply (Kubernetes objects nest a few dozen levels)") from None
        except ValueError as e:  # a number of more than 4,300 digits
            raise InputError(f"{name}: invalid JSON: {str(e).split(';')[0]}") from None
        if isinstance(doc, list):
            for i, d in enumerate(doc, 1):
                yield f"{name} document {i}", d
        else:
            yield f"{name} document 1", doc
        return
    yield from _yaml_documents(text, name)


def _yaml_documents(text: str, name: str) -> Iterator[tuple[str, Any]]:
    try:
        docs = _load_yaml(text, name)
    except RecursionError:
        raise InputError(f"{name}: YAML nested too deeply (Kubernetes objects nest a few dozen levels)") from None
    except ValueError as e:  # an integer of more than 4,300 digits
        raise InputError(f"{name}: not valid YAML: {str(e).split(';')[0]}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(f"{name}: not valid YAML{where}: {problem}") from None
    if docs and all(isinstance(d, str | int | float) for d in docs if d is not None) and any(docs):
        raise InputError(f"{name}: not a manifest file (plain text, expected YAML or JSON objects)")
    for i, d in enumerate(docs, 1):
        yield f"{name} document {i}", d


def _load_yaml(text: str, name: str) -> list[Any]:
    """yaml.load_all, refusing alias bombs: a document whose aliases would expand it by more than
    MAX_ALIAS_GROWTH nodes (PyYAML shares the aliased objects, but every walk or dump of them expands them)."""
    if "&" not in text:  # no anchor, no alias: the fast path
        return list(yaml.load_all(text, Loader=_Loader))
    loader = _Loader(text)
    docs = []
    try:
        i = 0
        while loader.check_node():
            i += 1
            node = loader.get_node()
            try:
                distinct, expanded = _node_counts(node)
            except _SelfReference:
                raise InputError(f"{name} document {i}: a YAML alias refers to its own anchor (the value would "
                                 "contain itself)") from None
            if expanded > distinct + MAX_ALIAS_GROWTH:
                raise InputError(f"{name} document {i}: YAML aliases expand it to {expanded:,} nodes (from "
                                 f"{distinct:,}); refused as an alias bomb")
            docs.append(loader.construct_document(node))
    finally:
        loader.dispose()
    return docs


class _SelfReference(Exception):
    """A YAML node that contains itself (`&a [*a]`)."""


def _node_counts(root: yaml.Node) -> tuple[int, int]:
    """(distinct nodes, nodes once every alias is expanded) of a composed YAML document, without expanding."""
    size: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose children are being counted: meeting one again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in size:
            continue
        kids = [] if isinstance(node, yaml.ScalarNode) else \
            [n for kv in node.value for n in kv] if isinstance(node, yaml.MappingNode) else list(node.value)
        if children_done or not kids:
            size[id(node)] = min(1 + sum(size[id(k)] for k in kids), 1 << 62)
            open_.discard(id(node))
            continue
        if id(node) in open_ or any(id(k) in open_ or k is node for k in kids):
            raise _SelfReference
        open_.add(id(node))
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in size)
    return len(size), size[id(root)]


def _archive_documents(p: Path, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """The documents of the manifests in an archive, in name order; refuses an archive whose manifests inflate
    beyond MAX_FILE_BYTES each or MAX_ARCHIVE_BYTES together (checked before reading them), and encrypted zips."""
    found: list[tuple[str, bytes]] = []
    total = 0

    def take(member: str, size: int) -> None:
        nonlocal total
        total += size
        if size > MAX_FILE_BYTES or total > MAX_ARCHIVE_BYTES:
            what = f"{member} inflates to {size:,} bytes" if size > MAX_FILE_BYTES else \
                f"its manifests inflate to more than {total:,} bytes"
            raise InputError(f"{p}: {what}; ambientctl reads up to {MAX_FILE_BYTES >> 20} MiB per file and "
                             f"{MAX_ARCHIVE_BYTES >> 20} MiB per archive")

    try:
        if p.name.lower().endswith(".zip"):
            with zipfile.ZipFile(p) as z:
                for info in z.infolist():
                    if info.is_dir() or not info.filename.endswith(MANIFEST_SUFFIXES):
                        continue
                    if info.flag_bits & 0x1:
                        raise InputError(f"{p}: {info.filename} is encrypted; give an unencrypted archive")
                    take(info.filename, info.file_size)
                    with z.open(info) as f:
                        data = f.read(info.file_size + 1)  # the directory may lie about the size: never more
                    take(info.filename, len(data) - info.file_size)
                    found.append((info.filename, data))
        else:
            with tarfile.open(p) as t:
                for m in t:  # in stream order: no seeking back through a compressed stream
                    if m.isfile() and m.name.endswith(MANIFEST_SUFFIXES) and m.name.startswith(prefix):
                        take(m.name, m.size)
                        f = t.extractfile(m)
                        if f is not None:
                            found.append((m.name, f.read()))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError, ValueError,
            zlib.error) as e:
        raise InputError(f"{p}: not a readable archive: {e}") from None
    for member, data in sorted(found, key=lambda x: x[0]):
        yield from decode_documents(data, f"{p}:{member}")
