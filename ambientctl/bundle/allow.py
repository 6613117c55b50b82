"""What of the cluster state a bundle may carry, decided by allow-list: for each kind the model parses
(ambientctl.model.parse), the fields it reads, and nothing else. A field that is not listed here does not leave,
whatever its name: `kubectl.kubernetes.io/last-applied-configuration` and every annotation outside Istio's own,
env vars other than the Istio settings the model reads, args, commands, volumes, probes' headers, Secrets, other
ConfigMaps than Istio's mesh/CNI config (and of those only the keys read), and every kind the model does not parse
(ExternalSecret, any CR). What passes is then scanned for credential shapes (ambientctl.bundle.redact).

A kind or field added to the parser must be added here too: tests/bundle/test_allow.py fails for a parsed kind
without an entry and compares the model read from every demo and real-data snapshot with the model read from its
projection."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import yaml

from ambientctl.authz.settings import AUTO_ALLOW_WAYPOINT, DRY_RUN, LAYERED_WAYPOINT
from ambientctl.bundle.redact import SECRET_KEY, redact_doc, redact_text
from ambientctl.mesh.install import ISTIOD_SETTINGS

Shape = Any  # True (keep the subtree), a dict of key -> Shape, [Shape] (each item), or a callable (value -> value)
DROP = object()

# Istio's own annotations (`*.istio.io/…`, `istio.io/…`) and ambientctl's: the model reads some of them
# (ambient.istio.io/redirection, sidecar.istio.io/status, istio.io/dry-run, the waypoint service-account and
# canary annotations); no other annotation is read.
_ANNOTATION = re.compile(r"^(?:[a-z0-9.-]+\.)?(?:istio\.io|ambientctl\.io)/[A-Za-z0-9._-]+$")
# Literal env values the model reads: istiod's settings and istio-cni's (ambient.*) feature flags.
ENV_NAMES = frozenset({*ISTIOD_SETTINGS, AUTO_ALLOW_WAYPOINT, DRY_RUN, LAYERED_WAYPOINT})
_ENV_NAME = re.compile(r"^(?:PILOT_ENABLE|ENABLE|AMBIENT)_[A-Z0-9_]+$")
# The mesh config keys the model reads (ambientctl.mesh.install.detect and the egress view).
MESH_KEYS = ("rootNamespace", "trustDomain", "trustDomainAliases", "serviceEntryVisibility", "outboundTrafficPolicy",
             "defaultServiceExportTo", "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo")


def _annotations(v: Any) -> Any:
    if not isinstance(v, dict):
        return DROP
    return {k: val for k, val in v.items() if isinstance(k, str) and _ANNOTATION.match(k)}


def env_allowed(name: Any) -> bool:
    return isinstance(name, str) and (name in ENV_NAMES or bool(_ENV_NAME.match(name))) and not SECRET_KEY.search(name)


def _env(v: Any) -> Any:
    if not isinstance(v, list):
        return DROP
    return [{"name": e["name"], "value": e["value"]} for e in v
            if isinstance(e, dict) and env_allowed(e.get("name")) and "value" in e]


def _image(v: Any) -> Any:
    return redact_text(v, tokens=False) if isinstance(v, str) else DROP


META: Shape = {"name": True, "namespace": True, "labels": True, "annotations": _annotations, "uid": True,
               "creationTimestamp": True,
               "ownerReferences": [{"apiVersion": True, "kind": True, "name": True, "controller": True}]}
_PROBE: Shape = {h: {"port": True} for h in ("httpGet", "tcpSocket", "grpc")}
CONTAINER: Shape = {"name": True, "image": _image, "env": _env,
                    "ports": [{"containerPort": True, "name": True, "protocol": True}],
                    "livenessProbe": _PROBE, "readinessProbe": _PROBE, "startupProbe": _PROBE}
_CONDITIONS: Shape = [{"type": True, "status": True, "reason": True, "message": True}]
_CONTROLLER: Shape = {
    "spec": {"replicas": True, "selector": {"matchLabels": True, "matchExpressions": True},
             "template": {"metadata": {"labels": True, "annotations": _annotations},
                          "spec": {"containers": [CONTAINER], "initContainers": [CONTAINER]}}},
    "status": {"readyReplicas": True, "numberReady": True}}
_ROUTE: Shape = {"spec": {"parentRefs": True, "hostnames": True, "rules": True}}
GATEWAY_API = "gateway.networking.k8s.io"
SECURITY = "security.istio.io"
NETWORKING = "networking.istio.io"

# (API group, kind) -> what is kept besides apiVersion, kind and metadata (META). ConfigMap is _config_map below.
KINDS: dict[tuple[str, str], Shape] = {
    ("", "Namespace"): {},
    ("", "ServiceAccount"): {},
    ("", "Node"): {"status": {"addresses": [{"type": True, "address": True}]}},
    ("", "Pod"): {
        "spec": {"nodeName": True, "serviceAccountName": True, "serviceAccount": True, "hostNetwork": True,
                 "containers": [CONTAINER], "initContainers": [CONTAINER], "ephemeralContainers": [CONTAINER]},
        "status": {"podIP": True, "podIPs": [{"ip": True}], "phase": True, "conditions": _CONDITIONS}},
    ("", "Service"): {"spec": {"type": True, "clusterIP": True, "clusterIPs": True, "selector": True,
                               "ports": [{"port": True, "targetPort": True, "name": True, "protocol": True,
                                          "appProtocol": True, "nodePort": True}]}},
    ("apps", "Deployment"): _CONTROLLER,
    ("apps", "DaemonSet"): _CONTROLLER,
    ("apps", "StatefulSet"): _CONTROLLER,
    ("apps", "ReplicaSet"): _CONTROLLER,
    (GATEWAY_API, "Gateway"): {
        "spec": {"gatewayClassName": True, "listeners": [{"name": True, "port": True, "protocol": True,
                                                          "hostname": True, "allowedRoutes": True}]},
        "status": {"addresses": [{"type": True, "value": True}], "conditions": _CONDITIONS}},
    (GATEWAY_API, "GatewayClass"): {"spec": {"controllerName": True}},
    (GATEWAY_API, "HTTPRoute"): _ROUTE,
    (GATEWAY_API, "GRPCRoute"): _ROUTE,
    (SECURITY, "AuthorizationPolicy"): {"spec": {"action": True, "selector": True, "targetRef": True,
                                                 "targetRefs": True, "rules": True, "provider": {"name": True}}},
    (SECURITY, "PeerAuthentication"): {"spec": {"selector": True, "mtls": {"mode": True},
                                                "portLevelMtls": True}},
    (NETWORKING, "VirtualService"): {"spec": {"hosts": True, "gateways": True, "http": True, "tcp": True,
                                              "tls": True, "exportTo": True}},
    (NETWORKING, "DestinationRule"): {"spec": {"host": True, "subsets": True, "trafficPolicy": True,
                                               "exportTo": True}},
    (NETWORKING, "ServiceEntry"): {
        "spec": {"hosts": True, "addresses": True, "ports": True, "resolution": True, "location": True,
                 "workloadSelector": {"labels": True}, "exportTo": True,
                 "endpoints": [{"address": True, "ports": True, "labels": True, "network": True}]},
        "status": {"addresses": [{"host": True, "value": True}]}},
    ("networking.k8s.io", "NetworkPolicy"): {"spec": {"podSelector": True, "policyTypes": True, "ingress": True,
                                                      "egress": True}},
}


def _project(v: Any, shape: Shape) -> Any:
    if shape is True:
        return v
    if callable(shape):
        return shape(v)
    if isinstance(shape, list):
        return [p for p in (_project(i, shape[0]) for i in v) if p is not DROP] if isinstance(v, list) else DROP
    if not isinstance(v, dict):
        return DROP
    out = {}
    for k, sub in shape.items():
        if k in v:
            p = _project(v[k], sub)
            if p is not DROP:
                out[k] = p
    return out


def _mesh(text: Any) -> Any:
    """The `mesh` key of Istio's mesh ConfigMap, cut to the keys read; something that is not a YAML mapping becomes
    an empty list, which the model reads the same way (defaults)."""
    if not isinstance(text, str):
        return DROP
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return "{ not valid YAML (left out of the bundle)"  # still invalid: the same note from the model
    if not isinstance(doc, dict):
        return "[]\n"
    kept = redact_doc({k: doc[k] for k in MESH_KEYS if k in doc}, by_key=False)  # before YAML folds a line
    return yaml.safe_dump(kept, sort_keys=False, width=1 << 30) if kept else "{}\n"


def _config_map(doc: dict[str, Any]) -> dict[str, Any] | None:
    md = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    name, data = md.get("name", ""), doc.get("data")
    if not isinstance(data, dict):
        return None
    if (name == "istio" or str(name).startswith("istio-")) and "mesh" in data:
        return {"data": {"mesh": _mesh(data["mesh"])}}
    if name == "istio-cni-config":
        return {"data": {k: v for k, v in data.items() if env_allowed(k)}}
    return None


def project(doc: Any) -> dict[str, Any] | None:
    """The allowed part of one Kubernetes object, or None when nothing of it may go in a bundle."""
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
        return None
    api = doc.get("apiVersion") if isinstance(doc.get("apiVersion"), str) else ""
    group = api.split("/")[0] if "/" in api else ""
    kind = doc["kind"]
    if (group, kind) == ("", "ConfigMap"):
        body = _config_map(doc)
    else:
        shape = KINDS.get((group, kind))
        body = None if shape is None else _project(doc, shape)
    if body is None or body is DROP:
        return None
    return {"apiVersion": api, "kind": kind, "metadata": _project(doc.get("metadata"), META), **body}


def ztunnel_state(doc: dict[str, Any], counts: Counter[str] | None = None) -> dict[str, Any]:
    """A ztunnel config dump / local config used as the snapshot (ambientctl.sources.ztunnel_state): its workloads,
    services, policies, workload states and version, scanned; its certificates and its own config (addresses of
    istiod and the CA, proxy metadata) left out — only `localNode` of it is read."""
    kept = {k: v for k, v in doc.items() if k not in ("certificates", "config")}
    config = doc.get("config")
    if isinstance(config, dict) and "localNode" in config:
        kept["config"] = {"localNode": config["localNode"]}
    return redact_doc(kept, counts, by_key=False)


def snapshot_documents(docs: list[Any], counts: Counter[str] | None = None) -> tuple[list[dict[str, Any]],
                                                                                      Counter[str]]:
    """The bundle's snapshot: List items expanded, each object cut to its allowed fields and scanned for
    credential shapes. Returns (documents, what was left out: {kind: count})."""
    flat: list[Any] = []
    for d in docs:
        if isinstance(d, dict) and str(d.get("kind", "")).endswith("List") and isinstance(d.get("items"), list):
            flat += d["items"]
        elif d is not None:
            flat.append(d)
    keep: list[dict[str, Any]] = []
    left_out: Counter[str] = Counter()
    for d in flat:
        p = project(d)
        if p is None:
            left_out[str(d.get("kind")) if isinstance(d, dict) else type(d).__name__] += 1
            continue
        keep.append(redact_doc(p, counts, by_key=False))
    return keep, left_out
