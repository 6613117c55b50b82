"""A ztunnel's own view as a snapshot: `--snapshot` given a ztunnel `/config_dump` (as `istioctl zc all -o json`
prints it, any schema generation) or a ztunnel local-config YAML.

The dump says what ztunnel *has*: workloads with IPs, nodes, identities and capture protocol, services with
VIPs and endpoints, waypoint references, and policies already translated by istiod. It is turned into the same
model the rest of the tool reads, with the references made explicit: endpoints and policy references become
labels (`svc.ambientctl.io/…`, `policy.ambientctl.io/…`), waypoint references become `istio.io/use-waypoint`
labels and a waypoint Gateway, and the policies are evaluated in ztunnel's form as they are (never re-translated).
"""

from __future__ import annotations

from typing import Any

from ambientctl.evidence.configdump import ZtunnelConfig, parse_config_dump
from ambientctl.model import Cluster
from ambientctl.model import objects as o

SVC_LABEL = "svc.ambientctl.io/"
POLICY_LABEL = "policy.ambientctl.io/"
UNKNOWN_WAYPOINT = "ambientctl.io/unknown-waypoint"  # a waypoint reference ztunnel holds but cannot resolve


def looks_like_ztunnel_state(doc: Any) -> bool:
    if not isinstance(doc, dict) or "kind" in doc:
        return False
    if "workloads" in doc:  # current dumps and local config
        return any(k in doc for k in ("services", "policies", "certificates", "workloadState"))
    return "by_addr" in doc or "by_uid" in doc  # 2023 dumps (IP- and uid-keyed maps)


def _meta(kind: str, name: str, ns: str = "", labels: dict[str, str] | None = None, origin: str = "") -> o.Meta:
    return o.Meta(kind=kind, name=name, namespace=ns, labels=dict(labels or {}), origin=origin)


def cluster_from_ztunnel_state(doc: dict[str, Any], origin: str) -> Cluster:
    cfg: ZtunnelConfig = parse_config_dump(doc, origin)
    cluster = Cluster(source=f"ztunnel state {origin}")
    cluster.istio_version_hint = cfg.version or ""
    by_uid: dict[str, o.Pod] = {}
    namespaces: dict[str, set[str]] = {}
    for w in cfg.workloads:
        ip = w.ips[0] if w.ips else ""
        labels = {"app": w.workload_name or w.name}
        if w.name.startswith("ztunnel") and w.namespace == "istio-system":
            labels["app"] = "ztunnel"
        pod = o.Pod(meta=_meta("Pod", w.name, w.namespace, labels, origin), node_name=w.node, ip=ip, ips=list(w.ips),
                    service_account=w.service_account or "default", phase="Running",
                    ready=w.status in ("", "Healthy"), owner_kind=(w.workload_type or "").capitalize(),
                    owner_name=w.workload_name or "")
        if w.protocol == "HBONE":
            pod.meta.annotations["ambient.istio.io/redirection"] = "enabled"
        by_uid[w.uid] = pod
        namespaces.setdefault(w.namespace, set()).add(w.protocol)
        for key in w.authorization_policies:
            pod.meta.labels[POLICY_LABEL + key.replace("/", ".")] = "1"
    for ns, protocols in namespaces.items():
        ambient = "HBONE" in protocols
        cluster.add(o.Namespace(_meta("Namespace", ns, labels={"istio.io/dataplane-mode": "ambient"} if ambient else {},
                                      origin=origin)))
        if ambient:
            for w in cfg.workloads:
                if w.namespace == ns and w.protocol != "HBONE":
                    by_uid[w.uid].meta.labels["istio.io/dataplane-mode"] = "none"
    for node in sorted({w.node for w in cfg.workloads if w.node}):
        cluster.add(o.Node(_meta("Node", node, origin=origin)))

    for s in cfg.services:
        sel = {SVC_LABEL + f"{s.namespace}.{s.name}": "1"}
        for ep in s.endpoints:
            pod = by_uid.get(ep.workload_uid)
            if pod is not None:
                pod.meta.labels.update(sel)
        ports = [o.ServicePort(port=p, target_port=t or p) for p, t in sorted(s.ports.items())]
        cluster.add(o.Service(meta=_meta("Service", s.name, s.namespace, origin=origin), cluster_ips=list(s.vips),
                              ports=ports, selector=sel))

    _waypoints(cfg, cluster, by_uid, origin)
    for pod in by_uid.values():
        cluster.add(pod)

    if cfg.policies is not None:
        cluster.ztunnel_policies = []
        for p in cfg.policies:
            raw = {"name": p.name, "namespace": p.namespace, "scope": p.scope, "action": p.action, "rules": p.rules,
                   "dryRun": p.dry_run}
            selector = {POLICY_LABEL + f"{p.namespace}.{p.name}": "1"} if p.scope.lower().startswith("workload") \
                else None
            cluster.ztunnel_policies.append((raw, selector))
    return cluster


def _waypoints(cfg: ZtunnelConfig, cluster: Cluster, by_uid: dict[str, o.Pod], origin: str) -> None:
    """Waypoint references (`<network>/<vip>` or `<ns>/<hostname>`) -> a waypoint Gateway per referenced service,
    `istio.io/use-waypoint` labels on the referencing workloads and services."""
    def resolve(dest: str):  # type: ignore[no-untyped-def]
        head, _, tail = dest.partition("/")
        svc = cfg.service_by_vip(tail) if tail and (tail[0].isdigit() or ":" in tail) else None
        if svc is None:
            svc = next((s for s in cfg.services if s.namespace == head and s.hostname == tail), None)
        return svc

    gateways: dict[str, o.Gateway] = {}
    bound: dict[str, list[o.Pod]] = {}

    def gateway_for(dest: str) -> o.Gateway | None:
        svc = resolve(dest)
        if svc is None:
            return None
        key = f"{svc.namespace}/{svc.name}"
        if key not in gateways:
            gw = o.Gateway(meta=_meta("Gateway", svc.name, svc.namespace, {"istio.io/waypoint-for": "all"}, origin),
                           class_name="istio-waypoint", listeners=[o.Listener("mesh", 15008, "HBONE")],
                           addresses=list(svc.vips[:1]))
            gateways[key] = gw
            for ep in svc.endpoints:
                pod = by_uid.get(ep.workload_uid)
                if pod is not None:
                    pod.meta.labels["gateway.networking.k8s.io/gateway-name"] = svc.name
                    pod.meta.labels["istio.io/gateway-name"] = svc.name
        return gateways[key]

    def bind(meta: o.Meta, gw: o.Gateway) -> None:
        meta.labels["istio.io/use-waypoint"] = gw.meta.name
        meta.labels["istio.io/use-waypoint-namespace"] = gw.meta.namespace

    for w in cfg.workloads:
        if w.waypoint:
            gw = gateway_for(w.waypoint)
            if gw is not None:
                bind(by_uid[w.uid].meta, gw)
                bound.setdefault(gw.meta.key, []).append(by_uid[w.uid])
            else:  # ztunnel cannot resolve it either: it fails closed (`unknown waypoint`)
                by_uid[w.uid].meta.annotations[UNKNOWN_WAYPOINT] = w.waypoint
    for s in cfg.services:
        if s.waypoint:
            gw = gateway_for(s.waypoint)
            svc = cluster.service(s.namespace, s.name)
            if svc is not None:
                if gw is not None:
                    bind(svc.meta, gw)
                else:
                    svc.meta.annotations[UNKNOWN_WAYPOINT] = s.waypoint
    # 1.18–1.21 bind by Gateway, not label: a waypoint all of whose workloads share one service account (and that
    # other workloads of its namespace do not use) served that account (istio.io/for-service-account).
    for key, pods in bound.items():
        gw = gateways[key]
        sas = {p.service_account for p in pods}
        ids = {id(p) for p in pods}
        others = [p for p in by_uid.values() if p.meta.namespace == gw.meta.namespace and id(p) not in ids
                  and p.meta.annotations.get("ambient.istio.io/redirection") == "enabled"]
        if len(sas) == 1 and any(p.service_account not in sas for p in others):
            gw.meta.annotations["istio.io/for-service-account"] = next(iter(sas))
    for gw in gateways.values():
        cluster.add(gw)
