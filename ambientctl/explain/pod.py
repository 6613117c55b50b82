"""`describe pod`: everything ambient does to one pod, as a plain dict (kind PodDescription).

What `istioctl x describe pod` cannot say for ambient pods: membership and why, node and ztunnel, identity,
services and their waypoints, which policies apply and *where each is enforced*, PeerAuthentication, routes
and findings. Pure: the CLI renders it as text, JSON or YAML.
"""

from __future__ import annotations

from typing import Any

from ambientctl.explain import findings as f
from ambientctl.explain.policies import attached_policies, effective_peer_authentication
from ambientctl.mesh.refs import workload_name
from ambientctl.mesh.routes import routes_for
from ambientctl.mesh.view import MeshView, Waypoint, WaypointBinding, spiffe
from ambientctl.model import objects as o


def _dns_capture(view: MeshView, pod: o.Pod) -> dict[str, Any]:
    """Whether ztunnel's DNS proxy answers this pod (mesh/egress.py: istio-cni setting, pod annotation, version)."""
    from ambientctl.mesh.egress import dns_capture

    dc = dns_capture(pod, view.install.cni_settings, view.version.at_least(1, 25))
    return {"on": dc.on, "why": dc.why} | ({"caveat": dc.caveat} if dc.caveat else {})


def describe_pod(view: MeshView, pod: o.Pod) -> dict[str, Any]:
    doc = describe_pod_facts(view, pod)
    found = f.pod_findings(view, pod, doc)
    out = {k: v for k, v in doc.items() if k not in ("istioVersion", "istioVersionSource", "source", "notes")}
    out["findings"] = [x.as_dict() for x in found]
    out.update({k: v for k, v in doc.items() if k in ("istioVersion", "istioVersionSource", "source", "notes")})
    return out


def describe_pod_facts(view: MeshView, pod: o.Pod) -> dict[str, Any]:
    """The PodDescription body without findings (what the findings checks read)."""
    enr = view.enrollment(pod)
    ambient = enr.mode == "ambient"
    zt = view.ztunnel_for(pod)
    services = view.services_for(pod)
    svc_bindings = [(s, view.service_waypoint(s)) for s in services]
    wl_binding = view.workload_waypoint(pod)
    own_waypoint = view.waypoint_of_pod(pod)
    kind, wname = workload_name(pod)

    doc: dict[str, Any] = {
        "pod": {
            "name": pod.meta.name,
            "namespace": pod.meta.namespace,
            "node": pod.node_name,
            "ip": pod.ip,
            "ips": pod.ips,
            "serviceAccount": pod.service_account,
            "workload": {"kind": kind, "name": wname},
            "phase": pod.phase,
            "ready": pod.ready,
        },
        # A mesh identity only exists for pods that speak mTLS: captured, sidecar, waypoint or gateway pods.
        "identity": view.identity(pod) if enr.mode in ("ambient", "sidecar") or enr.role in ("waypoint", "gateway")
        else None,
        "mesh": {
            "mode": enr.mode,
            "reason": enr.reason,
            "role": enr.role,
            "redirection": enr.redirection or None,
            "captured": ambient and enr.redirection == "enabled",
            "dnsCapture": _dns_capture(view, pod) if ambient and view.version.current else None,
        },
        "serviceEntriesExist": bool(view.cluster.service_entries),
        "ztunnel": _ztunnel(zt) if (ambient or enr.role == "waypoint") else None,
        "services": [_service(view, s, b) for s, b in svc_bindings],
        "waypoint": _effective_waypoint(view, wl_binding, svc_bindings) if ambient else None,
    }
    if own_waypoint is not None:
        doc["waypointFor"] = _waypoint_serves(view, own_waypoint)
    doc["policies"] = attached_policies(view, pod, enr.mode, wl_binding, svc_bindings, own_waypoint)
    doc["peerAuthentication"] = effective_peer_authentication(view, pod)
    doc["routes"] = _routes(view, svc_bindings)
    doc["istioVersion"] = view.version.label
    doc["istioVersionSource"] = view.install.version_source
    doc["source"] = view.cluster.source
    notes = list(view.install.notes)
    notes += [f"{kind} could not be read: {why}" for kind, why in view.cluster.unreadable.items()]
    if notes:
        doc["notes"] = notes
    return doc


def _ztunnel(zt: o.Pod | None) -> dict[str, Any] | None:
    if zt is None:
        return None
    return {"name": zt.meta.name, "namespace": zt.meta.namespace, "node": zt.node_name, "ip": zt.ip,
            "ready": zt.ready}


def _binding(view: MeshView, b: WaypointBinding) -> dict[str, Any] | None:
    if b.waypoint is None:
        return None
    wp = b.waypoint
    return {
        "name": wp.name,
        "namespace": wp.namespace,
        "ready": wp.ready,
        "trafficType": wp.traffic_type,
        "identity": spiffe(view.install.trust_domain, wp.namespace, wp.service_account),
        "boundBy": b.bound_by,
    }


def _service(view: MeshView, s: o.Service, b: WaypointBinding) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": s.meta.name,
        "namespace": s.meta.namespace,
        "clusterIPs": [ip for ip in s.cluster_ips if ip != "None"],
        "ports": [
            {"name": p.name, "port": p.port, "targetPort": p.target_port, "protocol": p.protocol}
            | ({"appProtocol": p.app_protocol} if p.app_protocol else {})
            for p in s.ports
        ],
        "waypoint": _binding(view, b),
    }
    if b.problem:
        d["waypointProblem"] = {"requested": b.requested, "reason": b.problem_reason or None, "message": b.problem_text}
    return d


def _effective_waypoint(view: MeshView, wl: WaypointBinding, svcs: list[tuple[o.Service, WaypointBinding]]) -> Any:
    """The waypoint traffic *to this pod* goes through. Since 1.22 it depends on how the client addresses it:
    a service VIP uses the service's waypoint, a pod IP only the workload waypoint."""
    if wl.waypoint is not None:
        d = _binding(view, wl)
        assert d is not None
        d["for"] = "all traffic to the pod" if wl.scope == "all" else "traffic addressed to the pod IP"
        if wl.scope != "all":
            d["services"] = [f"{s.meta.key}" for s, b in svcs if b.waypoint is wl.waypoint]
        return d
    bound = [(s, b) for s, b in svcs if b.waypoint is not None]
    if not bound:
        return None
    b = bound[0][1]
    d = _binding(view, b)
    assert d is not None
    d["for"] = "traffic addressed to service " + ", ".join(
        s.meta.name for s, x in bound if x.waypoint is b.waypoint
    ) + " (not to the pod IP)"
    d["services"] = [s.meta.key for s, x in bound if x.waypoint is b.waypoint]
    return d


def _waypoint_serves(view: MeshView, wp: Waypoint) -> dict[str, Any]:
    """For a waypoint pod: which services and workloads send their traffic through it."""
    services, workloads = [], []
    for s in view.cluster.services:
        b = view.service_waypoint(s)
        if b.waypoint is wp:
            services.append(s.meta.key)
    if (view.version.current and wp.traffic_type in ("workload", "all")) or not view.version.current:
        for p in view.cluster.pods:
            if view.enrollment(p).mode == "ambient" and view.workload_waypoint(p).waypoint is wp:
                workloads.append(p.meta.key)
    return {
        "gateway": wp.key,
        "gatewayClass": wp.gateway.class_name,
        "trafficType": wp.traffic_type,
        "ready": wp.ready,
        "servesServiceAccount": wp.serves_service_account or None,
        "services": services,
        "workloads": workloads,
    }


def _routes(view: MeshView, svcs: list[tuple[o.Service, WaypointBinding]]) -> list[dict[str, Any]]:
    out = []
    for s, b in svcs:
        for r in routes_for(view.cluster, s):
            applied = b.waypoint is not None
            out.append({
                "kind": r.kind,
                "name": r.obj.meta.name,  # type: ignore[attr-defined]
                "namespace": r.obj.meta.namespace,  # type: ignore[attr-defined]
                "service": s.meta.key,
                "host": r.host,
                "appliedBy": f"waypoint {b.waypoint.key}" if applied and b.waypoint else None,
                "summary": _route_summary(r.kind, r.obj),
            })
    return out


def _route_summary(kind: str, obj: Any) -> str:
    parts = []
    if kind == "VirtualService":
        for rule in obj.http:
            dests = rule.get("route") or []
            if len(dests) > 1 or any("weight" in d for d in dests):
                parts.append(" / ".join(
                    f"{d.get('weight', 100)}% {d.get('destination', {}).get('host', '?')}"
                    + (f" subset {d['destination']['subset']}" if d.get("destination", {}).get("subset") else "")
                    for d in dests))
            fault = rule.get("fault") or {}
            if "delay" in fault:
                dl = fault["delay"]
                pct = (dl.get("percentage") or {}).get("value", 100)
                parts.append(f"fault: delay {dl.get('fixedDelay', '?')} on {pct:g}% of requests")
            if "abort" in fault:
                ab = fault["abort"]
                pct = (ab.get("percentage") or {}).get("value", 100)
                parts.append(f"fault: abort with HTTP {ab.get('httpStatus', '?')} on {pct:g}% of requests")
            if rule.get("timeout"):
                parts.append(f"timeout {rule['timeout']}")
            if rule.get("retries"):
                rt = rule["retries"]
                parts.append(f"retries {rt.get('attempts', '?')}" + (f" per try {rt['perTryTimeout']}"
                                                                     if rt.get("perTryTimeout") else ""))
        return "; ".join(parts) or "routes to the service itself"
    if kind == "DestinationRule":
        subsets = ", ".join(
            f"{s.get('name')} ({', '.join(f'{k}={v}' for k, v in (s.get('labels') or {}).items())})"
            for s in obj.subsets
        )
        lb = ((obj.traffic_policy or {}).get("loadBalancer") or {}).get("simple")
        return "; ".join(x for x in (f"subsets {subsets}" if subsets else "", f"load balancer {lb}" if lb else "") if x)
    # HTTPRoute / GRPCRoute
    for rule in obj.rules:
        refs = rule.get("backendRefs") or []
        if refs:
            parts.append(" / ".join(f"{r.get('weight', 1)} {r.get('name', '?')}" for r in refs))
    return "; ".join(parts) or "routes to the service itself"
