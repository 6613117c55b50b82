"""Findings: misconfigurations that change what happens to traffic, each produced once, here, for its subject
(a pod, a service or a waypoint), so that every view shows the same finding with the same words:
`describe pod/service/waypoint` show their subject's findings, `explain` shows the findings that concern the
flow it explains (`concerns`), and `check` asks for all of them (`cluster_findings`).

A finding carries a stable kebab-case `id`, a `severity` (error: traffic is or will be broken or unprotected;
warning: likely wrong; info), a sentence saying the effect, the `objects` it concerns (`Kind/namespace/name`)
and the `flows` it concerns: `FlowScope`s matched against an explained `Flow` (destination pod, the service it
was addressed to, service VIP or pod IP, the kind of caller, the waypoint in the path, the port).

To add a kind of finding, write a function taking the subject's facts and yielding `Finding`s, and register it
with `@pod_check`, `@service_check` or `@waypoint_check`; findings that only exist for one explained flow (the
path or a decision produced them) are built with `flow_finding`. Sources for each rule are in
research/istio.md §8 and research/istio-2026.md §2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ambientctl.authz.evaluate import Connection, Identity
from ambientctl.mesh.view import DATAPLANE_MODE, Enrollment, MeshView, Waypoint, WaypointBinding
from ambientctl.model import objects as o

SEVERITIES = ("error", "warning", "info")
# what kind of client opened the flow (node: a host process on the destination's node, e.g. a kubelet probe)
CALLERS = ("mesh", "out-of-mesh", "sidecar", "gateway", "waypoint", "node")
ADDRESSED_BY = ("service", "pod-ip", "ip", "external")  # what the client connected to (external: a hostname/SE)


def ref(kind: str, key: str) -> str:
    """`Kind/namespace/name` for an object whose key is `namespace/name`."""
    return f"{kind}/{key}"


@dataclass(frozen=True)
class Flow:
    """One explained request, as findings see it. Object references are `Kind/namespace/name`."""

    source: str | None  # Pod/ns/name of the client, None for an IP of no pod
    caller: str  # one of CALLERS
    destination: str | None  # Pod/ns/name of the endpoint, None for an IP of no pod
    addressed_by: str  # one of ADDRESSED_BY
    port: int  # the port on the destination pod
    service: str | None = None  # Service/ns/name when addressed by its VIP
    waypoint: str | None = None  # Gateway/ns/name of the waypoint in the path

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "caller": self.caller, "destination": self.destination,
                "addressedBy": self.addressed_by, "port": self.port, "service": self.service,
                "waypoint": self.waypoint}


@dataclass(frozen=True)
class FlowScope:
    """Which flows a finding concerns; an empty field matches any flow."""

    destination: str | None = None
    source: str | None = None
    service: str | None = None  # flows addressed to this service's VIP
    addressed_by: tuple[str, ...] = ()
    callers: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    waypoint: str | None = None  # flows through this waypoint

    def matches(self, flow: Flow) -> bool:
        return ((self.destination is None or self.destination == flow.destination)
                and (self.source is None or self.source == flow.source)
                and (self.service is None or self.service == flow.service)
                and (not self.addressed_by or flow.addressed_by in self.addressed_by)
                and (not self.callers or flow.caller in self.callers)
                and (not self.ports or flow.port in self.ports)
                and (self.waypoint is None or self.waypoint == flow.waypoint))

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for key, value in (("destination", self.destination), ("source", self.source), ("service", self.service),
                           ("addressedBy", list(self.addressed_by)), ("callers", list(self.callers)),
                           ("ports", list(self.ports)), ("waypoint", self.waypoint)):
            if value:
                d[key] = value
        return d


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  # error | warning | info
    message: str
    objects: tuple[str, ...] = ()  # Kind/namespace/name of what it is about, the object to change first
    flows: tuple[FlowScope, ...] = ()  # the flows it concerns (none: no flow in particular)
    why: str = ""  # the Istio behaviour behind it, with its version range and reference
    fix: str = ""  # the smallest change that removes it

    def concerns(self, flow: Flow) -> bool:
        return any(s.matches(flow) for s in self.flows)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "severity": self.severity, "message": self.message,
                             "objects": list(self.objects), "flows": [s.as_dict() for s in self.flows]}
        if self.why:
            d["why"] = self.why
        if self.fix:
            d["fix"] = self.fix
        return d


def flow_finding(id: str, severity: str, message: str, objects: Iterable[str] = (), why: str = "") -> Finding:
    """A finding that exists for one explained flow only (the path or a decision found it)."""
    return Finding(id, severity, message, tuple(objects), (), why)


def as_dicts(found: Iterable[Finding | dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON of findings, each once (some producers still hand over dicts {id, severity, message})."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for x in found:
        d = x.as_dict() if isinstance(x, Finding) else {"objects": [], "flows": [], **x}
        out.setdefault((d["id"], d["message"]), d)
    return list(out.values())


# --- the subjects' facts -----------------------------------------------------------------------------------------

@dataclass
class PodFacts:
    """What a pod check gets: the PodDescription body without findings (`doc`) and the model behind it."""

    view: MeshView
    pod: o.Pod
    doc: dict[str, Any]
    enr: Enrollment = field(init=False)
    zt: o.Pod | None = field(init=False)
    wl: WaypointBinding = field(init=False)
    svcs: list[tuple[o.Service, WaypointBinding]] = field(init=False)

    def __post_init__(self) -> None:
        v = self.view
        self.enr = v.enrollment(self.pod)
        self.zt = v.ztunnel_for(self.pod)
        self.wl = v.workload_waypoint(self.pod)
        self.svcs = [(s, v.service_waypoint(s)) for s in v.services_for(self.pod)]

    @property
    def ref(self) -> str:
        return ref("Pod", self.pod.meta.key)

    @property
    def to_pod(self) -> FlowScope:
        return FlowScope(destination=self.ref)

    @property
    def from_pod(self) -> FlowScope:
        return FlowScope(source=self.ref)


@dataclass
class ServiceFacts:
    view: MeshView
    svc: o.Service
    binding: WaypointBinding

    @property
    def ref(self) -> str:
        return ref("Service", self.svc.meta.key)


@dataclass
class WaypointFacts:
    view: MeshView
    waypoint: Waypoint

    @property
    def ref(self) -> str:
        return ref("Gateway", self.waypoint.key)


POD_CHECKS: list[Callable[[PodFacts], Iterable[Finding]]] = []
SERVICE_CHECKS: list[Callable[[ServiceFacts], Iterable[Finding]]] = []
WAYPOINT_CHECKS: list[Callable[[WaypointFacts], Iterable[Finding]]] = []


def pod_check(fn: Callable[[PodFacts], Iterable[Finding]]) -> Callable[[PodFacts], Iterable[Finding]]:
    POD_CHECKS.append(fn)
    return fn


def service_check(fn: Callable[[ServiceFacts], Iterable[Finding]]) -> Callable[[ServiceFacts], Iterable[Finding]]:
    SERVICE_CHECKS.append(fn)
    return fn


def waypoint_check(fn: Callable[[WaypointFacts], Iterable[Finding]]) -> Callable[[WaypointFacts], Iterable[Finding]]:
    WAYPOINT_CHECKS.append(fn)
    return fn


# --- asking for findings -----------------------------------------------------------------------------------------

def _unique(found: Iterable[Finding]) -> list[Finding]:
    return list(dict.fromkeys(found))


def service_findings(view: MeshView, svc: o.Service) -> list[Finding]:
    def compute() -> list[Finding]:
        facts = ServiceFacts(view, svc, view.service_waypoint(svc))
        return _unique(x for check in SERVICE_CHECKS for x in check(facts))
    return view._cached("findings/service", svc, compute)  # type: ignore[no-any-return]


def waypoint_findings(view: MeshView, wp: Waypoint) -> list[Finding]:
    def compute() -> list[Finding]:
        facts = WaypointFacts(view, wp)
        return _unique(x for check in WAYPOINT_CHECKS for x in check(facts))
    return view._cached("findings/waypoint", wp, compute)  # type: ignore[no-any-return]


def own_findings(view: MeshView, pod: o.Pod, doc: dict[str, Any] | None = None) -> list[Finding]:
    """The findings whose subject is the pod itself (`doc`: its PodDescription without findings, if at hand)."""
    def compute() -> list[Finding]:
        from ambientctl.explain.pod import describe_pod_facts

        facts = PodFacts(view, pod, doc if doc is not None else describe_pod_facts(view, pod))
        return _unique(x for check in POD_CHECKS for x in check(facts))
    return view._cached("findings/pod", pod, compute)  # type: ignore[no-any-return]


def pod_findings(view: MeshView, pod: o.Pod, doc: dict[str, Any] | None = None) -> list[Finding]:
    """What `describe pod` shows: the pod's own findings, its services' and, for a waypoint pod, its waypoint's."""
    out = list(own_findings(view, pod, doc))
    for s in view.services_for(pod):
        out += service_findings(view, s)
    wp = view.waypoint_of_pod(pod)
    if wp is not None:
        out += waypoint_findings(view, wp)
    return _unique(out)


def flow_findings(view: MeshView, flow: Flow, src: o.Pod | None, dst: o.Pod | None,
                  waypoint: Waypoint | None, service: o.Service | None) -> list[Finding]:
    """Every finding of the flow's parties (client, destination, service, waypoint) that concerns it."""
    found: list[Finding] = []
    if dst is not None:
        found += pod_findings(view, dst)
    if service is not None:
        found += service_findings(view, service)
    if src is not None:
        found += own_findings(view, src)
    if waypoint is not None:
        found += waypoint_findings(view, waypoint)
    return [x for x in _unique(found) if x.concerns(flow)]


def cluster_findings(view: MeshView, namespace: str | None = None) -> list[Finding]:
    """Every finding of every pod, service and waypoint (of one namespace, or all)."""
    out: list[Finding] = []
    for wp in view.waypoints().values():
        if namespace is None or wp.namespace == namespace:
            out += waypoint_findings(view, wp)
    for s in view.cluster.services:
        if namespace is None or s.meta.namespace == namespace:
            out += service_findings(view, s)
    for p in view.cluster.pods:
        if namespace is None or p.meta.namespace == namespace:
            out += own_findings(view, p)
    return _unique(out)


# --- pod checks ----------------------------------------------------------------------------------------------------

@pod_check
def _host_network(f: PodFacts) -> Iterator[Finding]:
    if f.pod.host_network:
        yield Finding(
            "host-network", "warning",
            "hostNetwork pod: never captured by ztunnel. As a client it connects in plaintext (no identity), so "
            "it is denied wherever PeerAuthentication is STRICT or an ALLOW policy requires an identity; calls to it "
            "by IP reach the node, not a mesh workload.", (f.ref,), (f.from_pod, f.to_pod))


@pod_check
def _sidecar_in_ambient_namespace(f: PodFacts) -> Iterator[Finding]:
    ns = f.pod.meta.namespace
    if f.enr.mode == "sidecar" and f.view.cluster.namespace_labels(ns).get(DATAPLANE_MODE) == "ambient":
        yield Finding(
            "sidecar-in-ambient-namespace", "warning",
            f"pod has an Istio sidecar although namespace {ns} is in ambient mode: it keeps using its sidecar, is "
            "not captured by ztunnel, and as a client it bypasses waypoints (L7 policies on waypoints do not see "
            "its requests; istio#51445).", (f.ref, f"Namespace/{ns}"),
            (f.from_pod,))


@pod_check
def _ztunnel_and_capture(f: PodFacts) -> Iterator[Finding]:
    if f.enr.mode != "ambient":
        return
    scopes = (f.from_pod, f.to_pod)
    if f.zt is None:
        yield Finding(
            "no-ztunnel-on-node", "error",
            f"no ztunnel pod runs on node {f.pod.node_name or '(unscheduled)'}: this pod's traffic cannot be "
            "captured or forwarded (istio-cni reports 'no ztunnel connection').", (f.ref,), scopes)
    elif not f.zt.ready:
        yield Finding("ztunnel-not-ready", "error", f"ztunnel {f.zt.meta.key} on node {f.pod.node_name} is not ready.",
                      (ref("Pod", f.zt.meta.key), f.ref), scopes)
    if f.enr.redirection and f.enr.redirection != "enabled":
        yield Finding(
            "not-captured", "warning",
            f"ambient.istio.io/redirection={f.enr.redirection}: istio-cni has not finished setting up "
            "redirection, so traffic still bypasses ztunnel.", (f.ref,), scopes)


def fail_open_message(b: WaypointBinding) -> str:
    return (f"{b.subject}: {b.bound_by} asks for waypoint {b.requested}, but istiod does not bind it "
            f"({b.problem_reason}: {b.problem_text}); traffic is sent directly to the destination, so L7 policy and "
            "routing of that waypoint are silently not applied (fail open).")


@pod_check
def _workload_waypoint_not_used(f: PodFacts) -> Iterator[Finding]:
    b = f.wl
    if b.waypoint is None and b.problem and not b.silent:
        # 1.22+: the workload binding serves pod-IP traffic; before, every call to the pod used it.
        scope = FlowScope(destination=f.ref, addressed_by=("pod-ip",) if f.view.version.current else (),
                          callers=("mesh",))
        yield Finding("waypoint-not-used", "warning", fail_open_message(b),
                      (f.ref, ref("Gateway", b.requested)), (scope,))


def _waypoint_policies(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in doc.get("policies", []) if p["enforcedBy"] == "waypoint"]


@pod_check
def _policies(f: PodFacts) -> Iterator[Finding]:
    view, doc = f.view, f.doc
    for p in doc.get("policies", []):
        key = f"{p['namespace']}/{p['name']}"
        objs = (ref("AuthorizationPolicy", key), f.ref)
        if p["enforcedBy"] == "none" and "selects a waypoint pod" in p["why"]:
            continue  # the waypoint's finding (selector-policy-on-waypoint)
        effect = p.get("effectAtZtunnel")
        skipped = p.get("skippedFor")  # 1.18–1.21/2022: ztunnel skips policy for its waypoint's traffic
        if effect in ("deny-all", "narrower") and skipped:
            yield Finding(
                "l7-rule-dropped-at-ztunnel", "warning",
                f"AuthorizationPolicy {key} is enforced by ztunnel, which drops its rules with HTTP attributes; "
                f"but every call to this pod goes through waypoint {skipped}, for which ztunnel skips policy in "
                f"Istio {view.version}, so these HTTP rules are enforced nowhere. Select the waypoint pod "
                f"(istio.io/gateway-name: {skipped.split('/')[-1]}) to have the waypoint enforce them.",
                objs, (f.to_pod,))
        elif effect == "deny-all":
            yield Finding(
                "l7-rule-dropped-at-ztunnel", "error",
                f"AuthorizationPolicy {key} is enforced by ztunnel but every rule needs HTTP attributes: istiod drops "
                "them, the ALLOW policy matches nothing, and all traffic to this pod is denied. Attach it to a "
                "waypoint with targetRefs instead.", objs, (f.to_pod,))
        elif effect == "narrower":
            yield Finding("l7-rule-dropped-at-ztunnel", "warning",
                          f"AuthorizationPolicy {key}: ztunnel drops its rules with HTTP attributes, so it "
                          "allows less than written.", objs, (f.to_pod,))
        elif effect in ("broader", "no-effect"):
            yield Finding(
                "l7-rule-dropped-at-ztunnel", "warning",
                f"DENY AuthorizationPolicy {key} has HTTP attributes ztunnel cannot see: "
                + ("it has no effect here." if effect == "no-effect" else "it is enforced on its L4 part alone and "
                   "denies more than written."), objs, (f.to_pod,))
        elif effect == "not-sent" and p["action"] in ("CUSTOM", "AUDIT"):
            yield Finding("action-not-supported-at-ztunnel", "warning",
                          f"AuthorizationPolicy {key} uses {p['action']}, which ztunnel does not support: it is "
                          "not enforced for this pod.", objs, (f.to_pod,))
        elif effect == "enforced-by-old-ztunnel":
            from ambientctl.explain.decide import dry_run_old_ztunnel_message

            yield Finding("dry-run-enforced-by-old-ztunnel", "error", dry_run_old_ztunnel_message(view, key), objs,
                          (f.to_pod,))
        elif effect == "enforced-dry-run":
            yield Finding("dry-run-enforced", "warning",
                          f"AuthorizationPolicy {key} is marked dry-run, but Istio {view.version} istiod sends it "
                          "to ztunnel as a real policy: it is enforced.", objs, (f.to_pod,))


@pod_check
def _waypoint_identity(f: PodFacts) -> Iterator[Finding]:
    """Since 1.22 the destination ztunnel evaluates its policies on traffic from the waypoint, with the waypoint's
    identity (research §4.4); before, it skipped policy for its waypoint (ztunnel 1.20 inbound.rs)."""
    view, doc, pod = f.view, f.doc, f.pod
    wp = doc.get("waypoint")
    if not (wp and f.enr.mode == "ambient" and view.version.current and any(
            p["enforcedBy"] == "ztunnel" and p["action"] == "ALLOW" for p in doc.get("policies", []))):
        return
    port = next((x["targetPort"] for s in doc["services"] for x in s["ports"] if isinstance(x["targetPort"], int)), 1)
    conn = Connection("0.0.0.0", pod.ip or "0.0.0.0", port, Identity.parse(wp["identity"]))
    z = view.authz_index.evaluate(pod.meta.namespace, pod.meta.labels, conn)
    if not z.allowed and "defaultDeny" in z.decided_by:
        key = f"{wp['namespace']}/{wp['name']}"
        yield Finding(
            "waypoint-identity-not-allowed", "error",
            f"traffic through waypoint {key} reaches this pod's ztunnel with the "
            f"waypoint's identity ({wp['identity']}), which no ALLOW policy enforced here admits "
            f"({', '.join(z.decided_by['defaultDeny'])}): it is denied with 'allow policies exist, but none "
            "allowed'. Allow the waypoint's principal, or move the rules to a targetRefs policy on the waypoint.",
            (f.ref, ref("Gateway", key), *(ref("AuthorizationPolicy", k) for k in z.decided_by["defaultDeny"])),
            (FlowScope(destination=f.ref, waypoint=ref("Gateway", key)),))


@pod_check
def _l7_policy_bypassed(f: PodFacts) -> Iterator[Finding]:
    """Who reaches the pod without its waypoint (1.22+, ztunnel `outbound.rs::build_request`; research §5.2, §5.4):
    pod-IP callers when only the service has a waypoint, clients outside the mesh (no hairpin since ztunnel #913),
    sidecar clients (istio#51445) and ingress gateways without istio.io/ingress-use-waypoint (1.24+)."""
    view, pod = f.view, f.pod
    if not view.version.current or f.enr.mode != "ambient":
        return
    pols = _waypoint_policies(f.doc)
    if not pols:
        return
    names = ", ".join(f"{p['namespace']}/{p['name']}" for p in pols)
    wps = sorted({p["enforcer"] for p in pols if p.get("enforcer")})
    objs = (f.ref, *(ref("AuthorizationPolicy", f"{p['namespace']}/{p['name']}") for p in pols),
            *(ref("Gateway", w) for w in wps))
    what = f"the L7 policies of waypoint {', '.join(wps)} ({names})"
    td = view.install.trust_domain
    # The gap is open when the pod's own ztunnel admits such a caller: probe it with an identity no policy names
    # (an ALLOW list at ztunnel that admits only the waypoint closes it), or with none (STRICT closes it).
    stranger = f"spiffe://{td}/ns/{pod.meta.namespace}/sa/ambientctl-unlisted-caller"
    if f.wl.waypoint is None and _ztunnel_admits(f, stranger):
        yield Finding(
            "l7-policy-bypassed-pod-ip", "warning",
            f"callers in the mesh that connect to this pod's IP instead of its service skip {what}: only traffic "
            "addressed to the service goes through a service waypoint, and this pod's ztunnel admits them. An L4 "
            "ALLOW policy at the pod that admits only the waypoint's identity closes the gap.", objs,
            (FlowScope(destination=f.ref, addressed_by=("pod-ip",), callers=("mesh",)),))
    if _ztunnel_admits(f, None):
        yield Finding(
            "l7-policy-bypassed-out-of-mesh", "warning",
            f"clients outside the mesh reach this pod directly in plaintext and skip {what}: they do not know about "
            "waypoints (no hairpin since Istio 1.22) and this pod's ztunnel admits plaintext. PeerAuthentication "
            "STRICT for the pod closes the gap.", objs, (FlowScope(destination=f.ref, callers=("out-of-mesh",)),))
    cluster = view.cluster
    if any(view.enrollment(p).mode == "sidecar" for p in cluster.pods) and _ztunnel_admits(f, stranger):
        yield Finding(
            "l7-policy-bypassed-sidecar", "warning",
            f"clients with an Istio sidecar send HBONE straight to this pod and skip {what}: sidecars do not use "
            "waypoints (istio#51445), and this pod's ztunnel admits them.", objs,
            (FlowScope(destination=f.ref, callers=("sidecar",)),))
    unused = [s for s, b in f.svcs if b.waypoint is not None and not view.ingress_use_waypoint(s.meta.labels, s.meta.namespace)[0]]
    gateways = [p for p in cluster.pods if view.enrollment(p).role == "gateway"]
    if unused and any(_ztunnel_admits(f, view.identity(g)) for g in gateways[:3]):
        yield Finding(
            "l7-policy-bypassed-ingress", "warning",
            f"ingress gateways send to this pod directly and skip {what}, because "
            f"{', '.join('Service ' + s.meta.key for s in unused)} lacks istio.io/ingress-use-waypoint=true.",
            objs + tuple(ref("Service", s.meta.key) for s in unused),
            tuple(FlowScope(destination=f.ref, service=ref("Service", s.meta.key), callers=("gateway",))
                  for s in unused))


def _ztunnel_admits(f: PodFacts, identity: str | None) -> bool:
    pod = f.pod
    port = next((x["targetPort"] for s in f.doc.get("services", []) for x in s["ports"]
                 if isinstance(x["targetPort"], int)), 1)
    conn = Connection("0.0.0.0", pod.ip or "0.0.0.0", port, Identity.parse(identity) if identity else None)
    return bool(f.view.authz_index.evaluate(pod.meta.namespace, pod.meta.labels, conn, trace=False).allowed)


@pod_check
def _network_policies(f: PodFacts) -> Iterator[Finding]:
    """NetworkPolicies that break ambient for this pod (explain/wire.py: HBONE 15008, probes, istiod 15012)."""
    from ambientctl.explain.wire import networkpolicy_findings

    yield from networkpolicy_findings(f.view, f.pod)


@pod_check
def _egress(f: PodFacts) -> Iterator[Finding]:
    """ServiceEntry egress waypoints this pod's calls skip (explain/egress.py `egress_findings`)."""
    from ambientctl.explain.egress import egress_findings

    for x in egress_findings(f.view, f.pod):
        # explain's external path carries it for the flow itself (explain/egress.py); in-cluster flows never match
        yield Finding(x["id"], x["severity"], x["message"], (f.ref, *x.get("objects", ())),
                      (FlowScope(source=f.ref, addressed_by=("external",)),))


@pod_check
def _peer_authentication(f: PodFacts) -> Iterator[Finding]:
    pa = f.doc.get("peerAuthentication") or {}
    if pa.get("mode") == "DISABLE" and f.enr.mode == "ambient":
        yield Finding("peer-authentication-disable-ignored", "info",
                      f"PeerAuthentication {pa['source']} sets DISABLE, which ambient ignores: HBONE stays mTLS "
                      "and plaintext is accepted as under PERMISSIVE.", (f.ref,), (f.to_pod,))


# --- service checks ------------------------------------------------------------------------------------------------

def _to_service(f: ServiceFacts) -> FlowScope:
    return FlowScope(service=f.ref, addressed_by=("service",))


@service_check
def _service_waypoint_not_used(f: ServiceFacts) -> Iterator[Finding]:
    b = f.binding
    if b.waypoint is None and b.problem and not b.silent:
        scope = FlowScope(service=f.ref, addressed_by=("service",), callers=("mesh",))
        yield Finding("waypoint-not-used", "warning", fail_open_message(b), (f.ref, ref("Gateway", b.requested)),
                      (scope,))


@service_check
def _service_policies(f: ServiceFacts) -> Iterator[Finding]:
    if f.binding.waypoint is not None:
        return
    svc = f.svc
    for ap in f.view.cluster.of_kind("AuthorizationPolicy", svc.meta.namespace):
        if any(r.kind == "Service" and r.name == svc.meta.name and (r.namespace or ap.meta.namespace) ==
               svc.meta.namespace for r in ap.target_refs):
            yield Finding("policy-without-waypoint", "warning",
                          f"AuthorizationPolicy {ap.meta.key} targets Service {svc.meta.key}, which has no waypoint: "
                          "targetRefs policies are only enforced by waypoints, so this policy has no effect.",
                          (ref("AuthorizationPolicy", ap.meta.key), f.ref), (_to_service(f),))


@service_check
def _routes_without_waypoint(f: ServiceFacts) -> Iterator[Finding]:
    from ambientctl.mesh.routes import routes_for

    view, svc = f.view, f.svc
    if f.binding.waypoint is not None or not any(view.enrollment(p).mode == "ambient" for p in view.pods_for(svc)):
        return
    for r in routes_for(view.cluster, svc):
        if r.kind in ("VirtualService", "HTTPRoute", "GRPCRoute"):
            key = r.obj.meta.key  # type: ignore[attr-defined]
            yield Finding(
                "route-without-waypoint", "warning",
                f"{r.kind} {key} routes {svc.meta.key}, but that service has no waypoint: "
                "ztunnel ignores L7 routing, so it is not applied.", (ref(r.kind, key), f.ref), (_to_service(f),))


# --- waypoint checks -----------------------------------------------------------------------------------------------

@waypoint_check
def _waypoint_policy_notes(f: WaypointFacts) -> Iterator[Finding]:
    """Policies that name or select the waypoint but that it ignores (authz/waypoint.py `waypoint_policies`)."""
    from ambientctl.explain.policies import enforced_by_waypoint

    _, notes = enforced_by_waypoint(f.view, f.waypoint)
    for note in notes:
        key = getattr(note, "policy", "")
        fid = "selector-policy-on-waypoint" if "selector" in note else "policy-target-invalid"
        yield Finding(fid, "warning", f"AuthorizationPolicy {note}.",
                      (ref("AuthorizationPolicy", key), f.ref) if key else (f.ref,),
                      (FlowScope(waypoint=f.ref),))


@waypoint_check
def _waypoint_not_ready(f: WaypointFacts) -> Iterator[Finding]:
    wp = f.waypoint
    if not wp.ready:
        yield Finding("waypoint-not-ready", "error" if wp.pods else "warning",
                      f"waypoint {wp.key} is not ready"
                      + (" (its Gateway has no address)" if f.view.version.current else "")
                      + ": istiod binds nothing to it, so traffic meant for it goes directly to its destinations.",
                      (f.ref,), (FlowScope(waypoint=f.ref),))
