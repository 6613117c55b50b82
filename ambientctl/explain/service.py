"""`describe service` and `describe waypoint`: what binds to a waypoint and why, per traffic type, and what it
enforces — as plain dicts (kinds ServiceDescription, WaypointDescription), from the same binding (mesh/view.py),
policy attachment (explain/policies.py `enforced_by_waypoint`) and findings (explain/findings.py) that describe pod
and explain use. The condition is the `istio.io/WaypointBound` istiod writes (MeshView.waypoint_bound).
"""

from __future__ import annotations

from typing import Any

from ambientctl.explain import findings as f
from ambientctl.explain.pod import _routes
from ambientctl.explain.policies import enforced_by_waypoint, summarize
from ambientctl.mesh.view import WAYPOINT_FOR, MeshView, Waypoint, WaypointBinding, spiffe
from ambientctl.model import objects as o


def _footer(view: MeshView, doc: dict[str, Any]) -> dict[str, Any]:
    doc["istioVersion"] = view.version.label
    doc["istioVersionSource"] = view.install.version_source
    doc["source"] = view.cluster.source
    return doc


def _condition(view: MeshView, b: WaypointBinding, svc: o.Service | None) -> dict[str, Any] | None:
    reason, message = view.waypoint_bound(b, svc)
    if reason is None and message is None:
        return None
    return {"type": "istio.io/WaypointBound", "status": b.waypoint is not None, "reason": reason, "message": message}


def _binding_doc(view: MeshView, b: WaypointBinding, svc: o.Service | None = None) -> dict[str, Any]:
    return {"waypoint": b.waypoint.key if b.waypoint else None, "requested": b.requested or None,
            "boundBy": b.bound_by or None, "condition": _condition(view, b, svc)}


def _policy_doc(att: Any) -> dict[str, Any]:
    ap = att.policy
    return {"name": ap.meta.name, "namespace": ap.meta.namespace, "action": ap.action, "dryRun": ap.dry_run,
            "why": att.why, "says": summarize(ap)}


def _identity(view: MeshView, wp: Waypoint) -> str:
    return spiffe(view.install.trust_domain, wp.namespace, wp.service_account)


# --- service -------------------------------------------------------------------------------------------------------

def describe_service(view: MeshView, svc: o.Service) -> dict[str, Any]:
    b = view.service_waypoint(svc)
    wp = b.waypoint
    pods = sorted(view.pods_for(svc), key=lambda p: p.meta.name)
    use_ingress, ingress_why = view.ingress_use_waypoint(svc.meta.labels, svc.meta.namespace)
    service_traffic = _binding_doc(view, b, svc) | {"scope": "traffic addressed to the service's VIP"
                                                    if view.version.current else "all traffic to its pods"}
    doc: dict[str, Any] = {
        "service": {
            "name": svc.meta.name, "namespace": svc.meta.namespace,
            "clusterIPs": [ip for ip in svc.cluster_ips if ip and ip != "None"],
            "ports": [{"name": p.name, "port": p.port, "targetPort": p.target_port, "protocol": p.protocol}
                      | ({"appProtocol": p.app_protocol} if p.app_protocol else {}) for p in svc.ports],
        },
        "waypoint": (_waypoint_summary(view, wp) if wp else None),
        "bindings": {
            "service": service_traffic,
            # 1.22+: pod-IP traffic uses each endpoint's own (workload) binding, never the service's
            "workload": [{"pod": p.meta.key} | _binding_doc(view, view.workload_waypoint(p)) for p in pods]
            if view.version.current else [],
        },
        "ingress": {"useWaypoint": bool(use_ingress and wp), "why": ingress_why},
        "endpoints": [{"pod": p.meta.key, "mode": view.enrollment(p).mode, "ready": p.ready} for p in pods],
        "policies": [],
        "routes": _routes(view, [(svc, b)]),
        "canaries": [{"name": n, "weight": w} for n, w in b.weighted],
    }
    if wp is not None:
        served = pods[0] if pods and view.version.experimental else None  # 2022: the served workload's policies
        attached, _ = enforced_by_waypoint(view, wp, (("Service", svc.meta.namespace, svc.meta.name),), served)
        doc["policies"] = [_policy_doc(a) | {"enforcedBy": f"waypoint {wp.key}"} for a in attached]
    ref = f.ref("Service", svc.meta.key)
    found = list(f.service_findings(view, svc))
    for p in pods:  # the endpoints' findings about traffic to this service
        found += [x for x in f.own_findings(view, p) if any(
            s.service == ref or (s.destination == f.ref("Pod", p.meta.key) and s.service is None
                                 and (not s.addressed_by or "service" in s.addressed_by) and s.source is None)
            for s in x.flows)]
    doc["findings"] = f.as_dicts(found)
    return _footer(view, doc)


def _waypoint_summary(view: MeshView, wp: Waypoint) -> dict[str, Any]:
    return {"name": wp.name, "namespace": wp.namespace, "ready": wp.ready, "trafficType": wp.traffic_type,
            "identity": _identity(view, wp)}


# --- waypoint ------------------------------------------------------------------------------------------------------

def _traffic_type_why(view: MeshView, wp: Waypoint) -> str:
    if not view.version.current:
        return (f"Istio {view.version} waypoints serve all traffic to the pods they serve (no "
                f"{WAYPOINT_FOR} before 1.22)")
    gw_label = wp.gateway.meta.labels.get(WAYPOINT_FOR)
    if gw_label:
        return f"Gateway label {WAYPOINT_FOR}={gw_label}"
    gc = view.cluster.gateway_classes.get(wp.gateway.class_name)
    if gc is not None and gc.meta.labels.get(WAYPOINT_FOR):
        return f"GatewayClass {gc.meta.name} label {WAYPOINT_FOR}={gc.meta.labels[WAYPOINT_FOR]}"
    return f"default: no {WAYPOINT_FOR} on the Gateway or its class"


def describe_waypoint(view: MeshView, wp: Waypoint) -> dict[str, Any]:
    gw = wp.gateway
    services, workloads, refused = [], [], []
    for s in view.cluster.services:
        b = view.service_waypoint(s)
        if b.waypoint is wp:
            services.append({"service": s.meta.key} | _binding_doc(view, b, s))
        elif b.requested == wp.key and b.waypoint is None and not b.silent:
            refused.append({"object": f.ref("Service", s.meta.key)} | _binding_doc(view, b, s))
    for p in view.cluster.pods:
        if view.enrollment(p).mode != "ambient":
            continue
        b = view.workload_waypoint(p)
        if b.waypoint is wp:
            workloads.append({"pod": p.meta.key} | _binding_doc(view, b))
        elif view.version.current and b.requested == wp.key and b.waypoint is None and not b.silent:
            refused.append({"object": f.ref("Pod", p.meta.key)} | _binding_doc(view, b))
    bound_services = tuple(("Service", *s["service"].split("/", 1)) for s in services)
    attached, notes = enforced_by_waypoint(view, wp, bound_services)  # type: ignore[arg-type]
    if view.version.experimental:  # 2022: the selector policies of each workload it serves
        by_key = {p.meta.key: p for p in view.cluster.pods}
        seen = {a.policy.meta.key for a in attached}
        for w in workloads:
            for a in enforced_by_waypoint(view, wp, bound_services, by_key[w["pod"]])[0]:  # type: ignore[arg-type]
                if a.policy.meta.key not in seen:
                    seen.add(a.policy.meta.key)
                    attached = [*attached, a]
    svc_objs = [view.cluster.service(*s["service"].split("/", 1)) for s in services]
    canaries = []
    for s in view.cluster.services:
        b = view.service_waypoint(s)
        if b.weighted and any(n == wp.key for n, _ in b.weighted):
            canaries.append({"service": s.meta.key, "weighted": [{"name": n, "weight": w} for n, w in b.weighted],
                             "role": "primary" if b.weighted[0][0] == wp.key else "canary"})
    found = list(f.waypoint_findings(view, wp))
    for s in svc_objs:
        if s is not None:
            found += f.service_findings(view, s)
    for p in wp.pods:
        found += f.own_findings(view, p)
    doc: dict[str, Any] = {
        "waypoint": {
            "name": wp.name, "namespace": wp.namespace, "gatewayClass": gw.class_name,
            "ready": wp.ready, "addresses": list(gw.addresses),
            "readyWhy": ("its Gateway has an address (istiod binds only to such waypoints)" if wp.ready else
                         "its Gateway has no address yet: istiod binds nothing to it") if view.version.current else
            ("programmed / a ready pod" if wp.ready else "not programmed and no ready pod"),
            "trafficType": wp.traffic_type, "trafficTypeWhy": _traffic_type_why(view, wp),
            "identity": _identity(view, wp),
            "servesServiceAccount": wp.serves_service_account or None,
            "allowedRoutes": gw.allowed_routes_from,
            "pods": [{"name": p.meta.name, "node": p.node_name, "ip": p.ip, "ready": p.ready} for p in wp.pods],
        },
        "binds": {"service": services, "workload": workloads, "refused": refused},
        "policies": [_policy_doc(a) for a in attached],
        "ignoredPolicies": [{"policy": getattr(n, "policy", ""), "why": str(n)} for n in notes],
        "routes": _routes(view, [(s, view.service_waypoint(s)) for s in svc_objs if s is not None]),
        "canaries": canaries,
        "findings": f.as_dicts(found),
    }
    return _footer(view, doc)
