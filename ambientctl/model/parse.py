"""Kubernetes manifests (already decoded to dicts) -> model objects.

Both the snapshot source and the live source end here, so a cluster read live and the same cluster read from
`kubectl get -o yaml` give the same model. Errors name the origin, the object and the field:
`pods.yaml#2 (Pod default/sleep): spec.containers must be a list, not str`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ambientctl.errors import InputError
from ambientctl.model import objects as o
from ambientctl.model.schema import OBJECT, SCHEMAS, SchemaError, check, check_depth, describe


class _Doc:
    """Typed access to one document, raising InputError that names the field path."""

    def __init__(self, doc: dict[str, Any], where: str):
        self.doc = doc
        self.where = where

    def fail(self, path: str, what: str) -> InputError:
        return InputError(f"{self.where}: {path} {what}")

    def get(self, path: str, typ: type | tuple[type, ...], default: Any = None) -> Any:
        cur: Any = self.doc
        walked = []
        for part in path.split("."):
            walked.append(part)
            if cur is None:
                return default
            if not isinstance(cur, dict):
                raise self.fail(".".join(walked[:-1]), f"must be a mapping, not {type(cur).__name__}")
            cur = cur.get(part)
        if cur is None:
            return default
        if not isinstance(cur, typ):
            names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            raise self.fail(path, f"must be {_article(names)}, not {type(cur).__name__}")
        return cur

    def str_map(self, path: str) -> dict[str, str]:
        m = self.get(path, dict, {})
        return {str(k): "" if v is None else str(v) for k, v in m.items()}

    def list_of_dicts(self, path: str) -> list[dict[str, Any]]:
        items = self.get(path, list, [])
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise self.fail(f"{path}[{i}]", f"must be a mapping, not {type(item).__name__}")
        return items

    def str_list(self, path: str) -> list[str]:
        items = self.get(path, list, [])
        for i, item in enumerate(items):
            if not isinstance(item, str | int):
                raise self.fail(f"{path}[{i}]", f"must be a string, not {type(item).__name__}")
        return [str(i) for i in items]


def _article(names: str) -> str:
    table = {"dict": "a mapping", "list": "a list", "str": "a string", "int": "an integer", "bool": "a boolean"}
    return " or ".join(table.get(n, n) for n in names.split(" or "))


# Kinds whose spec is read field by field into typed objects (nothing of it is kept as written): no depth check,
# which would cost a walk of every pod of a 5,000-pod snapshot.
_TYPED_WHOLE = frozenset({"Pod", "Service", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Node",
                          "Namespace", "ServiceAccount", "ConfigMap"})


def parse_object(doc: Any, origin: str) -> Any:
    """One manifest -> a model object (Unknown for kinds ambientctl does not use)."""
    if not isinstance(doc, dict):
        raise InputError(f"{origin}: not a Kubernetes object (a {type(doc).__name__}, expected a mapping)")
    kind = doc.get("kind")
    if kind is None or kind == "":
        raise InputError(f"{origin}: document has no 'kind'")
    if not isinstance(kind, str):
        raise InputError(f"{origin}: kind must be a string, not {describe(kind)}")
    api_version = doc.get("apiVersion") or ""
    if not isinstance(api_version, str):
        raise InputError(f"{origin} ({kind}): apiVersion must be a string, not {describe(api_version)}")
    md = doc.get("metadata")
    if not isinstance(md, dict):
        raise InputError(f"{origin} ({kind}): metadata must be a mapping, not {describe(md)}")
    name = md.get("name")
    if not name:
        raise InputError(f"{origin} ({kind}): metadata.name is missing")
    if not isinstance(name, str):
        raise InputError(f"{origin} ({kind}): metadata.name must be a string, not {describe(name)}")
    ns = md.get("namespace") or ""
    if not isinstance(ns, str):
        raise InputError(f"{origin} ({kind} {name}): metadata.namespace must be a string, not {describe(ns)}")
    d = _Doc(doc, f"{origin} ({kind} {ns + '/' if ns else ''}{name})")
    group = api_version.split("/")[0] if "/" in api_version else ""
    try:
        check(SCHEMAS.get((group, kind), OBJECT), doc)
        if kind not in _TYPED_WHOLE and isinstance(doc.get("spec"), dict):
            try:  # rule and route bodies are kept as written: every later walk of them recurses that deep
                check_depth(doc["spec"])
            except SchemaError as e:
                e.parts.append("spec")
                raise
    except SchemaError as e:
        raise InputError(f"{d.where}: {e}") from None
    meta = o.Meta(
        kind=kind,
        name=name,
        namespace=ns,
        labels=d.str_map("metadata.labels"),
        annotations=d.str_map("metadata.annotations"),
        uid=str(md.get("uid") or ""),
        created=str(md.get("creationTimestamp") or ""),
        origin=origin,
        api_version=api_version,
    )
    parser = _PARSERS.get((group, kind))
    if parser is None:
        return o.Unknown(meta)
    return parser(d, meta)


def _containers(d: _Doc, path: str) -> list[o.Container]:
    out = []
    for i, c in enumerate(d.list_of_dicts(path)):
        env = {}
        for j, e in enumerate(c.get("env") or []):
            if not isinstance(e, dict) or "name" not in e:
                raise d.fail(f"{path}[{i}].env[{j}]", "must be a mapping with a name")
            if "value" in e:
                env[str(e["name"])] = "" if e["value"] is None else str(e["value"])
        raw_ports = [p for p in c.get("ports") or [] if isinstance(p, dict) and isinstance(p.get("containerPort"), int)]
        out.append(o.Container(
            name=str(c.get("name", "")), image=str(c.get("image", "")), env=env,
            ports=[p["containerPort"] for p in raw_ports],
            named_ports={str(p["name"]): p["containerPort"] for p in raw_ports if p.get("name")},
            probes=_probes(d, f"{path}[{i}]", c),
        ))
    return out


def _probes(d: _Doc, path: str, c: dict[str, Any]) -> list[o.Probe]:
    out = []
    for kind in ("liveness", "readiness", "startup"):
        probe = c.get(f"{kind}Probe")
        if not isinstance(probe, dict):
            continue
        for handler in ("httpGet", "tcpSocket", "grpc"):
            h = probe.get(handler)
            if isinstance(h, dict) and h.get("port") is not None:
                out.append(o.Probe(kind, handler, _port_value(d, f"{path}.{kind}Probe.{handler}.port", h["port"])))
    return out


def _owner(d: _Doc) -> tuple[str, str]:
    for ref in d.list_of_dicts("metadata.ownerReferences"):
        if ref.get("controller", True):
            return str(ref.get("kind", "")), str(ref.get("name", ""))
    return "", ""


def _pod(d: _Doc, meta: o.Meta) -> o.Pod:
    ips = [str(p.get("ip")) for p in d.list_of_dicts("status.podIPs") if p.get("ip")]
    ip = d.get("status.podIP", str, "") or (ips[0] if ips else "")
    if ip and not ips:
        ips = [ip]
    conds = {c.get("type"): c.get("status") for c in d.list_of_dicts("status.conditions")}
    owner_kind, owner_name = _owner(d)
    return o.Pod(
        meta=meta,
        node_name=d.get("spec.nodeName", str, ""),
        ip=ip,
        ips=ips,
        service_account=d.get("spec.serviceAccountName", str, "") or d.get("spec.serviceAccount", str, "") or "default",
        host_network=bool(d.get("spec.hostNetwork", bool, False)),
        containers=_containers(d, "spec.containers"),
        init_containers=_containers(d, "spec.initContainers"),
        ephemeral_containers=_containers(d, "spec.ephemeralContainers"),
        phase=d.get("status.phase", str, ""),
        ready=conds.get("Ready") == "True",
        owner_kind=owner_kind,
        owner_name=owner_name,
    )


def _port_value(d: _Doc, path: str, v: Any) -> int | str:
    if isinstance(v, bool):
        raise d.fail(path, "must be a port number or name")
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        return int(v) if v.isdigit() else v
    raise d.fail(path, f"must be a port number or name, not {type(v).__name__}")


def _service_ports(d: _Doc, path: str, target_key: str = "targetPort") -> list[o.ServicePort]:
    out = []
    for i, p in enumerate(d.list_of_dicts(path)):
        port = p.get("port", p.get("number"))
        if not isinstance(port, int) or isinstance(port, bool):
            raise d.fail(f"{path}[{i}].port", "must be an integer")
        target = p.get(target_key)
        out.append(
            o.ServicePort(
                port=port,
                target_port=_port_value(d, f"{path}[{i}].{target_key}", target) if target is not None else port,
                name=str(p.get("name", "")),
                protocol=str(p.get("protocol", "TCP")),
                app_protocol=str(p.get("appProtocol", "")),
            )
        )
    return out


def _service(d: _Doc, meta: o.Meta) -> o.Service:
    ips = d.str_list("spec.clusterIPs") or ([d.get("spec.clusterIP", str)] if d.get("spec.clusterIP", str) else [])
    sel = d.get("spec.selector", dict)
    return o.Service(
        meta=meta,
        type=d.get("spec.type", str, "ClusterIP"),
        cluster_ips=ips,
        ports=_service_ports(d, "spec.ports"),
        selector=d.str_map("spec.selector") if sel is not None else None,
    )


def _conditions(d: _Doc, path: str) -> list[o.Condition]:
    return [
        o.Condition(
            type=str(c.get("type", "")),
            status=str(c.get("status", "")),
            reason=str(c.get("reason", "")),
            message=str(c.get("message", "")),
        )
        for c in d.list_of_dicts(path)
    ]


def _gateway(d: _Doc, meta: o.Meta) -> o.Gateway:
    listeners = []
    allowed_from, allowed_sel = "Same", None
    for i, li in enumerate(d.list_of_dicts("spec.listeners")):
        port = li.get("port", 0)
        if not isinstance(port, int):
            raise d.fail(f"spec.listeners[{i}].port", "must be an integer")
        listeners.append(o.Listener(name=str(li.get("name", "")), port=port, protocol=str(li.get("protocol", ""))))
        nss = ((li.get("allowedRoutes") or {}).get("namespaces")) or {}
        if li.get("protocol") == "HBONE" or i == 0:
            allowed_from = str(nss.get("from", "Same"))
            sel = (nss.get("selector") or {}).get("matchLabels")
            allowed_sel = {str(k): str(v) for k, v in sel.items()} if isinstance(sel, dict) else None
    addresses = [str(a.get("value")) for a in d.list_of_dicts("status.addresses") if a.get("value")]
    return o.Gateway(
        meta=meta,
        class_name=d.get("spec.gatewayClassName", str, ""),
        listeners=listeners,
        addresses=addresses,
        conditions=_conditions(d, "status.conditions"),
        allowed_routes_from=allowed_from,
        allowed_routes_selector=allowed_sel,
    )


def _gateway_class(d: _Doc, meta: o.Meta) -> o.GatewayClass:
    return o.GatewayClass(meta=meta, controller=d.get("spec.controllerName", str, ""))


def _selector(d: _Doc, path: str) -> dict[str, str] | None:
    sel = d.get(path, dict)
    if sel is None:
        return None
    return d.str_map(path + ".matchLabels")


def _target_refs(d: _Doc) -> list[o.TargetRef]:
    refs = []
    single = d.get("spec.targetRef", dict)
    raw = ([single] if single else []) + d.list_of_dicts("spec.targetRefs")
    for i, r in enumerate(raw):
        if not r.get("kind") or not r.get("name"):
            raise d.fail(f"spec.targetRefs[{i}]", "needs kind and name")
        refs.append(
            o.TargetRef(
                kind=str(r["kind"]), name=str(r["name"]), group=str(r.get("group", "")), namespace=str(r.get("namespace", ""))
            )
        )
    return refs


def _authorization_policy(d: _Doc, meta: o.Meta) -> o.AuthorizationPolicy:
    action = d.get("spec.action", str, "ALLOW").upper()
    if action not in ("ALLOW", "DENY", "CUSTOM", "AUDIT"):
        raise d.fail("spec.action", f"must be ALLOW, DENY, CUSTOM or AUDIT, not {action!r}")
    spec = d.get("spec", dict, {})
    rules = None
    if "rules" in spec:
        rules = d.list_of_dicts("spec.rules")
    return o.AuthorizationPolicy(
        meta=meta,
        action=action,
        selector=_selector(d, "spec.selector"),
        target_refs=_target_refs(d),
        rules=rules,
        provider=d.get("spec.provider.name", str, ""),
    )


MTLS_MODES = ("STRICT", "PERMISSIVE", "DISABLE", "UNSET")


def _peer_authentication(d: _Doc, meta: o.Meta) -> o.PeerAuthentication:
    mode = d.get("spec.mtls.mode", str, "").upper()
    if mode and mode not in MTLS_MODES:
        raise d.fail("spec.mtls.mode", f"must be one of {', '.join(MTLS_MODES)}, not {mode!r}")
    port_level = {}
    for port, v in d.get("spec.portLevelMtls", dict, {}).items():
        try:
            p = int(port)
        except (TypeError, ValueError):
            raise d.fail(f"spec.portLevelMtls.{port}", "key must be a port number") from None
        m = str((v or {}).get("mode", "")).upper() if isinstance(v, dict) else ""
        port_level[p] = m
    return o.PeerAuthentication(meta=meta, selector=_selector(d, "spec.selector"), mode=mode, port_level=port_level)


def _http_route(d: _Doc, meta: o.Meta) -> o.HTTPRoute:
    return o.HTTPRoute(
        meta=meta,
        parent_refs=d.list_of_dicts("spec.parentRefs"),
        hostnames=d.str_list("spec.hostnames"),
        rules=d.list_of_dicts("spec.rules"),
    )


def _virtual_service(d: _Doc, meta: o.Meta) -> o.VirtualService:
    return o.VirtualService(
        meta=meta,
        hosts=d.str_list("spec.hosts"),
        gateways=d.str_list("spec.gateways"),
        http=d.list_of_dicts("spec.http"),
        tcp=d.list_of_dicts("spec.tcp"),
        tls=d.list_of_dicts("spec.tls"),
        export_to=d.str_list("spec.exportTo"),
    )


def _destination_rule(d: _Doc, meta: o.Meta) -> o.DestinationRule:
    return o.DestinationRule(
        meta=meta,
        host=d.get("spec.host", str, ""),
        subsets=d.list_of_dicts("spec.subsets"),
        traffic_policy=d.get("spec.trafficPolicy", dict, {}),
    )


def _service_entry(d: _Doc, meta: o.Meta) -> o.ServiceEntry:
    ws = d.get("spec.workloadSelector", dict)
    return o.ServiceEntry(
        meta=meta,
        hosts=d.str_list("spec.hosts"),
        addresses=d.str_list("spec.addresses"),
        ports=_service_ports(d, "spec.ports"),
        resolution=d.get("spec.resolution", str, "").upper(),
        location=d.get("spec.location", str, ""),
        workload_selector=d.str_map("spec.workloadSelector.labels") if ws is not None else None,
        endpoints=[str(e["address"]) for e in d.list_of_dicts("spec.endpoints") if e.get("address")],
        export_to=d.str_list("spec.exportTo"),
        status_addresses=[(str(a.get("host") or ""), str(a["value"])) for a in d.list_of_dicts("status.addresses")
                          if a.get("value")],
    )


def _controller(d: _Doc, meta: o.Meta) -> o.Controller:
    owner_kind, owner_name = _owner(d)
    replicas = d.get("spec.replicas", int)
    return o.Controller(
        meta=meta,
        selector=d.str_map("spec.selector.matchLabels"),
        template_labels=d.str_map("spec.template.metadata.labels"),
        template_annotations=d.str_map("spec.template.metadata.annotations"),
        containers=_containers(d, "spec.template.spec.containers"),
        replicas=replicas,
        ready_replicas=d.get("status.readyReplicas", int, 0) or d.get("status.numberReady", int, 0),
        owner_kind=owner_kind,
        owner_name=owner_name,
    )


def _configmap(d: _Doc, meta: o.Meta) -> o.ConfigMap:
    # Never keep data of ConfigMaps other than Istio's own config (`istio`, or `istio-<revision>` with a
    # `mesh` key; `istio-cni-config`, whose AMBIENT_DNS_CAPTURE decides DNS capture): they may hold anything.
    data = d.get("data", dict, {})
    keep = meta.name in ("istio", "istio-cni-config") or (meta.name.startswith("istio-") and "mesh" in data)
    return o.ConfigMap(meta=meta, data={str(k): str(v) for k, v in data.items()} if keep else {})


def _namespace(d: _Doc, meta: o.Meta) -> o.Namespace:
    return o.Namespace(meta)


def _node(d: _Doc, meta: o.Meta) -> o.Node:
    ip = next((a.get("address", "") for a in d.list_of_dicts("status.addresses") if a.get("type") == "InternalIP"), "")
    return o.Node(meta=meta, internal_ip=str(ip))


def _service_account(d: _Doc, meta: o.Meta) -> o.ServiceAccount:
    return o.ServiceAccount(meta)


# NetworkPolicy: the fields and their validation follow k8s.io/api networking/v1 types.go and the API server's
# validation (pkg/apis/networking/validation): an invalid policy would have been refused by the cluster, so a
# manifest holding one is an input error, not a policy to guess at.
_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist")


def _label_selector(d: _Doc, path: str, raw: Any) -> o.LabelSelector:
    if not isinstance(raw, dict):
        raise d.fail(path, f"must be a mapping, not {type(raw).__name__}")
    labels = raw.get("matchLabels") or {}
    if not isinstance(labels, dict):
        raise d.fail(f"{path}.matchLabels", f"must be a mapping, not {type(labels).__name__}")
    exprs = []
    for i, e in enumerate(raw.get("matchExpressions") or []):
        where = f"{path}.matchExpressions[{i}]"
        if not isinstance(e, dict) or not isinstance(e.get("key"), str) or not e["key"]:
            raise d.fail(where, "must be a mapping with a key")
        op = e.get("operator")
        if op not in _SELECTOR_OPS:
            raise d.fail(f"{where}.operator", f"must be one of {', '.join(_SELECTOR_OPS)}, not {op!r}")
        values = e.get("values") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise d.fail(f"{where}.values", "must be a list of strings")
        if op in ("In", "NotIn") and not values:
            raise d.fail(f"{where}.values", f"must not be empty for {op}")
        if op in ("Exists", "DoesNotExist") and values:
            raise d.fail(f"{where}.values", f"must be empty for {op}")
        exprs.append(o.LabelRequirement(e["key"], op, tuple(values)))
    return o.LabelSelector({str(k): "" if v is None else str(v) for k, v in labels.items()}, exprs)


def _cidr(d: _Doc, path: str, raw: Any) -> str:
    import ipaddress

    if isinstance(raw, str):
        try:
            return str(ipaddress.ip_network(raw, strict=False))
        except ValueError:
            pass
    raise d.fail(path, f"must be a CIDR such as 10.0.0.0/16, not {raw!r}")


def _np_peers(d: _Doc, path: str, raw: Any) -> list[o.NetworkPolicyPeer] | None:
    import ipaddress

    if raw is None or raw == []:
        return None  # absent or empty: every peer (types.go NetworkPolicyIngressRule.From)
    if not isinstance(raw, list):
        raise d.fail(path, f"must be a list, not {type(raw).__name__}")
    out = []
    for i, p in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(p, dict):
            raise d.fail(where, f"must be a mapping, not {type(p).__name__}")
        peer = o.NetworkPolicyPeer()
        if p.get("podSelector") is not None:
            peer.pod_selector = _label_selector(d, f"{where}.podSelector", p["podSelector"])
        if p.get("namespaceSelector") is not None:
            peer.namespace_selector = _label_selector(d, f"{where}.namespaceSelector", p["namespaceSelector"])
        if p.get("ipBlock") is not None:
            ib = p["ipBlock"]
            if not isinstance(ib, dict) or "cidr" not in ib:
                raise d.fail(f"{where}.ipBlock", "must be a mapping with a cidr")
            if peer.pod_selector or peer.namespace_selector:
                raise d.fail(where, "may not set ipBlock together with podSelector or namespaceSelector")
            cidr = _cidr(d, f"{where}.ipBlock.cidr", ib["cidr"])
            excepts = ib.get("except") or []
            if not isinstance(excepts, list):
                raise d.fail(f"{where}.ipBlock.except", "must be a list")
            exc = [_cidr(d, f"{where}.ipBlock.except[{j}]", e) for j, e in enumerate(excepts)]
            for j, e in enumerate(exc):
                net, outer = ipaddress.ip_network(e), ipaddress.ip_network(cidr)
                if net.version != outer.version or not net.subnet_of(outer):  # type: ignore[arg-type]
                    raise d.fail(f"{where}.ipBlock.except[{j}]", f"{e} must be inside {cidr}")
            peer.ip_block = o.IPBlock(cidr, exc)
        if peer.pod_selector is None and peer.namespace_selector is None and peer.ip_block is None:
            raise d.fail(where, "must set podSelector, namespaceSelector or ipBlock")
        out.append(peer)
    return out


def _np_ports(d: _Doc, path: str, raw: Any) -> list[o.NetworkPolicyPort] | None:
    if raw is None or raw == []:
        return None  # absent or empty: every port (types.go NetworkPolicyIngressRule.Ports)
    if not isinstance(raw, list):
        raise d.fail(path, f"must be a list, not {type(raw).__name__}")
    out = []
    for i, p in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(p, dict):
            raise d.fail(where, f"must be a mapping, not {type(p).__name__}")
        proto = p.get("protocol") or "TCP"
        if proto not in ("TCP", "UDP", "SCTP"):
            raise d.fail(f"{where}.protocol", f"must be TCP, UDP or SCTP, not {proto!r}")
        port = _port_value(d, f"{where}.port", p["port"]) if p.get("port") is not None else None
        end = p.get("endPort")
        if end is not None:
            if not isinstance(end, int) or isinstance(end, bool):
                raise d.fail(f"{where}.endPort", "must be an integer")
            if not isinstance(port, int):
                raise d.fail(f"{where}.endPort", "needs a numeric port")
            if end < port:
                raise d.fail(f"{where}.endPort", f"must be at least port {port}")
        out.append(o.NetworkPolicyPort(proto, port, end))
    return out


def _np_rules(d: _Doc, path: str, peer_key: str) -> list[o.NetworkPolicyRule]:
    return [o.NetworkPolicyRule(_np_peers(d, f"{path}[{i}].{peer_key}", r.get(peer_key)),
                                _np_ports(d, f"{path}[{i}].ports", r.get("ports")))
            for i, r in enumerate(d.list_of_dicts(path))]


def _network_policy(d: _Doc, meta: o.Meta) -> o.NetworkPolicy:
    sel = d.get("spec.podSelector", dict, {})
    types = d.str_list("spec.policyTypes")
    for i, t in enumerate(types):
        if t not in ("Ingress", "Egress"):
            raise d.fail(f"spec.policyTypes[{i}]", f"must be Ingress or Egress, not {t!r}")
    egress = _np_rules(d, "spec.egress", "to")
    if not types:
        # API server defaulting (pkg/apis/networking/v1/defaults.go): Ingress always, Egress when egress rules exist.
        types = ["Ingress"] + (["Egress"] if egress else [])
    return o.NetworkPolicy(
        meta=meta,
        pod_selector=_label_selector(d, "spec.podSelector", sel),
        policy_types=types,
        ingress=_np_rules(d, "spec.ingress", "from"),
        egress=egress,
    )


GATEWAY_API = "gateway.networking.k8s.io"
SECURITY = "security.istio.io"
NETWORKING = "networking.istio.io"

_PARSERS: dict[tuple[str, str], Callable[[_Doc, o.Meta], Any]] = {
    ("", "Namespace"): _namespace,
    ("", "Node"): _node,
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "ServiceAccount"): _service_account,
    ("", "ConfigMap"): _configmap,
    ("apps", "Deployment"): _controller,
    ("apps", "DaemonSet"): _controller,
    ("apps", "StatefulSet"): _controller,
    ("apps", "ReplicaSet"): _controller,
    (GATEWAY_API, "Gateway"): _gateway,
    (GATEWAY_API, "GatewayClass"): _gateway_class,
    (GATEWAY_API, "HTTPRoute"): _http_route,
    (GATEWAY_API, "GRPCRoute"): _http_route,
    (SECURITY, "AuthorizationPolicy"): _authorization_policy,
    (SECURITY, "PeerAuthentication"): _peer_authentication,
    (NETWORKING, "VirtualService"): _virtual_service,
    (NETWORKING, "DestinationRule"): _destination_rule,
    (NETWORKING, "ServiceEntry"): _service_entry,
    ("networking.k8s.io", "NetworkPolicy"): _network_policy,
}
