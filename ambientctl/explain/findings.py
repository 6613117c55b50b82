"""Findings: misconfigurations that change what happens to traffic, each with a stable id, a severity and a
sentence that says the effect (not just the symptom). Sources for each rule are in research/istio.md §8."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ambientctl.authz.evaluate import Connection, Identity
from ambientctl.mesh.view import DATAPLANE_MODE, Enrollment, MeshView, WaypointBinding
from ambientctl.model import objects as o

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  # error | warning | info
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "severity": self.severity, "message": self.message}


def pod_findings(
    view: MeshView,
    pod: o.Pod,
    enr: Enrollment,
    zt: o.Pod | None,
    wl: WaypointBinding,
    svcs: list[tuple[o.Service, WaypointBinding]],
    doc: dict[str, Any],
) -> list[Finding]:
    out: list[Finding] = []
    ns = pod.meta.namespace
    ns_ambient = view.cluster.namespace_labels(ns).get(DATAPLANE_MODE) == "ambient"

    if pod.host_network:
        out.append(Finding(
            "host-network", "warning",
            "hostNetwork pod: never captured by ztunnel. As a client it connects in plaintext (no identity), so "
            "it is denied wherever PeerAuthentication is STRICT or an ALLOW policy requires an identity; calls to it "
            "by IP reach the node, not a mesh workload."))
    if enr.mode == "sidecar" and ns_ambient:
        out.append(Finding(
            "sidecar-in-ambient-namespace", "warning",
            f"pod has an Istio sidecar although namespace {ns} is in ambient mode: it keeps using its sidecar, is "
            "not captured by ztunnel, and as a client it bypasses waypoints (L7 policies on waypoints do not see "
            "its requests; istio#51445)."))
    if enr.mode == "ambient":
        if zt is None:
            out.append(Finding(
                "no-ztunnel-on-node", "error",
                f"no ztunnel pod runs on node {pod.node_name or '(unscheduled)'}: this pod's traffic cannot be "
                "captured or forwarded (istio-cni reports 'no ztunnel connection')."))
        elif not zt.ready:
            out.append(Finding("ztunnel-not-ready", "error",
                               f"ztunnel {zt.meta.key} on node {pod.node_name} is not ready."))
        if enr.redirection and enr.redirection != "enabled":
            out.append(Finding(
                "not-captured", "warning",
                f"ambient.istio.io/redirection={enr.redirection}: istio-cni has not finished setting up "
                "redirection, so traffic still bypasses ztunnel."))

    for b in [wl] + [b for _, b in svcs]:
        if b.problem and not b.silent:
            effect = ("traffic is sent directly to the destination, so L7 policy and routing of that waypoint are "
                      "silently not applied (fail open)")
            out.append(Finding(
                "waypoint-not-used", "warning",
                f"{b.subject}: {b.bound_by} asks for waypoint {b.requested}, but istiod does not bind it "
                f"({b.problem_reason}: {b.problem}); {effect}."))

    for p in doc.get("policies", []):
        if p["enforcedBy"] == "none" and p["why"].startswith("targets Service"):
            out.append(Finding("policy-without-waypoint", "warning",
                               f"AuthorizationPolicy {p['namespace']}/{p['name']} {p['why']}."))
        elif p["enforcedBy"] == "none" and "selects a waypoint pod" in p["why"]:
            out.append(Finding("selector-policy-on-waypoint", "warning",
                               f"AuthorizationPolicy {p['namespace']}/{p['name']} {p['why']}."))

    for p in doc.get("policies", []):
        effect = p.get("effectAtZtunnel")
        key = f"{p['namespace']}/{p['name']}"
        if effect == "deny-all":
            out.append(Finding(
                "l7-rule-dropped-at-ztunnel", "error",
                f"AuthorizationPolicy {key} is enforced by ztunnel but every rule needs HTTP attributes: istiod drops "
                "them, the ALLOW policy matches nothing, and all traffic to this pod is denied. Attach it to a "
                "waypoint with targetRefs instead."))
        elif effect == "narrower":
            out.append(Finding("l7-rule-dropped-at-ztunnel", "warning",
                               f"AuthorizationPolicy {key}: ztunnel drops its rules with HTTP attributes, so it "
                               "allows less than written."))
        elif effect in ("broader", "no-effect"):
            out.append(Finding(
                "l7-rule-dropped-at-ztunnel", "warning",
                f"DENY AuthorizationPolicy {key} has HTTP attributes ztunnel cannot see: "
                + ("it has no effect here." if effect == "no-effect" else "it is enforced on its L4 part alone and "
                   "denies more than written.")))
        elif effect == "not-sent" and p["action"] in ("CUSTOM", "AUDIT"):
            out.append(Finding("action-not-supported-at-ztunnel", "warning",
                               f"AuthorizationPolicy {key} uses {p['action']}, which ztunnel does not support: it is "
                               "not enforced for this pod."))
        elif effect == "enforced-by-old-ztunnel":
            from ambientctl.explain.decide import dry_run_old_ztunnel_message

            out.append(Finding("dry-run-enforced-by-old-ztunnel", "error", dry_run_old_ztunnel_message(view, key)))
        elif effect == "enforced-dry-run":
            out.append(Finding("dry-run-enforced", "warning",
                               f"AuthorizationPolicy {key} is marked dry-run, but Istio {view.version} istiod sends it "
                               "to ztunnel as a real policy: it is enforced."))

    wp = doc.get("waypoint")
    if wp and enr.mode == "ambient" and any(p["enforcedBy"] == "ztunnel" and p["action"] == "ALLOW"
                                             for p in doc.get("policies", [])):
        # Evaluate what the destination ztunnel does with a connection from the waypoint (research §4.4).
        port = next((x["targetPort"] for s in doc["services"] for x in s["ports"] if isinstance(x["targetPort"], int)),
                    1)
        conn = Connection("0.0.0.0", pod.ip or "0.0.0.0", port, Identity.parse(wp["identity"]))
        z = view.authz_index.evaluate(pod.meta.namespace, pod.meta.labels, conn)
        if not z.allowed and "defaultDeny" in z.decided_by:
            out.append(Finding(
                "waypoint-identity-not-allowed", "error",
                f"traffic through waypoint {wp['namespace']}/{wp['name']} reaches this pod's ztunnel with the "
                f"waypoint's identity ({wp['identity']}), which no ALLOW policy enforced here admits "
                f"({', '.join(z.decided_by['defaultDeny'])}): it is denied with 'allow policies exist, but none "
                "allowed'. Allow the waypoint's principal, or move the rules to a targetRefs policy on the waypoint."))

    for r in doc.get("routes", []):
        if r["kind"] in ("VirtualService", "HTTPRoute", "GRPCRoute") and r["appliedBy"] is None and \
                enr.mode == "ambient":
            out.append(Finding(
                "route-without-waypoint", "warning",
                f"{r['kind']} {r['namespace']}/{r['name']} routes {r['service']}, but that service has no waypoint: "
                "ztunnel ignores L7 routing, so it is not applied."))

    from ambientctl.explain.wire import networkpolicy_findings

    out += networkpolicy_findings(view, pod)

    from ambientctl.explain.egress import egress_findings

    out += [Finding(**x) for x in egress_findings(view, pod)]

    pa = doc.get("peerAuthentication") or {}
    if pa.get("mode") == "DISABLE" and enr.mode == "ambient":
        out.append(Finding("peer-authentication-disable-ignored", "info",
                           f"PeerAuthentication {pa['source']} sets DISABLE, which ambient ignores: HBONE stays mTLS "
                           "and plaintext is accepted as under PERMISSIVE."))
    return out
