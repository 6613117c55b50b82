"""What the CNI sees of one request, leg by leg, per Istio era — and the Kubernetes NetworkPolicy verdict on it.

Each leg is a TCP connection between two network namespaces; NetworkPolicy is enforced on the host, outside the
pods (istio.io ambient/usage/networkpolicy), so it judges the source pod's egress and the destination pod's
ingress of every leg.

- In-pod redirection (1.21+; istio-cni `cni/pkg/iptables/iptables.go`): ztunnel's sockets live in each enrolled
  pod's network namespace, so HBONE leaves the *client pod* for `<destination pod or waypoint>:15008`; the
  destination's ingress sees 15008 for HBONE (never the app port) and the app port for plaintext from uncaptured
  clients. Through a waypoint: client → waypoint:15008, then waypoint → destination:15008 (the waypoint pod's own
  ingress and egress apply). Sidecars, gateways and waypoints send HBONE to 15008 themselves.
- Node-level redirection (1.18–1.20, and the 2022 builds): istio-cni redirects at the node (ipsets, geneve
  `istioin`/`istioout`) to a ztunnel in its own network namespace, which connects onward with the original
  client's address (ztunnel 1.20 `src/proxy/inbound.rs` `freebind_connect(orig_src, ..)`,
  `enable_original_source`). What a pod's interface sees is then the application's own connection: the client
  pod's egress to the destination's app port, and the destination's ingress from the client's address on the
  app port; HBONE on 15008 runs between ztunnels (to a waypoint pod, whose ingress sees 15008 from the client's
  address). Whether the CNI judges the packets before or after the node-level redirection is CNI-specific — the
  reason in-pod redirection was built (istio.io blog 2024-01-29 "Maturing Istio Ambient") — so these eras carry a
  caveat.
- Kubelet probes: in-pod mode SNATs connections from node-local sockets to enrolled pods to 169.254.7.127
  (IPv6 fd16:9254:7127:1337:ffff:ffff:ffff:ffff) and accepts them in the pod before ztunnel (iptables.go, 1.21+;
  HOST_PROBE_SNAT_IP in cni/README.md), so NetworkPolicy no longer sees them as node traffic (which the
  Kubernetes docs always allow): a default-deny ingress policy needs an ipBlock for 169.254.7.127/32
  (istio.io ambient/usage/networkpolicy), and Cilium a CiliumClusterwideNetworkPolicy (platform-prerequisites).
  1.18–1.20 skipped redirection for probes from the node IP (1.20 `cni/pkg/ambient/net_linux.go` "Mark
  healthcheck probes from the node IP as skippable"), so they stayed node traffic.
- A dropped SYN is silent: a connecting ztunnel gives up after CONNECTION_TIMEOUT (10 s, ztunnel `src/proxy.rs`)
  and logs `connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed` for
  HBONE (ztunnel #1229, in 1.23.0 and later) or `io error: deadline has elapsed` (earlier, and for plain TCP).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ambientctl.explain.findings import Finding, FlowScope, ref
from ambientctl.explain.path import Hop, Party, Plan
from ambientctl.mesh.view import MeshView
from ambientctl.model import objects as o
from ambientctl.netpol import Cni, Endpoint, NetworkPolicies, Side, Wire, detect_cni

HBONE_PORT = 15008
ISTIOD_XDS_PORT = 15012
PROBE_SNAT_V4 = "169.254.7.127"
PROBE_SNAT_V6 = "fd16:9254:7127:1337:ffff:ffff:ffff:ffff"
CONNECT_TIMEOUT = "10 s"
NODE_LEVEL_CAVEAT = ("Istio {v} redirects at the node level: whether the CNI applies NetworkPolicy before or after "
                     "that redirection depends on the CNI; the legs shown are what the pods' interfaces see")


def hbone_timeout_log(view: MeshView) -> str:
    """The error a ztunnel writes when its HBONE connect to 15008 is never answered."""
    if view.install.ztunnel.at_least(1, 23):
        return "connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed"
    return "io error: deadline has elapsed"


def probe_snat_ip(pod_ip: str) -> str:
    try:
        v6 = ipaddress.ip_address(pod_ip).version == 6
    except ValueError:
        v6 = False
    return PROBE_SNAT_V6 if v6 else PROBE_SNAT_V4


def policies(view: MeshView) -> NetworkPolicies:
    if "_network_policies" not in view.__dict__:
        view.__dict__["_network_policies"] = NetworkPolicies(view.cluster.network_policies,
                                                             view.cluster.namespace_labels)
    return view.__dict__["_network_policies"]


def cni(view: MeshView) -> Cni:
    if "_cni" not in view.__dict__:
        view.__dict__["_cni"] = detect_cni(view.cluster)
    return view.__dict__["_cni"]


@dataclass
class Leg:
    """One connection on the wire between two hops of the plan."""

    sender: int  # index in plan.hops of the hop that opens it
    receiver: int  # index of the hop it arrives at (a drop leaves it and every later hop unreached)
    wire: Wire
    egress: bool = True  # the source pod's egress applies
    ingress: bool = True  # the destination pod's ingress applies


@dataclass
class Drop:
    leg: Leg
    side: Side


def _ep(party: Party) -> Endpoint:
    if party.pod is not None:
        return Endpoint(party.ip, party.pod)
    return Endpoint(party.ip, node=party.node)


def _pod_ep(pod: o.Pod | None, ip: str = "") -> Endpoint:
    return Endpoint(pod.ip if pod else ip, pod)


def _index(hops: list[Hop], component: str) -> int | None:
    return next((i for i, h in enumerate(hops) if h.component == component), None)


def legs(view: MeshView, p: Plan, src: Party, dst_pod: o.Pod | None, dst_ip: str, target_port: int) -> list[Leg]:
    """The connections this plan puts on the wire, in order (empty for data-path failures)."""
    if p.failure or not p.hops:
        return []
    if dst_pod is None and not dst_ip:  # an address only the upstream resolver knows: judge up to the waypoint
        return [leg for leg in legs(view, p, src, None, "0.0.0.0", target_port) if leg.receiver != len(p.hops) - 1]
    hops = p.hops
    last = len(hops) - 1
    dst = _pod_ep(dst_pod, dst_ip)
    if p.path == "kubelet-probe-snat":
        return [Leg(0, last, Wire(Endpoint(probe_snat_ip(dst.ip)), dst, target_port), egress=False)]
    first_sender = _index(hops, "src-ztunnel") or 0
    wp_i = _index(hops, "waypoint")
    wp_pod = p.waypoint.pods[0] if p.waypoint is not None and p.waypoint.pods else None
    zt_i = _index(hops, "dst-ztunnel")
    if view.version.in_pod_redirection or dst_pod is None:
        out: list[Leg] = []
        at = first_sender
        if wp_i is not None and p.path != "hairpin-via-waypoint":
            out.append(Leg(at, wp_i, Wire(_ep(src), _pod_ep(wp_pod), HBONE_PORT)))
            if wp_pod is not None:
                # to a pod: HBONE; to an address outside the mesh (egress waypoint): the connection itself
                out.append(Leg(wp_i, zt_i if zt_i is not None else last,
                               Wire(_pod_ep(wp_pod), dst, HBONE_PORT if dst_pod is not None else target_port)))
            return out
        # ztunnel speaks HBONE to sidecars too (istio.io: sidecars receiving from ambient must admit 15008)
        hbone = hops[at].protocol == "hbone" or (
            src.captured and dst_pod is not None and view.enrollment(dst_pod).mode == "sidecar")
        return [Leg(at, zt_i if zt_i is not None else last, Wire(_ep(src), dst, HBONE_PORT if hbone else target_port))]
    # Node-level redirection: the application's connection at both pods, HBONE only into a waypoint pod.
    out = [Leg(0, 1, Wire(_ep(src), dst, target_port), ingress=False)]
    if wp_i is not None and wp_pod is not None:
        out.append(Leg(wp_i - 1, wp_i, Wire(_ep(src), _pod_ep(wp_pod), HBONE_PORT), egress=False))
        out.append(Leg(wp_i, wp_i + 1, Wire(_pod_ep(wp_pod), dst, HBONE_PORT), ingress=False))
    out.append(Leg(max(last - 1, 0), last, Wire(_ep(src), dst, target_port), egress=False))
    return out


def check_legs(view: MeshView, legs_: list[Leg]) -> tuple[Drop | None, list[tuple[Leg, Side]]]:
    """The first leg a NetworkPolicy drops (if the CNI enforces them), and every verdict in order."""
    nps = policies(view)
    verdicts: list[tuple[Leg, Side]] = []
    for leg in legs_:
        for side in nps.check(leg.wire):
            if (side.direction == "egress" and not leg.egress) or (side.direction == "ingress" and not leg.ingress):
                continue
            verdicts.append((leg, side))
            if not side.allowed and cni(view).enforces is not False:
                return Drop(leg, side), verdicts
    return None, verdicts


def hop_index(p: Plan, component: str) -> int:
    """Where in the hops a policy check happens (a sidecar decides at the server)."""
    i = _index(p.hops, {"sidecar": "server"}.get(component, component))
    return i if i is not None else len(p.hops) - 1


def decided_by(side: Side) -> dict[str, Any]:
    return {"networkPolicy": side.selected_by[0] if len(side.selected_by) == 1 else list(side.selected_by)}


def drop_outcome(view: MeshView, p: Plan, drop: Drop, protocol: str) -> tuple[str, str, str]:
    """(what the client sees, the log line, which log carries it: ztunnelLog | proxyLog | "")."""
    sender = p.hops[drop.leg.sender]
    port = drop.leg.wire.port
    if p.path == "kubelet-probe-snat":
        return ("the probe's connection is never answered: it fails after the probe's timeoutSeconds (default 1 s), "
                "the pod turns unready (readiness) or is restarted (liveness)"), "", ""
    if sender.component == "src-ztunnel" and view.version.in_pod_redirection:
        log = hbone_timeout_log(view) if port == HBONE_PORT else "io error: deadline has elapsed"
        return ("ztunnel accepts the connection locally (the client's connect succeeds), waits "
                f"{CONNECT_TIMEOUT} for its connection to {drop.leg.wire.dst.ip}:{port} and then closes the "
                "client's connection; the request was never read, so the client sees a reset (curl: (56) Recv "
                "failure: Connection reset by peer)"), log, "ztunnelLog"
    if sender.component == "waypoint" or (sender.component == "client" and port == HBONE_PORT):
        if protocol == "http":
            return (f"the proxy's connection to {drop.leg.wire.dst.ip}:{port} times out (Istio's connectTimeout, "
                    f"default {CONNECT_TIMEOUT}) and the client gets HTTP 503 'upstream connect error or "
                    "disconnect/reset before headers. reset reason: connection timeout'"), \
                "response code 503, flags UF", "proxyLog"
        return (f"the proxy's connection to {drop.leg.wire.dst.ip}:{port} times out (default {CONNECT_TIMEOUT}) and "
                "it closes the client's connection"), "", ""
    if drop.leg.sender == 0 or sender.component == "client":
        return ("the SYN is dropped: the client's connect times out (curl: (28) Failed to connect ... Connection "
                "timed out)"), "", ""
    return (f"the connection to {drop.leg.wire.dst.ip}:{port} is never answered and the client's connection is "
            "closed"), "", ""


def drop_reasons(view: MeshView, p: Plan, drop: Drop) -> list[str]:
    sender = p.hops[drop.leg.sender]
    receiver = p.hops[drop.leg.receiver]
    out = [f"on the wire from {sender.component} {sender.name} to {receiver.component} {receiver.name}: "
           f"{drop.side.reason}"]
    if drop.leg.wire.port == HBONE_PORT and view.version.in_pod_redirection:
        out.append(f"ambient sends this hop as HBONE to port {HBONE_PORT}, not the app port: a NetworkPolicy must "
                   f"admit TCP {HBONE_PORT} wherever it admits the app (istio.io ambient/usage/networkpolicy)")
    return out


def cni_warnings(view: MeshView, side: Side) -> list[str]:
    c = cni(view)
    if c.enforces is False:
        return [f"NetworkPolicy {', '.join(side.selected_by)} would {'drop' if not side.allowed else 'limit'} this, "
                f"but the CNI ({c.name}, {c.evidence}) does not enforce NetworkPolicy"]
    if not c.known:
        return ["the CNI was not recognised from the DaemonSets in the snapshot: the verdict assumes it enforces "
                "Kubernetes NetworkPolicy; CNI-specific policies (Cilium, Calico, ...) are not modelled"]
    if c.enforces is None:
        return [f"the CNI ({c.name}, {c.evidence}) may not enforce NetworkPolicy: the verdict assumes it does"]
    return []


def probe_plan(view: MeshView, src: Party, dst_pod: o.Pod, target_port: int) -> Plan | None:
    """A kubelet (a host process on node `src.node`) connecting to a pod on its own node; None when nothing
    special happens (another node's host, or a destination ambient does not capture: plain node traffic)."""
    if src.node != dst_pod.node_name or view.enrollment(dst_pod).mode != "ambient":
        return None
    client = Hop("client", f"node/{src.node}", src.node, "tcp", target_port, src.ip,
                 note="a host process (the kubelet)")
    server = Hop("server", dst_pod.meta.key, dst_pod.node_name, "tcp", target_port, dst_pod.ip)
    v = view.version
    if v.in_pod_redirection:
        snat = probe_snat_ip(dst_pod.ip)
        client.note += f", SNATed to {snat} by istio-cni"
        return Plan("kubelet-probe-snat", [client, server], [], reasons=[
            f"connections from a node-local socket to an enrolled pod are SNATed to {snat} by istio-cni's host rule "
            "(ipset istio-inpod-probes) and accepted by the pod's ISTIO_PRERT chain before ztunnel's redirection "
            "(istio cni/pkg/iptables/iptables.go, 1.21+): ztunnel and its policies never see a probe"])
    why = ("1.18–1.20 cni/pkg/ambient/net_linux.go: 'Mark healthcheck probes from the node IP as skippable'" +
           ("; the 2022 build is assumed to do the same" if v.experimental else ""))
    return Plan("plaintext-passthrough", [client, server], [], reasons=[
        f"istio-cni's node rules skip redirection for connections from the node's own IP ({why}): the probe "
        "reaches the pod as node traffic and ztunnel never sees it"])


def not_evaluated(p: Plan) -> str:
    if p.path == "kubelet-probe-snat":
        return "a kubelet probe: SNATed to 169.254.7.127 and accepted in the pod before ztunnel"
    if p.checks:
        return ""
    return "node traffic: istio-cni does not redirect it to ztunnel"


def drop_doc(view: MeshView, drop: Drop) -> dict[str, Any]:
    """The `networkPolicy` block of a dropped explanation: which end, which connection, which policies."""
    w = drop.leg.wire
    c = cni(view)
    return {"direction": drop.side.direction, "pod": drop.side.pod.meta.key, "policies": list(drop.side.selected_by),
            "connection": {"src": w.src.ip, "dst": w.dst.ip, "port": w.port, "protocol": w.protocol},
            "cni": c.name}


def drop_findings(view: MeshView, drop: Drop) -> list[dict[str, str]]:
    """The describe findings of the pod whose policy dropped this leg that explain this drop (same code)."""
    w = drop.leg.wire
    nps = policies(view)
    # the HBONE finding concerns this flow when the same policy would admit this peer on an app port
    ids = {"networkpolicy-blocks-hbone"} if w.port == HBONE_PORT and w.dst.pod is not None and any(
        nps.side(Wire(w.src, w.dst, port), drop.side.direction).allowed for port in _app_ports(view, w.dst.pod)) \
        else set()
    if drop.leg.wire.src.ip in (PROBE_SNAT_V4, PROBE_SNAT_V6):
        ids.add("networkpolicy-blocks-probes")
    if drop.leg.wire.port == ISTIOD_XDS_PORT:
        ids.add("networkpolicy-blocks-istiod")
    return [f.as_dict() for f in networkpolicy_findings(view, drop.side.pod) if f.id in ids]


def ztunnel_findings(view: MeshView, p: Plan) -> list[dict[str, str]]:
    """`networkpolicy-blocks-istiod` of the ztunnels on this path (the findings describe shows on them)."""
    if not view.cluster.network_policies:
        return []
    names = {h.name for h in p.hops if h.component in ("src-ztunnel", "dst-ztunnel")}
    return [f.as_dict() for z in view.ztunnel_pods() if z.meta.key in names
            for f in networkpolicy_findings(view, z) if f.id == "networkpolicy-blocks-istiod"]


# --- findings (describe pod, and explain's flow findings through drop_findings) -----------------------------------

def _speaks_hbone(view: MeshView, pod: o.Pod) -> bool:
    enr = view.enrollment(pod)
    return enr.mode in ("ambient", "sidecar") or enr.role in ("waypoint", "gateway")


def _app_ports(view: MeshView, pod: o.Pod) -> list[int]:
    ports = {p for c in pod.containers for p in c.ports}
    for svc in view.services_for(pod):
        for sp in svc.ports:
            if isinstance(sp.target_port, int):
                ports.add(sp.target_port)
            else:
                ports.update(c.named_ports[sp.target_port] for c in pod.containers if sp.target_port in c.named_ports)
    return sorted(ports - {HBONE_PORT})


def _names(pods: list[o.Pod], limit: int = 3) -> str:
    keys = sorted({p.meta.key for p in pods})
    return ", ".join(keys[:limit]) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def networkpolicy_findings(view: MeshView, pod: o.Pod) -> list[Finding]:
    """NetworkPolicies that break ambient for this pod: HBONE (15008) blocked where the app port is admitted,
    kubelet probes (169.254.7.127) dropped, ztunnel cut off from istiod (15012)."""
    if not view.cluster.network_policies or cni(view).enforces is False:
        return []
    nps = policies(view)
    out: list[Finding] = []
    v = view.version
    if v.in_pod_redirection and nps.selecting(pod, "ingress") and _speaks_hbone(view, pod):
        clients = [q for q in view.cluster.pods if q is not pod and q.ip and _speaks_hbone(view, q) and
                   (view.enrollment(pod).mode != "sidecar" or view.enrollment(q).mode == "ambient")]
        out += _hbone_finding(view, nps, pod, "ingress", clients)
    if v.in_pod_redirection and nps.selecting(pod, "egress") and _speaks_hbone(view, pod):
        servers = [q for q in view.cluster.pods if q is not pod and q.ip and _speaks_hbone(view, q)
                   and view.enrollment(q).role != "gateway"]
        out += _hbone_finding(view, nps, pod, "egress", servers)
    if v.in_pod_redirection and view.enrollment(pod).mode == "ambient" and nps.selecting(pod, "ingress"):
        out += _probe_finding(view, nps, pod)
    out += _istiod_finding(view, nps, pod)
    return out


def _hbone_finding(view: MeshView, nps: NetworkPolicies, pod: o.Pod, direction: str,
                   peers: list[o.Pod]) -> list[Finding]:
    blocked: list[o.Pod] = []
    admitted_ports: set[int] = set()
    keys: list[str] = []
    for q in peers:
        a, b = (q, pod) if direction == "ingress" else (pod, q)
        side = nps.side(Wire(_pod_ep(a), _pod_ep(b), HBONE_PORT), direction)
        if side.allowed:
            continue
        ports = [port for port in _app_ports(view, b) if nps.side(Wire(_pod_ep(a), _pod_ep(b), port), direction).allowed]
        if ports:
            blocked.append(q)
            admitted_ports.update(ports)
            keys = keys or side.selected_by
    if not blocked:
        return []
    scopes = tuple(s for q in blocked for s in (_direct_scopes(view, q, pod) if direction == "ingress"
                                                  else _direct_scopes(view, pod, q)))
    objects = tuple(ref("NetworkPolicy", k) for k in keys) + (ref("Pod", pod.meta.key),)
    ports = ", ".join(f"TCP {p}" for p in sorted(admitted_ports))
    who = "from" if direction == "ingress" else "to"
    if direction == "ingress":
        why = (f"in ambient mode (Istio {view.version}) captured clients, sidecars and waypoints reach this pod on "
               f"HBONE port {HBONE_PORT}, not the app port, so the CNI drops them")
    else:
        why = (f"ztunnel (Istio {view.version}) sends this pod's traffic as HBONE to port {HBONE_PORT} of the "
               "destination or its waypoint from inside the pod, so the CNI drops it")
    return [Finding(
        "networkpolicy-blocks-hbone", "error",
        f"NetworkPolicy {', '.join(keys)} admits {ports} {who} {_names(blocked)} but not HBONE port {HBONE_PORT}: "
        f"{why}; the client's ztunnel waits {CONNECT_TIMEOUT} and logs '{hbone_timeout_log(view)}'. Admit TCP "
        f"{HBONE_PORT} wherever the app port is admitted (istio.io ambient/usage/networkpolicy).",
        objects, scopes,
        why="in-pod redirection (1.21+) sends HBONE from the client pod to port 15008 of the destination or "
            "waypoint pod (istio.io ambient/usage/networkpolicy)",
        fix=f"add `- {{port: {HBONE_PORT}, protocol: TCP}}` to the ports of the rule that admits the app port")]


def _direct_scopes(view: MeshView, client: o.Pod, server: o.Pod) -> list[FlowScope]:
    """The explained flows in which `client` opens a connection straight to `server`'s pod (no waypoint between):
    a waypoint pod's flows through it, else calls by pod IP or to a service without a waypoint (1.22+), or
    anything when the destination has no waypoint (earlier eras pick the waypoint per workload)."""
    wp = view.waypoint_of_pod(client)
    dst = ref("Pod", server.meta.key)
    if wp is not None:
        return [FlowScope(destination=dst, waypoint=ref("Gateway", wp.key))]
    served = view.waypoint_of_pod(server)
    if served is not None:  # the client sends to this waypoint pod: flows through it
        return [FlowScope(source=ref("Pod", client.meta.key), waypoint=ref("Gateway", served.key))]
    src = ref("Pod", client.meta.key)
    if view.workload_waypoint(server).waypoint is not None:
        return []
    if not view.version.current:
        return [FlowScope(destination=dst, source=src)]
    out = [FlowScope(destination=dst, source=src, addressed_by=("pod-ip",))]
    out += [FlowScope(destination=dst, source=src, service=ref("Service", s.meta.key))
            for s in view.services_for(server) if view.service_waypoint(s).waypoint is None]
    return out


def _probe_ports(pod: o.Pod) -> list[tuple[str, int]]:
    out = []
    for c in pod.containers:
        for pr in c.probes:
            port = pr.port if isinstance(pr.port, int) else c.named_ports.get(pr.port)
            if port is not None:
                out.append((pr.kind, port))
    return out


def _probe_finding(view: MeshView, nps: NetworkPolicies, pod: o.Pod) -> list[Finding]:
    snat = probe_snat_ip(pod.ip)
    dropped = [(kind, port) for kind, port in _probe_ports(pod)
               if not nps.side(Wire(Endpoint(snat), _pod_ep(pod), port), "ingress").allowed]
    if not dropped:
        return []
    keys = nps.side(Wire(Endpoint(snat), _pod_ep(pod), dropped[0][1]), "ingress").selected_by
    c = cni(view)
    what = ", ".join(f"{k} probe on {p}" for k, p in dict.fromkeys(dropped))
    fix = (f"add an ingress rule with ipBlock {snat}/{32 if ':' not in snat else 128} "
           "(istio.io ambient/usage/networkpolicy)")
    if c.name == "cilium":
        fix = (f"with Cilium, allow it cluster-wide with a CiliumClusterwideNetworkPolicy (fromCIDR {snat}/32 for "
               "all endpoints), as the Istio docs prescribe for Cilium with any default-deny policy "
               "(istio.io ambient/install/platform-prerequisites), or " + fix)
    elif not c.known:
        fix += "; the CNI was not recognised, so whether it treats the SNAT address as node traffic is unknown"
    objects = tuple(ref("NetworkPolicy", k) for k in keys) + (ref("Pod", pod.meta.key),)
    scope = FlowScope(destination=ref("Pod", pod.meta.key), callers=("node",), ports=tuple(p for _, p in dropped))
    return [Finding(
        "networkpolicy-blocks-probes", "error",
        f"NetworkPolicy {', '.join(keys)} isolates this pod for ingress and admits no connection from {snat}: "
        f"istio-cni SNATs kubelet probes to that address (Istio {view.version}, in-pod mode), so the CNI no longer "
        f"sees them as node traffic and drops the {what}; the pod turns unready or is restarted. To fix, {fix}.",
        objects, (scope,),
        why="in-pod redirection (1.21+) SNATs kubelet probes to 169.254.7.127 (istio cni/pkg/iptables/iptables.go)",
        fix=fix)]


def _istiod_finding(view: MeshView, nps: NetworkPolicies, pod: o.Pod) -> list[Finding]:
    role = view.enrollment(pod).role
    if role == "ztunnel":
        pairs = [(pod, d) for d in view.install.istiod]
    elif role == "istiod":
        pairs = [(z, pod) for z in view.ztunnel_pods()]
    else:
        return []
    for z, d in pairs:
        for side in nps.check(Wire(_pod_ep(z), _pod_ep(d), ISTIOD_XDS_PORT)):
            if not side.allowed:
                return [Finding(
                    "networkpolicy-blocks-istiod", "error",
                    f"NetworkPolicy {', '.join(side.selected_by)} drops ztunnel {z.meta.key} -> istiod {d.meta.key}:"
                    f"{ISTIOD_XDS_PORT} ({side.direction} of {side.pod.meta.key}): ztunnel gets its configuration "
                    "(XDS) and workload certificates from istiod on that port, so on that node new workloads are "
                    "unknown and certificates cannot be issued or renewed ('failed to fetch information about local "
                    "workload', identity errors). Admit TCP 15012 from the ztunnel pods to istiod.",
                    tuple(ref("NetworkPolicy", k) for k in side.selected_by) + (ref("Pod", z.meta.key),),
                    fix="admit TCP 15012 from the ztunnel pods to istiod")]
    return []
