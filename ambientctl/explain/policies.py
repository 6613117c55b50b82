"""Which AuthorizationPolicies and PeerAuthentications apply to a pod, and *where* each is enforced.

Attachment decides the enforcer (research/istio.md §4.4, istio.io l4-policy table): selector and namespace
policies go to the destination ztunnel (never to waypoints: `policyattachment.go` "waypoints never use
selector"); `targetRefs` policies go to the waypoint of the referenced Service/Gateway/GatewayClass only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ambientctl.mesh.view import MeshView, Waypoint, WaypointBinding
from ambientctl.model import objects as o

if TYPE_CHECKING:
    from ambientctl.authz.waypoint import Attachment


def selects(selector: dict[str, str] | None, labels: dict[str, str]) -> bool:
    return selector is not None and all(labels.get(k) == v for k, v in selector.items())


def enforced_by_waypoint(view: MeshView, wp: Waypoint, services: tuple[tuple[str, str, str], ...] = (),
                         served: o.Pod | None = None) -> tuple[list[Attachment], list[str]]:
    """The policies waypoint `wp` enforces for requests to `services` (targetRefs; kind, namespace, name) and to
    the workload `served` (2022: the served workload's selector policies), and notes on those it ignores — the
    one place describe and explain ask (authz/waypoint.py `waypoint_policies` has the rules per era). 1.18–1.21
    selector policies match the waypoint's pod labels, also when the snapshot holds no waypoint pod."""
    from ambientctl.authz.waypoint import WaypointTarget, waypoint_policies

    served_key = (served.meta.namespace, tuple(sorted(served.meta.labels.items()))) if served is not None else ("", ())
    cache = view.__dict__.setdefault("_waypoint_policy_cache", {})
    ck = (wp.key, services, served_key)
    if ck not in cache:  # the same waypoint/service pair recurs across explain --matrix cells
        target = WaypointTarget(wp.namespace, wp.name, wp.gateway.class_name, list(services),
                                view.waypoint_pod_labels(wp), served_key[0], dict(served_key[1]))
        cache[ck] = waypoint_policies(view.cluster.authorization_policies, target, view.authz_settings)
    return cache[ck]  # type: ignore[no-any-return]


def attached_policies(
    view: MeshView,
    pod: o.Pod,
    mode: str,
    wl: WaypointBinding,
    svcs: list[tuple[o.Service, WaypointBinding]],
    own_waypoint: Waypoint | None,
) -> list[dict[str, Any]]:
    root = view.install.root_namespace
    ns = pod.meta.namespace
    candidates = view.cluster.of_kind("AuthorizationPolicy", ns)
    if root != ns:
        candidates = candidates + view.cluster.of_kind("AuthorizationPolicy", root)
    used_waypoints = {b.waypoint.key: b.waypoint for b in [wl] + [b for _, b in svcs] if b.waypoint}
    # 1.18–1.21 and 2022: one waypoint serves every call to the pod and ztunnel skips policy for its traffic
    # (ztunnel 1.20 inbound.rs "request from waypoint, skipping policy"; 2022 ztunnelgen.go skips RBAC for the
    # waypoint's identity), so what that waypoint enforces is the pod's policy.
    legacy_wp = (wl.waypoint or own_waypoint) if not view.version.current else None
    by_waypoint: dict[str, str] = {}
    if legacy_wp is not None:
        attached, _ = enforced_by_waypoint(view, legacy_wp, served=pod if own_waypoint is None else None)
        by_waypoint = {a.policy.meta.key: a.why for a in attached}
        wp_ns = legacy_wp.namespace
        if wp_ns not in (ns, root):
            candidates = candidates + view.cluster.of_kind("AuthorizationPolicy", wp_ns)
    out = []
    for ap in candidates:
        if legacy_wp is not None and ap.meta.key in by_waypoint:
            entry: dict[str, Any] | None = {
                "enforcedBy": "waypoint", "enforcer": legacy_wp.key,
                "scope": "this waypoint" if own_waypoint is not None else f"waypoint {legacy_wp.key}",
                "why": by_waypoint[ap.meta.key] + (f"; waypoint {legacy_wp.key} serves every call to this pod"
                                                    if own_waypoint is None else "")}
        else:
            entry = _attachment(view, ap, pod, mode, root, svcs, used_waypoints, own_waypoint)
            if entry is not None and legacy_wp is not None and own_waypoint is None and \
                    entry["enforcedBy"] == "ztunnel":
                entry["skippedFor"] = legacy_wp.key
                entry["why"] += (f"; but ztunnel skips policy for traffic from waypoint {legacy_wp.key}, which every "
                                 f"call to this pod goes through in Istio {view.version}")
        if entry is not None:
            entry.update(
                name=ap.meta.name,
                namespace=ap.meta.namespace,
                action=ap.action,
                dryRun=ap.dry_run,
                rules=ap.rules if ap.rules is not None else [],
                says=summarize(ap),
            )
            if entry["enforcedBy"] == "ztunnel":
                t = view.authz_index.translations.get(ap.meta.key)
                if t is not None and (t.notes or t.effect):
                    entry.update(notes=list(t.notes), effectAtZtunnel=t.effect or None)
            out.append({k: entry[k] for k in ("name", "namespace", "action", "enforcedBy", "enforcer", "scope",
                                               "says", "dryRun", "rules", "why", "notes", "effectAtZtunnel",
                                               "skippedFor")
                        if k in entry})
    return out


def _attachment(view: MeshView, ap: o.AuthorizationPolicy, pod: o.Pod, mode: str, root: str,
                svcs: list[tuple[o.Service, WaypointBinding]], used: dict[str, Waypoint],
                own_waypoint: Waypoint | None) -> dict[str, Any] | None:
    labels = pod.meta.labels
    ns = pod.meta.namespace
    if ap.target_refs:
        for ref in ap.target_refs:
            ref_ns = ref.namespace or ap.meta.namespace
            if own_waypoint is not None and ref.kind == "Service":
                svc = view.cluster.service(ref_ns, ref.name)
                if svc is not None and view.service_waypoint(svc).waypoint is own_waypoint:
                    return {"enforcedBy": "waypoint", "enforcer": own_waypoint.key, "scope": f"service {svc.meta.key}",
                            "why": f"targets Service {svc.meta.key}, which uses this waypoint"}
            if ref.kind == "Service" and ref_ns == ns:
                match = next(((s, b) for s, b in svcs if s.meta.name == ref.name), None)
                if match is None:
                    continue
                s, b = match
                if b.waypoint is None:
                    return {"enforcedBy": "none", "enforcer": None, "scope": f"service {s.meta.key}",
                            "why": f"targets Service {s.meta.key}, which has no waypoint: targetRefs policies are "
                                   "only enforced by waypoints, so this policy has no effect"}
                return {"enforcedBy": "waypoint", "enforcer": b.waypoint.key, "scope": f"service {s.meta.key}",
                        "why": f"targets Service {s.meta.key}; enforced by its waypoint {b.waypoint.key} on "
                               "traffic addressed to the service"}
            if ref.kind == "Gateway" and f"{ref_ns}/{ref.name}" in used:
                wp = used[f"{ref_ns}/{ref.name}"]
                return {"enforcedBy": "waypoint", "enforcer": wp.key, "scope": f"waypoint {wp.key}",
                        "why": f"targets Gateway {wp.key}, the waypoint this pod's traffic uses: applies to all "
                               "traffic through it"}
            if own_waypoint is not None and ref.kind == "Gateway" and f"{ref_ns}/{ref.name}" == own_waypoint.key:
                return {"enforcedBy": "waypoint", "enforcer": own_waypoint.key, "scope": "this waypoint",
                        "why": "targets this waypoint's Gateway: enforced here on all traffic it handles"}
            wp = next((w for w in used.values() if w.gateway.class_name == ref.name), None)
            if ref.kind == "GatewayClass" and ap.meta.namespace == root and wp is not None:
                return {"enforcedBy": "waypoint", "enforcer": wp.key, "scope": f"every {ref.name} waypoint",
                        "why": f"targets GatewayClass {ref.name} from the root namespace {root}: every "
                               "waypoint of that class enforces it"}
        return None
    if ap.selector is not None:
        if not selects(ap.selector, labels) or ap.meta.namespace not in (ns, root):
            return None
        scope = "workload selector" + (" (root namespace: all namespaces)" if ap.meta.namespace == root != ns else "")
        if own_waypoint is not None:
            return {"enforcedBy": "none", "enforcer": None, "scope": scope,
                    "why": "selects a waypoint pod, but waypoints never apply selector policies (use targetRefs "
                           "to the Gateway instead; istioctl analyze IST0166)"}
    elif ap.meta.namespace == ns:
        scope = f"namespace {ns}"
    elif ap.meta.namespace == root:
        scope = "mesh-wide (root namespace)"
    else:
        return None
    if mode == "sidecar":
        return {"enforcedBy": "sidecar", "enforcer": f"{pod.meta.key} istio-proxy", "scope": scope,
                "why": "enforced by the pod's own sidecar"}
    if mode != "ambient":
        return {"enforcedBy": "none", "enforcer": None, "scope": scope,
                "why": "the pod is not in the mesh, so nothing enforces this policy for it"}
    zt = view.ztunnel_for(pod)
    return {"enforcedBy": "ztunnel", "enforcer": zt.meta.key if zt else None, "scope": scope,
            "why": "enforced by the destination ztunnel (L4 only)"}


def _fmt_values(key: str, values: Any) -> str:
    if isinstance(values, list):
        return f"{key} [{', '.join(str(v) for v in values)}]"
    return f"{key} {values}"


def summarize(ap: o.AuthorizationPolicy) -> list[str]:
    """One line per rule, in the policy's own words: `from principals [...]; to methods [GET]`."""
    if ap.rules is None or ap.rules == []:
        if ap.action == "ALLOW":
            return ["no rules: matches nothing, so it allows nothing (deny all)"]
        return ["no rules: matches nothing (no effect)"]
    out = []
    for i, rule in enumerate(ap.rules):
        parts = []
        for frm in rule.get("from") or []:
            src = frm.get("source") or {}
            parts.append("from " + ", ".join(_fmt_values(k, v) for k, v in src.items()))
        for to in rule.get("to") or []:
            op = to.get("operation") or {}
            parts.append("to " + ", ".join(_fmt_values(k, v) for k, v in op.items()))
        for cond in rule.get("when") or []:
            vals = cond.get("values") or cond.get("notValues") or []
            neg = "not " if cond.get("notValues") and not cond.get("values") else ""
            parts.append(f"when {cond.get('key')} {neg}in [{', '.join(map(str, vals))}]")
        out.append(f"rule {i}: " + ("; ".join(parts) if parts else "matches every request"))
    return out


def effective_peer_authentication(view: MeshView, pod: o.Pod) -> dict[str, Any]:
    """Effective mTLS mode: workload > namespace > mesh (root namespace); UNSET inherits; oldest wins on
    conflicts; DISABLE is ignored in ambient — HBONE is always mTLS (research/istio.md §4.6)."""
    root = view.install.root_namespace
    ns = pod.meta.namespace

    def oldest(items: list[o.PeerAuthentication]) -> o.PeerAuthentication | None:
        return min(items, key=lambda p: (p.meta.created or "~", p.meta.name)) if items else None

    levels = [
        ("workload", oldest([p for p in view.cluster.of_kind("PeerAuthentication", ns)
                             if p.selector and selects(p.selector, pod.meta.labels)])),
        ("namespace", oldest([p for p in view.cluster.of_kind("PeerAuthentication", ns) if not p.selector])
         if ns != root else None),
        ("mesh", oldest([p for p in view.cluster.of_kind("PeerAuthentication", root) if not p.selector])),
    ]
    mode, source = "PERMISSIVE", "default: no PeerAuthentication applies"
    for level, pa in reversed(levels):
        if pa is not None and pa.mode not in ("", "UNSET"):
            mode, source = pa.mode, f"{level} {pa.meta.key}"
    doc: dict[str, Any] = {"mode": mode, "source": source}
    wl = levels[0][1]
    if wl is not None and wl.port_level:
        doc["portLevel"] = {str(p): m for p, m in sorted(wl.port_level.items())}
    if mode == "DISABLE":
        doc["effectiveInAmbient"] = "PERMISSIVE"
        doc["note"] = "DISABLE is ignored in ambient mode: HBONE is always mTLS and plaintext is accepted"
    elif mode == "STRICT":
        doc["note"] = ("plaintext (identity-less) connections are denied by the destination ztunnel "
                       f"({root}/istio_converted_static_strict)")
    return doc
