"""The bundle's allow-list (ambientctl.bundle.allow) keeps every field the model reads: the model built from the
projection of every demo and real-data snapshot equals the model built from the original (apart from what the
allow-list drops on purpose: annotations outside Istio's, env vars other than the settings read, ConfigMap data
other than the mesh keys read), and the reports in a bundle, and those computed again from it, are the reports
computed from the source, on every demo."""

from __future__ import annotations

import dataclasses
import json
import tarfile
from importlib import resources
from pathlib import Path

import pytest
import yaml

from ambientctl.bundle.allow import KINDS, MESH_KEYS, env_allowed, project
from ambientctl.cli.main import main
from ambientctl.errors import AmbientctlError
from ambientctl.model import Cluster, parse_object
from ambientctl.model.parse import _PARSERS
from ambientctl.sources.demo import DEMOS
from ambientctl.sources.files import iter_documents

REALDATA = Path(__file__).parents[1] / "realdata"


def test_every_parsed_kind_has_an_allow_list_entry() -> None:
    missing = set(_PARSERS) - set(KINDS) - {("", "ConfigMap")}
    assert not missing, f"add the fields the parser reads for {sorted(missing)} to ambientctl/bundle/allow.py KINDS"


def _demo_docs(name: str) -> list:
    with resources.as_file(resources.files("ambientctl.demo") / "data" / name) as p:
        return [d for _o, d in iter_documents(Path(p))]


def _realdata_snapshots() -> list[Path]:
    """Every real-data file that reads as Kubernetes objects the model parses."""
    out = []
    for f in sorted(REALDATA.rglob("*")):
        if not f.is_file() or f.suffix not in (".yaml", ".yml", ".json"):
            continue
        try:
            docs = [d for _o, d in iter_documents(f)]
            objs = [parse_object(d, "x") for d in _flat(docs)]
        except (AmbientctlError, ValueError, TypeError, AttributeError):
            continue
        if any(type(o).__name__ != "Unknown" for o in objs):
            out.append(f)
    return out


def _flat(docs: list) -> list:
    flat = []
    for d in docs:
        if isinstance(d, dict) and str(d.get("kind", "")).endswith("List") and isinstance(d.get("items"), list):
            flat += d["items"]
        elif d is not None:
            flat.append(d)
    return flat


def _normal(obj: object) -> dict:
    """A model object as plain data, with the fields the allow-list cuts on purpose cut the same way."""
    d = dataclasses.asdict(obj)  # type: ignore[call-overload]
    d["meta"]["origin"] = ""
    d["meta"]["annotations"] = {k: v for k, v in d["meta"]["annotations"].items()
                                if project({"kind": "Namespace", "metadata": {"name": "x", "annotations": {k: v}}})
                                ["metadata"]["annotations"]}
    for key in ("containers", "init_containers", "ephemeral_containers"):
        for c in d.get(key) or []:
            c["env"] = {k: v for k, v in c["env"].items() if env_allowed(k)}
    if "template_annotations" in d:
        d["template_annotations"] = {k: v for k, v in d["template_annotations"].items() if k.startswith(
            ("istio.io/", "ambientctl.io/")) or ".istio.io/" in k}
    if type(obj).__name__ == "ConfigMap" and d["meta"]["name"] == "istio-cni-config":
        d["data"] = {k: v for k, v in d["data"].items() if env_allowed(k)}  # only AMBIENT_DNS_CAPTURE is read
    if type(obj).__name__ == "ConfigMap" and "mesh" in d["data"]:
        try:
            mesh = yaml.safe_load(d["data"]["mesh"])
        except yaml.YAMLError:
            mesh = "invalid"
        d["data"] = {"mesh": {k: mesh[k] for k in MESH_KEYS if k in mesh} if isinstance(mesh, dict) else
                     "invalid" if mesh == "invalid" else None}
    return d


def _models(docs: list) -> list[dict]:
    return sorted((_normal(parse_object(d, "x")) for d in docs), key=lambda d: json.dumps(d, sort_keys=True,
                                                                                           default=str))


@pytest.mark.parametrize("source", [*(f"demo:{n}" for n in DEMOS), *(str(p.relative_to(REALDATA))
                                                                     for p in _realdata_snapshots())])
def test_the_projection_keeps_every_field_the_model_reads(source: str) -> None:
    docs = _demo_docs(source[5:]) if source.startswith("demo:") else [d for _o, d in iter_documents(REALDATA / source)]
    flat = _flat(docs)
    kept = [p for p in map(project, flat) if p is not None]  # before the credential scan (tested below)
    parsed = [d for d in flat if type(parse_object(d, "x")).__name__ != "Unknown"]
    # what the model uses and the projection left out: only ConfigMaps other than Istio's
    dropped = [d for d in parsed if project(d) is None]
    assert all(d["kind"] == "ConfigMap" for d in dropped), [d["kind"] for d in dropped]
    original = _models([d for d in parsed if project(d) is not None])
    assert _models(kept) == original


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _json(argv: list[str], capsys) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    code = main([*argv, "-o", "json"])
    out, _ = capsys.readouterr()
    return code, _strip(json.loads(out))


def _strip(d):  # type: ignore[no-untyped-def]
    """Apart from where the state came from (the source description names the bundle)."""
    if isinstance(d, dict):
        return {k: _strip(v) for k, v in d.items() if k not in ("source", "cluster") or not isinstance(v, str)}
    if isinstance(d, list):
        return [_strip(v) for v in d]
    return d


@pytest.mark.parametrize("demo", list(DEMOS))
def test_reports_from_the_bundle_are_the_reports_from_the_source(demo: str, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """For every namespace of every demo: the bundle's own reports (describe of every pod, the matrix) equal the
    reports computed from the demo, and every command on --snapshot BUNDLE answers as on --demo."""
    from ambientctl.sources.demo import load_demo

    cluster: Cluster = load_demo(demo)
    namespaces = sorted({p.meta.namespace for p in cluster.pods})
    for ns in namespaces:
        out = tmp_path / f"{ns}.tar.gz"
        assert main(["bundle", "-n", ns, "--demo", demo, "-w", str(out)]) == 0
        capsys.readouterr()
        members = _members(out)
        for pod in cluster.pods_in(ns):
            name = f"reports/describe-{ns}-{pod.meta.name}.json"
            want = _json(["describe", "pod", pod.meta.name, "-n", ns, "--demo", demo], capsys)
            assert (0, _strip(json.loads(members[name]))) == want, name
            assert _json(["describe", "pod", pod.meta.name, "-n", ns, "--snapshot", str(out)], capsys) == want
        want = _json(["explain", "--matrix", "-n", ns, "--demo", demo], capsys)
        assert _strip(json.loads(members[f"reports/matrix-{ns}.json"])) == want[1]
        assert _json(["explain", "--matrix", "-n", ns, "--snapshot", str(out)], capsys) == want


def _ztunnel_dumps() -> list[Path]:
    from ambientctl.sources.ztunnel_state import looks_like_ztunnel_state

    out = []
    for f in sorted(REALDATA.rglob("*")):
        if f.is_file() and f.suffix in (".json", ".yaml"):
            try:
                docs = [d for _o, d in iter_documents(f)]
            except AmbientctlError:
                continue
            if len(docs) == 1 and looks_like_ztunnel_state(docs[0]):
                out.append(f)
    return out


@pytest.mark.parametrize("dump", [str(p.relative_to(REALDATA)) for p in _ztunnel_dumps()])
def test_a_bundle_of_a_ztunnel_state_answers_as_the_state(dump: str, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A ztunnel config dump given as --snapshot is carried as the bundle's snapshot (without its certificates),
    so the bundle answers as the dump did, for every namespace."""
    from ambientctl.sources.files import load_snapshot

    src = REALDATA / dump
    cluster = load_snapshot(src)
    out = tmp_path / "z.tar.gz"
    for ns in sorted({p.meta.namespace for p in cluster.pods}):
        if not out.exists():
            assert main(["bundle", "-n", ns, "--snapshot", str(src), "-w", str(out)]) == 0
            capsys.readouterr()
            members = _members(out)
            assert "-----BEGIN" not in members["snapshot/ztunnel-state.json"].decode()
        assert _json(["explain", "--matrix", "-n", ns, "--snapshot", str(out)], capsys) == \
            _json(["explain", "--matrix", "-n", ns, "--snapshot", str(src)], capsys)


def _maximal(field, path: str = ""):  # type: ignore[no-untyped-def]
    """A value with every field the schema lists (the typed boundary, ambientctl/model/schema.py)."""
    from ambientctl.model import schema as sc

    if isinstance(field, sc.Obj):
        return {k: _maximal(f, f"{path}.{k}") for k, f in field.fields.items()}
    if isinstance(field, sc.List):
        return [_maximal(field.item, f"{path}[]")]
    if isinstance(field, sc.Map):
        key = "istio.io/x" if path.endswith("annotations") else "80" if field.key is not None else "k"
        return {key: _maximal(field.value, f"{path}.{key}")}
    return {"Int": 1, "Num": 1.5, "Bool": True, "IntOrStr": 80}.get(type(field).__name__, "v")


def _leaves(v, path: str = "") -> set[str]:  # type: ignore[no-untyped-def]
    if isinstance(v, dict):
        return {p for k, x in v.items() for p in _leaves(x, f"{path}.{k}")} or {path}
    if isinstance(v, list):
        return {p for x in v for p in _leaves(x, f"{path}[]")} or {path}
    return {path}


def test_the_allow_list_keeps_every_field_of_the_typed_boundary() -> None:
    """Every field the parser's schema (model/schema.py SCHEMAS) says the model reads survives the projection,
    for every kind — so a field added there and not here fails now, not in a user's bundle. Env vars are cut by
    name on purpose (only the settings read); ConfigMaps have their own rule."""
    from ambientctl.model.schema import SCHEMAS

    missing = {}
    for (group, kind), schema in SCHEMAS.items():
        if kind == "ConfigMap":
            continue
        doc = _maximal(schema)
        doc.update(apiVersion=f"{group}/v1" if group else "v1", kind=kind)
        doc["metadata"].update(name="x", namespace="default")
        kept = project(doc)
        assert kept is not None, kind
        lost = sorted(p for p in _leaves(doc) - _leaves(kept) if ".env[]" not in p)
        if lost:
            missing[kind] = lost
    assert missing == {}, f"add these to ambientctl/bundle/allow.py KINDS: {missing}"


def test_the_annotations_and_settings_the_code_reads_are_allowed() -> None:
    """Every annotation key and istiod/CNI setting name written in the code next to where it is read passes the
    allow-list (the constants of mesh/view.py and mesh/egress.py, literal keys, `setting("…")` calls)."""
    import re

    from ambientctl.mesh import egress, view

    root = Path(__file__).parents[2] / "ambientctl"
    annotations, settings = set(), set()
    for f in root.rglob("*.py"):
        if "bundle" in f.parts:
            continue
        for line in f.read_text().splitlines():
            if "annotation" in line.lower():
                annotations |= set(re.findall(r'"([a-z0-9.-]+\.[a-z]+/[A-Za-z0-9._-]+)"', line))
            settings |= set(re.findall(r'(?:setting|settings\.get|settings\[)\(?\s*"([A-Z0-9_]+)"', line))
            settings |= set(re.findall(r'"([A-Z0-9_]{4,})" in [a-z_.]*settings', line))
    annotations |= {v for k, v in vars(view).items() if k.isupper() and isinstance(v, str) and "/" in v
                    and ("ANNOTATION" in k or k in ("REDIRECTION", "SIDECAR_STATUS", "CANARY_WEIGHT"))}
    annotations |= {v for k, v in vars(egress).items() if "ANNOTATION" in k and isinstance(v, str)}
    assert annotations and settings
    meta = {"kind": "Namespace", "metadata": {"name": "x", "annotations": {a: "v" for a in annotations}}}
    assert sorted(annotations - set(project(meta)["metadata"]["annotations"])) == []
    assert sorted(s for s in settings if not env_allowed(s)) == []
