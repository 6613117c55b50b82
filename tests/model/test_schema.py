"""The typed boundary (model/schema.py): every field the model reads has its type checked when the manifest is
read, and a wrong one is one line naming file, document, object and field (issue #13 §4). Each case below was a
Python traceback before (issue #13's examples)."""

from __future__ import annotations

import pytest
import yaml

from ambientctl.cli.main import main
from ambientctl.model import parse
from ambientctl.model.schema import SCHEMAS, SchemaError, check
from tests.helpers import pod

GOOD = pod("sleep-1", labels={"app": "sleep"}) + pod("web-1", labels={"app": "web"}, ip="10.0.0.2")


def _doc(kind: str, api: str, spec: dict, name: str = "x", **top) -> str:
    return "---\n" + yaml.safe_dump({"apiVersion": api, "kind": kind,
                                     "metadata": {"name": name, "namespace": "default"}, "spec": spec, **top})


def _fails(tmp_path, capsys, extra: str, argv=("describe", "pod", "sleep-1")) -> str:
    p = tmp_path / "snap.yaml"
    p.write_text(GOOD + extra)
    code = main([*argv, "--snapshot", str(p)])
    out, err = capsys.readouterr()
    assert code == 1, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"ambientctl: {' '.join(argv[:2])}: {p} "), lines[0]
    return lines[0].split(f"{p} ", 1)[1]


AP = "security.istio.io/v1"
VS = "networking.istio.io/v1"
GW = "gateway.networking.k8s.io/v1"

CASES = {
    "authorization policy methods not a list": (
        _doc("AuthorizationPolicy", AP, {"rules": [{"to": [{"operation": {"methods": 5}}]}]}),
        "document 3 (AuthorizationPolicy default/x): spec.rules[0].to[0].operation.methods must be a list of "
        "strings, not an integer"),
    "authorization policy rule not a mapping": (
        _doc("AuthorizationPolicy", AP, {"rules": ["allow everything"]}),
        "document 3 (AuthorizationPolicy default/x): spec.rules[0] must be a mapping, not a string"),
    "authorization policy principal not a string": (
        _doc("AuthorizationPolicy", AP, {"rules": [{"from": [{"source": {"principals": [{"a": 1}]}}]}]}),
        "document 3 (AuthorizationPolicy default/x): spec.rules[0].from[0].source.principals[0] must be a "
        "string, not a mapping"),
    "authorization policy when values": (
        _doc("AuthorizationPolicy", AP, {"rules": [{"when": [{"key": "source.ip", "values": "10.0.0.1"}]}]}),
        "document 3 (AuthorizationPolicy default/x): spec.rules[0].when[0].values must be a list of port numbers "
        "or names, not a string"),
    "virtual service weight": (
        _doc("VirtualService", VS, {"hosts": ["web"], "http": [{"route": [
            {"destination": {"host": "web"}, "weight": "fifty"}, {"destination": {"host": "web"}, "weight": 50}]}]}),
        "document 3 (VirtualService default/x): spec.http[0].route[0].weight must be an integer, not a string"),
    "virtual service match not a list": (
        _doc("VirtualService", VS, {"hosts": ["web"], "http": [{"match": {"uri": {"prefix": "/"}}}]}),
        "document 3 (VirtualService default/x): spec.http[0].match must be a list of mappings, not a mapping"),
    "virtual service invalid regex": (
        _doc("VirtualService", VS, {"hosts": ["web"], "http": [{"match": [{"uri": {"regex": "/api/(v1"}}]}]}),
        "document 3 (VirtualService default/x): spec.http[0].match[0].uri.regex is not a valid regular "
        "expression: missing ), unterminated subpattern at position 5"),
    "virtual service header regex": (
        _doc("VirtualService", VS, {"hosts": ["web"], "http": [{"match": [{"headers": {"x-user": {"regex": "*"}}}]}]}),
        "document 3 (VirtualService default/x): spec.http[0].match[0].headers.x-user.regex is not a valid "
        "regular expression: nothing to repeat at position 0"),
    "virtual service fault percentage": (
        _doc("VirtualService", VS, {"hosts": ["web"], "http": [{"fault": {"delay": {
            "fixedDelay": "1s", "percentage": {"value": "all"}}}}]}),
        "document 3 (VirtualService default/x): spec.http[0].fault.delay.percentage.value must be a number, "
        "not a string"),
    "http route weight": (
        _doc("HTTPRoute", GW, {"parentRefs": [{"kind": "Service", "name": "web"}],
                               "rules": [{"backendRefs": [{"name": "web", "weight": [1]}]}]}),
        "document 3 (HTTPRoute default/x): spec.rules[0].backendRefs[0].weight must be an integer, not a list"),
    "http route regex path": (
        _doc("HTTPRoute", GW, {"rules": [{"matches": [{"path": {"type": "RegularExpression", "value": "(["}}]}]}),
        "document 3 (HTTPRoute default/x): spec.rules[0].matches[0].path.value is not a valid regular expression: "
        "unterminated character set at position 1"),
    "http route matches": (
        _doc("HTTPRoute", GW, {"rules": [{"matches": [{"headers": {"name": "x"}}]}]}),
        "document 3 (HTTPRoute default/x): spec.rules[0].matches[0].headers must be a list of mappings, "
        "not a mapping"),
    "gateway allowedRoutes": (
        _doc("Gateway", GW, {"listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE",
                                            "allowedRoutes": {"namespaces": "All"}}]}),
        "document 3 (Gateway default/x): spec.listeners[0].allowedRoutes.namespaces must be a mapping, "
        "not a string"),
    "gateway allowedRoutes selector": (
        _doc("Gateway", GW, {"listeners": [{"name": "mesh", "port": 15008, "allowedRoutes": {
            "namespaces": {"from": "Selector", "selector": {"matchLabels": ["a"]}}}}]}),
        "document 3 (Gateway default/x): spec.listeners[0].allowedRoutes.namespaces.selector.matchLabels must be "
        "a mapping, not a list"),
    "pod env": (
        _doc("Pod", "v1", {"containers": [{"name": "app", "env": {"A": "1"}}]}),
        "document 3 (Pod default/x): spec.containers[0].env must be a list of mappings, not a mapping"),
    "pod env entry without name": (
        _doc("Pod", "v1", {"containers": [{"name": "app", "env": [{"value": "1"}]}]}),
        "document 3 (Pod default/x): spec.containers[0].env[0] needs name"),
    "pod ports": (
        _doc("Pod", "v1", {"containers": [{"name": "app", "ports": [{"containerPort": "http"}]}]}),
        "document 3 (Pod default/x): spec.containers[0].ports[0].containerPort must be an integer, not a string"),
    "pod port out of range": (
        _doc("Pod", "v1", {"containers": [{"name": "app", "ports": [{"containerPort": 70000}]}]}),
        "document 3 (Pod default/x): spec.containers[0].ports[0].containerPort must be between 1 and 65535, "
        "not 70000"),
    "service targetPort": (
        _doc("Service", "v1", {"ports": [{"port": 80, "targetPort": {"name": "http"}}]}),
        "document 3 (Service default/x): spec.ports[0].targetPort must be a port number or name, not a mapping"),
    "service targetPort float": (
        _doc("Service", "v1", {"ports": [{"port": 80, "targetPort": 80.5}]}),
        "document 3 (Service default/x): spec.ports[0].targetPort must be a port number or name, not a number"),
    "labels nested": (
        "---\n" + yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": {"name": "x", "labels": {"a": {"b": "c"}}}}),
        "document 3 (Namespace x): metadata.labels.a must be a string, not a mapping"),
    "peer authentication port key": (
        _doc("PeerAuthentication", AP, {"portLevelMtls": {"http": {"mode": "DISABLE"}}}),
        "document 3 (PeerAuthentication default/x): spec.portLevelMtls key 'http' must be a port number, "
        "not a string"),
    "kind of the wrong type": (
        "---\napiVersion: v1\nkind: [Pod]\nmetadata: {name: x}\n",
        "document 3: kind must be a string, not a list"),
    "kind of the wrong type in a List": (
        "---\napiVersion: v1\nkind: 7\nitems: []\n",
        "document 3: kind must be a string, not an integer"),
    "nan weight": (
        _doc("VirtualService", VS, {"hosts": ["web"], "http": [{"route": [{"destination": {"host": "web"},
                                                                            "weight": float("nan")}]}]}),
        "document 3 (VirtualService default/x): spec.http[0].route[0].weight must be an integer, not nan"),
}


@pytest.mark.parametrize("name", CASES)
def test_wrong_field_type_is_one_line_naming_the_field(name, tmp_path, capsys):
    extra, want = CASES[name]
    assert _fails(tmp_path, capsys, extra) == want


def test_null_fields_read_as_absent(tmp_path, capsys):
    """Kubernetes drops null fields: `weight:` with no value is no weight, a null rule is an empty rule."""
    p = tmp_path / "snap.yaml"
    p.write_text(GOOD + _doc("AuthorizationPolicy", AP, {"action": None, "rules": [None]}, name="allow-all")
                 + _doc("VirtualService", VS, {"hosts": ["web"], "http": [{"route": [
                     {"destination": {"host": "web"}, "weight": None}]}]}))
    assert main(["explain", "sleep-1", "web-1:80", "--snapshot", str(p), "-o", "json"]) == 0, capsys.readouterr().err


def test_every_parser_has_a_schema():
    """A kind added to parse.py without a schema would reach the model unchecked."""
    assert set(parse._PARSERS) == set(SCHEMAS)


def test_error_path_quotes_keys_that_are_not_names():
    doc = {"metadata": {"labels": {"app.kubernetes.io/name": ["x"]}}}
    with pytest.raises(SchemaError) as e:
        check(SCHEMAS[("", "Namespace")], doc)
    assert str(e.value) == "metadata.labels['app.kubernetes.io/name'] must be a string, not a list"


# Fields the model reads that the CRDs no longer list (older manifests still carry them).
NOT_IN_CRD = {
    ("VirtualService", "spec.http[].fault.abort.percent"),  # the deprecated integer form; routing._percent reads it
}


def test_istio_and_gateway_api_kinds_agree_with_their_crds():
    """Every field typed in the table exists in the kind's CRD (tests/realdata: istio-crd-all.gen.yaml, Gateway
    API standard+experimental) with the same type: the boundary checks what Kubernetes itself would accept."""
    from ambientctl.model import schema as sc
    from tests.conftest import REALDATA

    crds = {}
    for f in ("istio-crd-all.gen.yaml", "gateway-api-crd.yaml"):
        text = (REALDATA / "istio-istio" / "crds" / f).read_text()
        for d in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if d and d.get("kind") == "CustomResourceDefinition":
                vers = d["spec"]["versions"]
                v = next((x for x in vers if x.get("storage")), vers[-1])
                crds[(d["spec"]["group"], d["spec"]["names"]["kind"])] = v["schema"]["openAPIV3Schema"]
    types = {sc.Str: {"string"}, sc.Regex: {"string"}, sc.Scalar: {"string"}, sc.Int: {"integer"},
             sc.Num: {"number", "integer"}, sc.Bool: {"boolean"}, sc.IntOrStr: {"int-or-string", "string", "integer"},
             sc.List: {"array"}, sc.Map: {"object"}, sc.Obj: {"object"}}
    wrong = []

    def walk(kind, f, c, path):  # type: ignore[no-untyped-def]
        t = "int-or-string" if c.get("x-kubernetes-int-or-string") else c.get("type")
        if t is not None and t not in types[type(f)]:
            wrong.append(f"{kind} {path}: {type(f).__name__} here, {t} in the CRD")
        elif isinstance(f, sc.Obj):
            props = c.get("properties") or {}
            for k, sub in f.fields.items():
                p = f"{path}.{k}" if path else k
                if k in ("apiVersion", "kind", "metadata") or (kind, p) in NOT_IN_CRD:
                    continue
                if k in props:
                    walk(kind, sub, props[k], p)
                elif not c.get("x-kubernetes-preserve-unknown-fields"):
                    wrong.append(f"{kind} {p}: not in the CRD")
        elif isinstance(f, sc.List) and "items" in c:
            walk(kind, f.item, c["items"], path + "[]")
        elif isinstance(f, sc.Map) and isinstance(c.get("additionalProperties"), dict):
            walk(kind, f.value, c["additionalProperties"], path + "{}")

    checked = 0
    for key, schema in sc.SCHEMAS.items():
        if key in crds:
            walk(key[1], schema, crds[key], "")
            checked += 1
    assert checked >= 9 and not wrong, "\n".join(wrong)
