"""The typed boundary: the type of every Kubernetes and Istio field ambientctl reads, checked where a manifest is
parsed, so the behaviour model (authz, explain, mesh) never meets a wrong type.

`SCHEMAS` is a table, kind by kind, of the fields the model reads. `check(SCHEMAS[kind], doc)` walks the
document along it (unknown fields are ignored and kept as written) and, on the way, normalises what Kubernetes
itself treats as absent: a field whose value is null is removed, a null entry of a list of objects becomes `{}`.
A wrong type raises `SchemaError` with the field path (`spec.rules[0].to[0].operation.methods[1]`); parse.py adds
the file, document and object. Regular expressions are compiled here, once, so a route with an invalid regex
fails when read, not when a request is matched.

Adding a kind or a field: add it here next to its parser in parse.py (a test fails when a parser has no schema,
and the fuzz tests in tests/model/ mutate every field listed here automatically).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class SchemaError(Exception):
    """A value of the wrong type; `path` is filled in (innermost first) as the error unwinds."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what
        self.parts: list[str | int] = []

    @property
    def path(self) -> str:
        return render_path(reversed(self.parts))

    def __str__(self) -> str:
        return f"{self.path} {self.what}" if self.parts else self.what


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def render_path(parts: Any) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif _PLAIN_KEY.match(p):
            out += f".{p}" if out else p
        else:
            out += "[" + repr(p) + "]"
    return out


def describe(v: Any) -> str:
    """`a string`, `an integer`, `null`... for `must be X, not <describe(v)>`."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number" if math.isfinite(v) else f"{v!r}"
    return {dict: "a mapping", list: "a list", str: "a string"}.get(type(v), f"a {type(v).__name__}")


class Field:
    """One field type. `check` returns the (possibly normalised) value or raises SchemaError."""

    expected = "a value"

    def check(self, v: Any) -> Any:
        raise NotImplementedError

    def wrong(self, v: Any) -> SchemaError:
        return SchemaError(f"must be {self.expected}, not {describe(v)}")


@dataclass(frozen=True)
class Str(Field):
    expected = "a string"

    def check(self, v: Any) -> Any:
        if type(v) is not str:
            raise self.wrong(v)
        return v


@dataclass(frozen=True)
class Scalar(Field):
    """A string Kubernetes users often write unquoted (`version: 1`, `enabled: true`); read as its text."""

    expected = "a string"

    def check(self, v: Any) -> Any:
        if isinstance(v, str | int | bool) or (isinstance(v, float) and math.isfinite(v)):
            return v
        raise self.wrong(v)


@dataclass(frozen=True)
class Int(Field):
    lo: int | None = None
    hi: int | None = None

    @property
    def expected(self) -> str:  # type: ignore[override]
        return "an integer"

    def check(self, v: Any) -> Any:
        if type(v) is not int:
            raise self.wrong(v)
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            raise SchemaError(f"must be between {self.lo} and {self.hi}, not {v}")
        return v


PORT = Int(0, 65535)


@dataclass(frozen=True)
class Num(Field):
    """A finite number (percentages)."""

    expected = "a number"

    def check(self, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.wrong(v)
        return v


@dataclass(frozen=True)
class Bool(Field):
    expected = "true or false"

    def check(self, v: Any) -> Any:
        if type(v) is not bool:
            raise self.wrong(v)
        return v


@dataclass(frozen=True)
class IntOrStr(Field):
    """Kubernetes IntOrString (targetPort), or an Istio port written either way (`ports: ["80", 8080]`)."""

    expected = "a port number or name"

    def check(self, v: Any) -> Any:
        if type(v) is str:
            return v
        if type(v) is not int:
            raise self.wrong(v)
        if not 0 <= v <= 65535:
            raise SchemaError(f"must be a port between 0 and 65535, not {v}")
        return v


@dataclass(frozen=True)
class PortKey(Field):
    """A port number as a mapping key: YAML reads `8080:` as an integer, JSON as the string "8080"."""

    expected = "a port number"

    def check(self, v: Any) -> Any:
        if type(v) is str and v.isascii() and v.isdigit() and len(v) < 6:
            n = int(v)
        elif type(v) is int:
            n = v
        else:
            raise self.wrong(v)
        if not 0 <= n <= 65535:
            raise SchemaError(f"must be a port between 0 and 65535, not {v}")
        return v


@dataclass(frozen=True)
class Regex(Field):
    """A regular expression the model matches requests with: compiled here so a bad one fails on reading."""

    expected = "a regular expression (string)"

    def check(self, v: Any) -> Any:
        if type(v) is not str:
            raise self.wrong(v)
        compile_regex(v)
        return v


def compile_regex(v: str) -> re.Pattern[str]:
    try:
        return re.compile(v)
    except (re.error, RecursionError, OverflowError) as e:
        raise SchemaError(f"is not a valid regular expression: {e}") from None


@dataclass(frozen=True)
class List(Field):
    item: Field

    @property
    def expected(self) -> str:  # type: ignore[override]
        e = self.item.expected
        if isinstance(self.item, Obj):
            return "a list of mappings"
        return "a list of " + {"a string": "strings", "an integer": "integers", "a number": "numbers",
                               "a port number or name": "port numbers or names"}.get(e, "values")

    def check(self, v: Any) -> Any:
        if type(v) is not list:
            raise self.wrong(v)
        item = self.item
        objects = isinstance(item, Obj)
        for i, x in enumerate(v):
            if x is None and objects:
                v[i] = x = {}
            try:
                y = item.check(x)
            except SchemaError as e:
                e.parts.append(i)
                raise
            if y is not x:
                v[i] = y
        return v


@dataclass(frozen=True)
class Map(Field):
    """A mapping with free keys (labels, header names): string keys, every value of one type. `null_as` replaces
    null values (Kubernetes reads `key:` in labels as an empty string)."""

    value: Field
    null_as: Any = None
    key: Field | None = None  # None: string keys

    expected = "a mapping"

    def check(self, v: Any) -> Any:
        if type(v) is not dict:
            raise self.wrong(v)
        for k, x in list(v.items()):
            if self.key is None:
                if type(k) is not str:
                    raise SchemaError(f"key {k!r} must be a string, not {describe(k)}")
            else:
                try:
                    self.key.check(k)
                except SchemaError as e:
                    raise SchemaError(f"key {k!r} {e.what}") from None
            if x is None and self.null_as is not None:
                v[k] = self.null_as
                continue
            try:
                y = self.value.check(x)
            except SchemaError as e:
                e.parts.append(k)
                raise
            if y is not x:
                v[k] = y
        return v


@dataclass(frozen=True)
class Obj(Field):
    """A mapping with known fields; fields not listed are kept but never read. `post` checks what depends on
    several fields (a path value that is a regex when its type says so)."""

    fields: dict[str, Field]
    post: Callable[[dict[str, Any]], None] | None = field(default=None, compare=False)
    required: tuple[str, ...] = ()  # must be there and not null
    present: tuple[str, ...] = ()  # must be there, null allowed

    expected = "a mapping"

    def check(self, v: Any) -> Any:
        if type(v) is not dict:
            raise self.wrong(v)
        for k in self.required:
            if v.get(k) is None:
                raise SchemaError(f"needs {k}")
        for k in self.present:
            if k not in v:
                raise SchemaError(f"needs {k}")
        for k, spec in self.fields.items():
            if k in v:
                x = v[k]
                if x is None:
                    del v[k]
                    continue
                try:
                    y = spec.check(x)
                except SchemaError as e:
                    e.parts.append(k)
                    raise
                if y is not x:
                    v[k] = y
        if self.post is not None:
            self.post(v)
        return v


MAX_DEPTH = 100  # Kubernetes objects and ambientctl's documents nest a few dozen levels at most


def check_depth(doc: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse a document nested deeper than `limit` (every later walk of it would recurse that deep)."""
    stack = [(doc, 0)]
    while stack:
        v, n = stack.pop()
        if n > limit:
            raise SchemaError(f"is nested more than {limit} levels deep")
        children = v.values() if type(v) is dict else v if type(v) is list else ()
        stack.extend((x, n + 1) for x in children if type(x) is dict or type(x) is list)


def check(schema: Field, doc: Any) -> Any:
    """Check `doc` against `schema` (normalising nulls in place); raises SchemaError naming the field."""
    try:
        return schema.check(doc)
    except RecursionError:
        raise SchemaError("is nested too deeply") from None


# --- building blocks -----------------------------------------------------------------------------------------

S, N, B = Str(), Int(), Bool()
STRINGS = List(S)
PORTS = List(IntOrStr())
LABELS = Map(Scalar(), null_as="")  # metadata labels/annotations as kubectl prints them (values read as text)
STR_MAP = Map(S)  # selectors and subset labels: Kubernetes map[string]string
LABEL_SELECTOR = Obj({
    "matchLabels": STR_MAP,
    "matchExpressions": List(Obj({"key": S, "operator": S, "values": STRINGS})),
})

OWNER_REF = Obj({"kind": S, "name": S, "apiVersion": S, "controller": B})
METADATA = Obj({
    "name": S, "namespace": S, "labels": LABELS, "annotations": LABELS, "uid": Scalar(),
    "creationTimestamp": Scalar(), "ownerReferences": List(OWNER_REF),
})
OBJECT = Obj({"apiVersion": S, "kind": S, "metadata": METADATA})


def _kind(spec: dict[str, Field] | None = None, status: dict[str, Field] | None = None, **top: Field) -> Obj:
    fields: dict[str, Field] = {"apiVersion": S, "kind": S, "metadata": METADATA}
    if spec is not None:
        fields["spec"] = Obj(spec)
    if status is not None:
        fields["status"] = Obj(status)
    fields.update(top)
    return Obj(fields)


CONDITION = Obj({"type": S, "status": S, "reason": S, "message": S})
# kubelet probes that open a connection (exec probes do not): their port is what NetworkPolicy sees
PROBE = Obj({"httpGet": Obj({"port": IntOrStr()}), "tcpSocket": Obj({"port": IntOrStr()}), "grpc": Obj({"port": PORT})})
CONTAINER = Obj({
    "name": S, "image": S,
    "env": List(Obj({"name": S, "value": Scalar()}, required=("name",))),
    "ports": List(Obj({"containerPort": Int(1, 65535), "name": S, "protocol": S})),
    **{f"{kind}Probe": PROBE for kind in ("liveness", "readiness", "startup")},
})
CONTAINERS = List(CONTAINER)


POD = _kind(
    spec={"nodeName": S, "serviceAccountName": S, "serviceAccount": S, "hostNetwork": B,
          "containers": CONTAINERS, "initContainers": CONTAINERS, "ephemeralContainers": CONTAINERS},
    status={"podIP": S, "podIPs": List(Obj({"ip": S})), "phase": S, "conditions": List(CONDITION)},
)

SERVICE_PORT = Obj({"port": PORT, "targetPort": IntOrStr(), "name": S, "protocol": S, "appProtocol": S, "nodePort": N})
SERVICE = _kind(spec={"type": S, "clusterIP": S, "clusterIPs": STRINGS, "selector": LABELS,
                      "ports": List(SERVICE_PORT)})

CONTROLLER = _kind(
    spec={"replicas": Int(0), "selector": LABEL_SELECTOR,
          "template": Obj({"metadata": Obj({"labels": LABELS, "annotations": LABELS}),
                           "spec": Obj({"containers": CONTAINERS, "initContainers": CONTAINERS})})},
    status={"readyReplicas": Int(0), "numberReady": Int(0)},
)

CONFIG_MAP = _kind(data=Map(Scalar(), null_as=""))
NODE = _kind(status={"addresses": List(Obj({"type": S, "address": S}))})
NAMESPACE = _kind()
SERVICE_ACCOUNT = _kind()

# Gateway API (gateway.networking.k8s.io/v1)
GATEWAY = _kind(
    spec={"gatewayClassName": S, "listeners": List(Obj({
        "name": S, "port": PORT, "protocol": S, "hostname": S,
        "allowedRoutes": Obj({"namespaces": Obj({"from": S, "selector": LABEL_SELECTOR}),
                              "kinds": List(Obj({"group": S, "kind": S}))}),
    }))},
    status={"addresses": List(Obj({"type": S, "value": S})), "conditions": List(CONDITION)},
)
GATEWAY_CLASS = _kind(spec={"controllerName": S})


def _typed_value(regex_types: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    """Gateway API matches: `value` is a regular expression when `type` says so."""

    def post(m: dict[str, Any]) -> None:
        if m.get("type") in regex_types and "value" in m:
            try:
                compile_regex(m["value"])
            except SchemaError as e:
                e.parts.append("value")
                raise
    return post


_REGEX = ("RegularExpression",)
HTTP_PATH_MATCH = Obj({"type": S, "value": S}, post=_typed_value(_REGEX))
HTTP_HEADER_MATCH = Obj({"type": S, "name": S, "value": S}, post=_typed_value(_REGEX))
PARENT_REF = Obj({"group": S, "kind": S, "namespace": S, "name": S, "sectionName": S, "port": PORT})
BACKEND_REF = Obj({"group": S, "kind": S, "namespace": S, "name": S, "port": PORT, "weight": Int(0, 1_000_000)})
ROUTE_SPEC: dict[str, Field] = {"parentRefs": List(PARENT_REF), "hostnames": STRINGS}
HTTP_ROUTE = _kind(spec={**ROUTE_SPEC, "rules": List(Obj({
    "name": S,
    "matches": List(Obj({"path": HTTP_PATH_MATCH, "method": S, "headers": List(HTTP_HEADER_MATCH),
                         "queryParams": List(HTTP_HEADER_MATCH)})),
    "backendRefs": List(BACKEND_REF),
    "timeouts": Obj({"request": S, "backendRequest": S}),
    "retry": Obj({"attempts": Int(0), "backoff": S, "codes": List(N)}),
}))})
GRPC_ROUTE = _kind(spec={**ROUTE_SPEC, "rules": List(Obj({
    "name": S,
    "matches": List(Obj({"method": Obj({"type": S, "service": S, "method": S}, post=_typed_value(_REGEX)),
                         "headers": List(HTTP_HEADER_MATCH)})),
    "backendRefs": List(BACKEND_REF),
}))})

# security.istio.io
SOURCE_FIELDS = ("principals", "requestPrincipals", "namespaces", "serviceAccounts", "ipBlocks", "remoteIpBlocks",
                 "trustDomains")  # trustDomains: 1.31
OPERATION_FIELDS = ("hosts", "methods", "paths")


def _with_not(names: tuple[str, ...], typ: Field) -> dict[str, Field]:
    out = {}
    for n in names:
        out[n] = typ
        out["not" + n[0].upper() + n[1:]] = typ
    return out


TARGET_REF = Obj({"group": S, "kind": S, "name": S, "namespace": S})
WORKLOAD_SELECTOR = Obj({"matchLabels": STR_MAP})  # Istio's selector: labels only
AUTHORIZATION_POLICY = _kind(spec={
    "action": S,
    "provider": Obj({"name": S}),
    "selector": WORKLOAD_SELECTOR,
    "targetRef": TARGET_REF,
    "targetRefs": List(TARGET_REF),
    "rules": List(Obj({
        "from": List(Obj({"source": Obj(_with_not(SOURCE_FIELDS, STRINGS))})),
        "to": List(Obj({"operation": Obj({**_with_not(OPERATION_FIELDS, STRINGS), **_with_not(("ports",), PORTS)})})),
        "when": List(Obj({"key": S, "values": PORTS, "notValues": PORTS})),
    })),
})
PEER_AUTHENTICATION = _kind(spec={
    "selector": WORKLOAD_SELECTOR,
    "mtls": Obj({"mode": S}),
    "portLevelMtls": Map(Obj({"mode": S}), key=PortKey()),
})

# networking.istio.io
STRING_MATCH = Obj({"exact": S, "prefix": S, "regex": Regex()})
PERCENT = Obj({"value": Num()})
DESTINATION = Obj({"host": S, "subset": S, "port": Obj({"number": PORT})})
ROUTE_DESTINATION = Obj({"destination": DESTINATION, "weight": Int(0, 1_000_000)})
L4_FIELDS: dict[str, Field] = {"port": PORT, "destinationSubnets": STRINGS, "sourceLabels": STR_MAP,
                                "gateways": STRINGS}
VIRTUAL_SERVICE = _kind(spec={
    "hosts": STRINGS, "gateways": STRINGS, "exportTo": STRINGS,
    "http": List(Obj({
        "name": S,
        "match": List(Obj({
            "name": S, "uri": STRING_MATCH, "scheme": STRING_MATCH, "method": STRING_MATCH,
            "authority": STRING_MATCH, "headers": Map(STRING_MATCH), "withoutHeaders": Map(STRING_MATCH),
            "queryParams": Map(STRING_MATCH), "port": PORT, "ignoreUriCase": B, "sourceLabels": STR_MAP,
            "gateways": STRINGS,
        })),
        "route": List(ROUTE_DESTINATION),
        "fault": Obj({
            "delay": Obj({"fixedDelay": S, "percentage": PERCENT, "percent": Int(0, 100)}),
            "abort": Obj({"httpStatus": Int(0, 999), "grpcStatus": S, "percentage": PERCENT, "percent": Int(0, 100)}),
        }),
        "timeout": S,
        "retries": Obj({"attempts": Int(0), "perTryTimeout": S, "retryOn": S}),
        "directResponse": Obj({"status": Int(0, 999)}),
        "redirect": Obj({"uri": S, "authority": S, "redirectCode": Int(0, 999)}),
    })),
    "tcp": List(Obj({"match": List(Obj(L4_FIELDS)), "route": List(ROUTE_DESTINATION)})),
    "tls": List(Obj({"match": List(Obj({**L4_FIELDS, "sniHosts": STRINGS})), "route": List(ROUTE_DESTINATION)})),
})
DESTINATION_RULE = _kind(spec={
    "host": S,
    "subsets": List(Obj({"name": S, "labels": STR_MAP})),
    "trafficPolicy": Obj({"loadBalancer": Obj({"simple": S})}),
})
SERVICE_ENTRY = _kind(spec={
    "hosts": STRINGS, "addresses": STRINGS, "resolution": S, "location": S, "exportTo": STRINGS,
    "ports": List(Obj({"number": PORT, "targetPort": PORT, "name": S, "protocol": S})),
    "workloadSelector": Obj({"labels": STR_MAP}),
    "endpoints": List(Obj({"address": S})),
}, status={"addresses": List(Obj({"host": S, "value": S}))})  # status: istiod's auto-allocated VIPs (1.25+)

# networking.k8s.io
NETWORK_POLICY_PEER = Obj({"podSelector": LABEL_SELECTOR, "namespaceSelector": LABEL_SELECTOR,
                           "ipBlock": Obj({"cidr": S, "except": STRINGS})})
NETWORK_POLICY_PORT = Obj({"protocol": S, "port": IntOrStr(), "endPort": PORT})
NETWORK_POLICY = _kind(spec={
    "podSelector": LABEL_SELECTOR, "policyTypes": STRINGS,
    "ingress": List(Obj({"from": List(NETWORK_POLICY_PEER), "ports": List(NETWORK_POLICY_PORT)})),
    "egress": List(Obj({"to": List(NETWORK_POLICY_PEER), "ports": List(NETWORK_POLICY_PORT)})),
})

GATEWAY_API = "gateway.networking.k8s.io"
SECURITY = "security.istio.io"
NETWORKING = "networking.istio.io"

# (API group, kind) -> schema; parse.py has one parser for each key (tests/model checks both tables agree).
SCHEMAS: dict[tuple[str, str], Obj] = {
    ("", "Namespace"): NAMESPACE,
    ("", "Node"): NODE,
    ("", "Pod"): POD,
    ("", "Service"): SERVICE,
    ("", "ServiceAccount"): SERVICE_ACCOUNT,
    ("", "ConfigMap"): CONFIG_MAP,
    ("apps", "Deployment"): CONTROLLER,
    ("apps", "DaemonSet"): CONTROLLER,
    ("apps", "StatefulSet"): CONTROLLER,
    ("apps", "ReplicaSet"): CONTROLLER,
    (GATEWAY_API, "Gateway"): GATEWAY,
    (GATEWAY_API, "GatewayClass"): GATEWAY_CLASS,
    (GATEWAY_API, "HTTPRoute"): HTTP_ROUTE,
    (GATEWAY_API, "GRPCRoute"): GRPC_ROUTE,
    (SECURITY, "AuthorizationPolicy"): AUTHORIZATION_POLICY,
    (SECURITY, "PeerAuthentication"): PEER_AUTHENTICATION,
    (NETWORKING, "VirtualService"): VIRTUAL_SERVICE,
    (NETWORKING, "DestinationRule"): DESTINATION_RULE,
    (NETWORKING, "ServiceEntry"): SERVICE_ENTRY,
    ("networking.k8s.io", "NetworkPolicy"): NETWORK_POLICY,
}
