"""The data path of one request, per Istio era: which hops it crosses and which components get to decide.

Rules and their sources (research/istio.md §3–§5, ztunnel sources at the tags named):
- Only the destination side enforces: the destination ztunnel (L4) and, when in the path, the waypoint.
- 1.22+: a client's ztunnel sends service-VIP traffic to the service's waypoint and pod-IP traffic only to a
  workload waypoint (`src/proxy/outbound.rs::build_request`); the destination ztunnel then sees the
  waypoint's identity. Uncaptured clients, sidecars and ingress gateways (without
  `istio.io/ingress-use-waypoint`) reach the pod directly. Traffic to an uncaptured destination leaves the
  client's ztunnel as plaintext TCP (passthrough).
- 1.18–1.21: the waypoint is chosen by the destination *workload* for every address (1.20.0
  `outbound.rs` `fetch_waypoint(&us.workload, ..)`, request type ToServerWaypoint); the destination ztunnel
  skips policy for traffic from its waypoint and answers 401 `bypassed waypoint` to HBONE that skipped it
  (1.20.0 `inbound.rs`); plaintext from outside the mesh to a pod with a waypoint is hairpinned through the
  waypoint with policy skipped at ztunnel (1.20.0 `inbound_passthrough.rs`), and fails with `unknown source`
  when the caller's IP is no known workload (`build_request` → `Error::UnknownSource`). Same-node HBONE used
  the node-local fast path (removed in 1.22, ztunnel #915).
- experimental-2022: per-service-account waypoints (`istio-mesh`) serve every call to that account's pods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ambientctl.explain.findings import Finding, flow_finding, ref
from ambientctl.mesh.view import MeshView, Waypoint
from ambientctl.model import objects as o


@dataclass
class Party:
    """A source or destination as the data plane sees it."""

    ref: str
    kind: str  # Pod | Service | IP
    ip: str = ""
    namespace: str = ""
    name: str = ""
    pod: o.Pod | None = None
    service: o.Service | None = None
    mode: str = "none"  # ambient | sidecar | none (not in the mesh or unknown)
    role: str = "workload"
    identity: str | None = None  # SPIFFE ID when it speaks mTLS (captured by ztunnel, or a sidecar/waypoint)
    captured: bool = False
    known: bool = True  # a workload ztunnel knows (an IP of no pod is not)
    node: str = ""  # kind Node: a host process on this node (the kubelet)

    def as_dict(self) -> dict:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "namespace": self.namespace or None,
            "name": self.name or None,
            "ip": self.ip or None,
            "identity": self.identity,
            "captured": self.captured,
            "mode": self.mode,
        }


@dataclass
class Hop:
    component: str  # client | src-ztunnel | waypoint | dst-ztunnel | server
    name: str  # ns/name of the pod (or the IP for unknown parties)
    node: str
    protocol: str  # how this hop sends onward: tcp | hbone | fast-path; for the server: what it receives
    port: int  # the port it sends to (server: the port it listens on)
    ip: str = ""
    note: str = ""
    reached: bool = True  # False: the connection was dropped (NetworkPolicy) before it got here

    def as_dict(self) -> dict:
        d = {"component": self.component, "name": self.name, "node": self.node or None, "protocol": self.protocol,
             "port": self.port}
        if self.ip:
            d["ip"] = self.ip
        if self.note:
            d["note"] = self.note
        if not self.reached:
            d["reached"] = False
        return d


@dataclass
class Check:
    """One place where policy is evaluated, in the order the request meets them."""

    component: str  # waypoint | dst-ztunnel | sidecar
    enforcer: str  # ns/name of the waypoint Gateway, ztunnel pod or sidecar pod
    peer_identity: str | None  # the identity this component sees (the waypoint's, once a waypoint is in the path)
    peer_ip: str
    waypoint: Waypoint | None = None
    skip_reason: str = ""  # non-empty: this component does not evaluate policy here, and why
    deny_after: str = ""  # non-empty: even when policy allows, this component then rejects (legacy bypass)


@dataclass
class Plan:
    path: str  # direct-hbone | via-waypoint | plaintext-passthrough | hairpin-via-waypoint | sidecar-direct
    #            | kubelet-probe-snat
    hops: list[Hop]
    checks: list[Check]
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    waypoint: Waypoint | None = None
    # findings only this flow has (the parties' own are findings.py's, matched to the flow by the engine)
    findings: list[Finding] = field(default_factory=list)
    failure: str = ""  # a data-path failure before any policy (e.g. `unknown source: 1.2.3.4`)
    failure_component: str = ""


def party_for_pod(view: MeshView, pod: o.Pod, ref: str) -> Party:
    enr = view.enrollment(pod)
    captured = enr.mode == "ambient"
    speaks_mtls = captured or enr.mode == "sidecar" or enr.role in ("waypoint", "gateway")
    # A hostNetwork pod's IP is its node's: ztunnel knows no workload by it (1.20 ambientindex.go skips such
    # pods; ztunnel #1216 for 1.24+).
    return Party(ref=ref, kind="Pod", ip=pod.ip, namespace=pod.meta.namespace, name=pod.meta.name, pod=pod,
                 mode=enr.mode, role=enr.role, identity=view.identity(pod) if speaks_mtls else None,
                 captured=captured, known=not pod.host_network)


def _node_of(pod: o.Pod | None) -> str:
    return pod.node_name if pod else ""


def _zt_hop(view: MeshView, pod: o.Pod, component: str, protocol: str, port: int, ip: str = "") -> Hop:
    zt = view.ztunnel_for(pod)
    name = zt.meta.key if zt else f"(no ztunnel on {pod.node_name or 'its node'})"
    return Hop(component, name, pod.node_name, protocol, port, ip)


def plan(view: MeshView, src: Party, dst_pod: o.Pod | None, dst_ip: str, dst_port: int, target_port: int,
         service: o.Service | None) -> Plan:
    """The path from `src` to one destination endpoint (`dst_pod`, or a bare IP)."""
    v = view.version
    client = Hop("client", f"{src.namespace}/{src.name}" if src.pod else src.ip or src.ref, _node_of(src.pod),
                 "tcp", dst_port, src.ip)
    if dst_pod is None:
        hops = [client]
        if src.captured and src.pod:
            hops.append(_zt_hop(view, src.pod, "src-ztunnel", "tcp", dst_port))
        hops.append(Hop("server", dst_ip, "", "tcp", dst_port, dst_ip))
        return Plan("plaintext-passthrough", hops, [], reasons=[
            f"{dst_ip} is no known workload: " + ("the client's ztunnel passes it through as plain TCP"
                                                  if src.captured else "nothing in the mesh handles it")])
    if src.kind == "Node":
        from ambientctl.explain.wire import probe_plan

        probe = probe_plan(view, src, dst_pod, target_port)
        if probe is not None:
            return probe
    dst = party_for_pod(view, dst_pod, dst_pod.meta.name)
    server = Hop("server", dst_pod.meta.key, dst_pod.node_name, "tcp", target_port, dst_pod.ip)
    addressed_service = service is not None
    wp, wp_reason = _waypoint_for(view, src, dst_pod, service)
    reasons: list[str] = []
    warnings: list[str] = []
    if wp_reason:
        reasons.append(wp_reason)
    if wp is not None and service is not None and v.current:
        canary_note(view, view.service_waypoint(service), f"service {service.meta.key}", reasons, warnings)

    # --- the destination is not captured: no ztunnel inbound, no L4 policy ------------------------------
    if not dst.captured:
        if dst.mode == "sidecar" and wp is not None and src.captured and src.pod and v.current:
            # A captured client addressing a Service whose waypoint is bound: ztunnel picks the waypoint by the
            # address, whatever the endpoints are (ztunnel src/proxy/outbound.rs `build_request` →
            # `fetch_service_waypoint`); the waypoint then sends HBONE to the sidecar, which accepts it on 15008
            # (ISTIO_META_ENABLE_HBONE, set mesh-wide by the ambient profile) and enforces its own policies.
            wp_pod = wp.pods[0] if wp.pods else None
            hops = [client, _zt_hop(view, src.pod, "src-ztunnel", "hbone", 15008, wp_pod.ip if wp_pod else ""),
                    Hop("waypoint", wp.key, _node_of(wp_pod), "hbone", 15008, dst_pod.ip), server]
            server.note = "the sidecar terminates the waypoint's HBONE itself"
            reasons.append(f"{dst_pod.meta.key} has an Istio sidecar: after the waypoint it sees the waypoint's "
                           f"identity {wp_identity(view, wp)} and applies its own (selector) policies")
            return Plan("via-waypoint", hops, [Check("waypoint", wp.key, src.identity, src.ip, wp),
                                               Check("sidecar", dst_pod.meta.key, wp_identity(view, wp),
                                                     wp_pod.ip if wp_pod else "", wp)], reasons, warnings, wp)
        hops = [client]
        if src.captured and src.pod:
            hops.append(_zt_hop(view, src.pod, "src-ztunnel", "tcp", target_port))
        hops.append(server)
        checks = []
        if dst.mode == "sidecar":
            checks.append(Check("sidecar", f"{dst_pod.meta.key}", src.identity, src.ip))
            reasons.append(f"{dst_pod.meta.key} has an Istio sidecar, which terminates mTLS and enforces its own "
                           "(selector) policies, L7 included")
            path = "sidecar-direct" if src.mode == "sidecar" else (
                "direct-hbone" if src.captured else "plaintext-passthrough")
        else:
            reasons.append(f"{dst_pod.meta.key} is not in the mesh ({view.enrollment(dst_pod).reason}): traffic "
                           "reaches it as plain TCP and no Istio policy applies")
            path = "plaintext-passthrough"
        return Plan(path, hops, checks, reasons, warnings)

    dst_zt_inbound = _zt_hop(view, dst_pod, "dst-ztunnel", "tcp", target_port)

    # --- legacy hairpin: plaintext into a pod that has a waypoint -----------------------------------------
    if not src.captured and src.mode != "sidecar" and src.role not in ("waypoint", "gateway"):
        if wp is not None and (v.legacy or v.experimental):
            hops = [client,
                    _zt_hop(view, dst_pod, "dst-ztunnel", "hbone", 15008, dst_pod.ip),
                    Hop("waypoint", wp.key, _node_of(wp.pods[0] if wp.pods else None), "hbone", 15008,
                        wp.pods[0].ip if wp.pods else ""),
                    dst_zt_inbound, server]
            hops[1].note = "hairpin: plaintext arrived for a pod with a waypoint, re-sent to the waypoint"
            reasons.append(
                f"the client is outside the mesh and sends plaintext to {dst_pod.meta.key}, which has a waypoint: "
                f"Istio {v} ztunnel hairpins it through waypoint {wp.key} so the waypoint can enforce policy "
                "(ztunnel 1.20 inbound_passthrough.rs; removed in 1.22 by ztunnel #913)")
            plan_ = Plan("hairpin-via-waypoint", hops, [
                Check("waypoint", wp.key, src.identity if src.known and src.pod else None, src.ip, wp),
                Check("dst-ztunnel", dst_zt_inbound.name, wp_identity(view, wp), "", wp,
                      skip_reason="traffic from the pod's own waypoint: ztunnel skips policy ('request from "
                      "waypoint, skipping policy')"),
            ], reasons, warnings, wp)
            if not src.known or src.pod is None:
                plan_.checks[0].peer_identity = None
                plan_.failure = f"unknown source: {src.ip}"
                plan_.failure_component = "dst-ztunnel"
                reasons.append(f"the hairpin looks the caller up by IP to speak for it; {src.ip} is no workload "
                               "ztunnel knows, so the connection fails (`unknown source`)")
            else:
                reasons.append(f"ztunnel originates the hairpinned HBONE as the caller's workload, so the waypoint "
                               f"sees {src.identity or view.identity(src.pod)}")
                plan_.checks[0].peer_identity = view.identity(src.pod)
                if src.pod.node_name != dst_pod.node_name:
                    plan_.findings.append(flow_finding(
                        "hairpin-needs-foreign-certificate", "warning",
                        f"to speak for the caller, ztunnel on {dst_pod.node_name} needs a certificate for "
                        f"{view.identity(src.pod)}; istiod's CA issues it only for service accounts with a pod on "
                        "that node, so this hairpin may fail with an identity error",
                        [ref("Pod", src.pod.meta.key), ref("Pod", dst_pod.meta.key)]))
            return plan_
        hops = [client, dst_zt_inbound, server]
        reasons.append(
            f"the client is {'outside the mesh' if src.mode == 'none' else src.mode} and sends plaintext: it reaches "
            f"{dst_pod.meta.key} through its ztunnel's plaintext inbound (15006) with no identity")
        if wp is not None:  # skipped L7 policies are the pod's finding l7-policy-bypassed-out-of-mesh
            reasons.append(f"waypoint {wp.key} is bypassed: clients outside the mesh do not know about waypoints, "
                           "so its L7 policy and routing do not apply")
        return Plan("plaintext-passthrough", hops,
                    [Check("dst-ztunnel", dst_zt_inbound.name, None, src.ip)], reasons, warnings)

    # --- a waypoint reference ztunnel cannot resolve fails closed (research/istio.md §5.2) -------------------
    ref_obj = service if service is not None and v.current else dst_pod
    unknown = ref_obj.meta.annotations.get("ambientctl.io/unknown-waypoint") if src.captured else None
    if unknown and src.pod is not None:
        hops = [client, _zt_hop(view, src.pod, "src-ztunnel", "hbone", 15008)]
        p_ = Plan("via-waypoint", hops, [], reasons + [
            f"ztunnel's state says {ref_obj.meta.kind} {ref_obj.meta.key} uses waypoint {unknown}, which it cannot "
            "resolve: the client's ztunnel fails the connection instead of bypassing the waypoint (fail closed)"],
            warnings)
        p_.failure = f"unknown waypoint: waypoint {unknown} not found"
        p_.failure_component = "src-ztunnel"
        return p_

    # --- HBONE clients (captured pods, sidecars, gateways) -------------------------------------------------
    if src.captured and src.pod:
        src_hop = _zt_hop(view, src.pod, "src-ztunnel", "hbone", 15008)
        first = [client, src_hop]
    else:
        client.protocol, client.port = "hbone", 15008
        first = [client]
    if wp is not None:
        wp_pod = wp.pods[0] if wp.pods else None
        first[-1].ip = wp_pod.ip if wp_pod else ""
        hops = first + [Hop("waypoint", wp.key, _node_of(wp_pod), "hbone", 15008, dst_pod.ip),
                        dst_zt_inbound, server]
        checks = [Check("waypoint", wp.key, src.identity, src.ip, wp)]
        if v.current:
            checks.append(Check("dst-ztunnel", dst_zt_inbound.name, wp_identity(view, wp), wp_pod.ip if wp_pod else "",
                                wp))
            reasons.append(f"after the waypoint, the destination ztunnel sees the waypoint's identity "
                           f"{wp_identity(view, wp)}, not the client's")
        else:
            checks.append(Check("dst-ztunnel", dst_zt_inbound.name, wp_identity(view, wp), "", wp,
                                skip_reason="traffic from the pod's own waypoint: ztunnel skips policy ('request "
                                "from waypoint, skipping policy', ztunnel 1.20 inbound.rs)"))
        return Plan("via-waypoint", hops, checks, reasons, warnings, wp)

    first[-1].ip = dst_pod.ip
    hops = first + [dst_zt_inbound, server]
    if (v.legacy or v.experimental) and src.captured and src.pod and src.pod.node_name == dst_pod.node_name:
        hops[1].protocol = "fast-path"
        hops[1].note = "same node: node-local fast path, no HBONE on the wire (ztunnel <=1.21)"
        hops[1].port = target_port
        hops.pop(2)  # one ztunnel serves both sides
        hops[1].component = "dst-ztunnel"
    checks = [Check("dst-ztunnel", dst_zt_inbound.name, src.identity, src.ip)]
    found: list[Finding] = []
    legacy_wp = view.workload_waypoint(dst_pod).waypoint if v.legacy else None
    if legacy_wp is not None:
        # 1.20.0 inbound.rs: RBAC first, then `bypassed waypoint` -> HTTP 401 for HBONE not from the waypoint.
        checks[0].waypoint = legacy_wp
        checks[0].deny_after = "bypassed waypoint"
        found.append(flow_finding(
            "waypoint-bypass-rejected", "error",
            f"{dst_pod.meta.key} has waypoint {legacy_wp.key}, but this client sends HBONE directly: "
            f"Istio {v} ztunnel rejects it with 401 'bypassed waypoint'",
            [ref("Pod", dst_pod.meta.key), ref("Gateway", legacy_wp.key)]))
    if src.role == "gateway" and v.current:
        reasons.append(f"the gateway's Envoy sends HBONE straight to {dst_pod.meta.key}: the destination ztunnel "
                       f"sees the gateway's identity {src.identity}")
        skipped = view.service_waypoint(service).waypoint if addressed_service else None
        if skipped is not None:  # skipped L7 policies are the pod's finding l7-policy-bypassed-ingress
            reasons.append(f"ingress gateway {src.namespace}/{src.name} skips waypoint {skipped.key} of "
                           f"{service.meta.key}: its L7 policies and routes do not apply to ingress traffic "
                           "(istio.io/ingress-use-waypoint; istio#51214)")
    if src.mode == "sidecar":
        # Sidecars pick endpoints themselves and speak HBONE to ambient pods directly; they never send to a
        # waypoint (istio#51445, PR #57729 rejected; still so in 1.31).
        skipped = (view.service_waypoint(service).waypoint if addressed_service else None) or \
            (view.workload_waypoint(dst_pod).waypoint if v.current else None)
        reasons.append(f"the client's sidecar sends HBONE directly to {dst_pod.meta.key}; the destination ztunnel "
                       f"sees the sidecar's identity {src.identity}")
        if skipped is not None:  # skipped L7 policies are the pod's finding l7-policy-bypassed-sidecar
            reasons.append(f"the client has a sidecar: sidecars do not use waypoints, so waypoint {skipped.key} "
                           "and its L7 policies are bypassed (istio#51445)")
        return Plan("sidecar-direct", hops, checks, reasons, warnings, findings=found)
    return Plan("direct-hbone", hops, checks, reasons, warnings, findings=found)


def canary_note(view: MeshView, b, subject: str, reasons: list[str], warnings: list[str]) -> None:  # type: ignore[no-untyped-def]
    """1.31 weighted canary: ztunnel 1.31+ picks primary or canary per connection, by weight (ztunnel
    `src/state.rs` `sample_weighted_waypoint`, added by ztunnel#1972 for 1.31); older ztunnels do not know
    `weighted_waypoints` and always use the primary. The path shown goes through the primary."""
    if b.problem and b.waypoint is not None:  # the primary is bound: the problem is the canary's
        warnings.append(f"{subject}: the canary waypoint is ignored ({b.problem_reason}: {b.problem}); all "
                        f"connections use {b.waypoint.key}")
    if not b.weighted:
        return
    split = ", ".join(f"{n} {w}%" for n, w in b.weighted)
    if view.install.ztunnel.at_least(1, 31):
        reasons.append(f"{subject} has a weighted waypoint canary: the client's ztunnel picks one per connection "
                       f"({split}); the path shown uses the primary")
    else:
        warnings.append(f"{subject} has a weighted waypoint canary ({split}), but the ztunnels are "
                        f"{view.install.ztunnel} (< 1.31): they ignore it and always use {b.waypoint.key}")


def wp_identity(view: MeshView, wp: Waypoint) -> str:
    from ambientctl.mesh.view import spiffe

    return spiffe(view.install.trust_domain, wp.namespace, wp.service_account)


def _ingress_waypoint(view: MeshView, dst_pod: o.Pod, service: o.Service | None) -> tuple[Waypoint | None, str]:
    """An Istio gateway (ingress, Gateway API) is an Envoy that picks endpoints itself: it sends to the service's
    waypoint only when istiod hands it the waypoint's endpoints (pilot/pkg/xds/endpoints/endpoint_builder.go
    `findServiceWaypoint`, 1.24+): ENABLE_INGRESS_WAYPOINT_ROUTING on (default true), the service has a VIP
    (headless services never), it is bound to a waypoint, and `istio.io/ingress-use-waypoint` says so (value
    parsing per version: MeshView.ingress_use_waypoint). Otherwise it sends HBONE straight to the pod, and the
    destination ztunnel sees the gateway's own identity."""
    if service is None:
        bound = [s for s in view.services_for(dst_pod) if view.service_waypoint(s).waypoint]
        if not bound:
            return None, ""
        how = "is headless" if bound[0].headless else "was not addressed by its VIP"
        return None, (f"{bound[0].meta.key} {how}: the gateway sends to the pod directly and never to waypoint "
                      f"{view.service_waypoint(bound[0]).waypoint.key} (gateways use a waypoint only for VIP "
                      "traffic)")
    b = view.service_waypoint(service)
    if b.waypoint is None:
        return None, ""
    wp = b.waypoint.key
    if not view.install.setting("ENABLE_INGRESS_WAYPOINT_ROUTING"):
        return None, (f"{service.meta.key} has waypoint {wp}, but istiod runs with ENABLE_INGRESS_WAYPOINT_ROUTING="
                      f"{view.install.settings.get('ENABLE_INGRESS_WAYPOINT_ROUTING')}: gateways skip it")
    use, why = view.ingress_use_waypoint(service.meta.labels, service.meta.namespace)
    if use:
        return b.waypoint, f"the client is an ingress gateway and {why}: it sends to the service's waypoint {wp}"
    return None, (f"the client is an ingress gateway and {service.meta.key} has waypoint {wp}, but {why}: the "
                  "gateway sends straight to the pod, skipping the waypoint and its L7 policies (set "
                  "istio.io/ingress-use-waypoint=true on the Service or namespace to use it)")


def _waypoint_for(view: MeshView, src: Party, dst_pod: o.Pod, service: o.Service | None) -> tuple[Waypoint | None, str]:
    """Which waypoint the client's side sends this request to, and why (empty reason: none)."""
    v = view.version
    if src.role == "waypoint":
        return None, "the client is a waypoint: its traffic is never sent to a waypoint again"
    if v.current:
        if src.mode == "sidecar":
            return None, ""
        if src.role == "gateway":
            return _ingress_waypoint(view, dst_pod, service)
        if service is not None:
            b = view.service_waypoint(service)
            if b.waypoint:
                return b.waypoint, (f"the client addressed service {service.meta.key}, whose waypoint is "
                                    f"{b.waypoint.key} ({b.bound_by})")
            return None, ""
        b = view.workload_waypoint(dst_pod)
        if b.waypoint:
            return b.waypoint, (f"the client addressed the pod IP, and {dst_pod.meta.key} has workload waypoint "
                                f"{b.waypoint.key} ({b.bound_by})")
        svc_wps = [s for s in view.services_for(dst_pod) if view.service_waypoint(s).waypoint]
        if svc_wps:
            return None, (f"the client addressed the pod IP directly, so the waypoint of service "
                          f"{svc_wps[0].meta.key} is not used (service waypoints only see service traffic)")
        return None, ""
    # 1.18–1.21 and 2022: the destination workload's waypoint, whatever the address.
    b = view.workload_waypoint(dst_pod)
    if b.waypoint is None:
        return None, ""
    if src.mode == "sidecar":
        return None, ""
    return b.waypoint, (f"{dst_pod.meta.key} has waypoint {b.waypoint.key} ({b.bound_by}); in Istio {v} every "
                        "call to the pod goes through it, by service or pod IP")
