"""Where to capture, per Istio era: which pod's network namespace, which interface, which BPF filter — and why.

Pure: reads a MeshView (and explain's path planner for SRC/DST pairs), touches no cluster.

The rules (research/istio.md §2.1, §3; research/observability.md §5.6; seed 001):
- In-pod redirection (1.21+): istio-cni hands ztunnel the pod's netns and ztunnel listens on 15001/15006/15008
  *inside* it. HBONE (TLS on 15008) enters and leaves on the pod's eth0; the plaintext legs (app -> 15001 after
  the nat OUTPUT REDIRECT, ztunnel -> app after 15006/15008) run over the pod's loopback. ztunnel's own netns
  carries only its control traffic. Kubelet probes arrive SNAT'd to 169.254.7.127.
- Node-level redirection (<=1.20 and the 2022 experimental builds): the app pod sends plaintext out of its eth0;
  istio-cni steers it on the node (geneve tunnels istioin/istioout) to the node's ztunnel pod, whose eth0 carries
  the plaintext from local pods and the HBONE between nodes. istio-cni probes ztunnel's readiness (15021), so the
  seed filters ztunnel captures by pod IP (`ip.addr==…`, which in Wireshark also matches the inner geneve
  header; BPF needs `geneve and …` to look inside).
- Waypoints are Envoy pods that speak HBONE themselves: HBONE in and out on their eth0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ambientctl.errors import NotFound, UsageError
from ambientctl.mesh.view import MeshView
from ambientctl.model import objects as o

HBONE_PORT = 15008
OUTBOUND_PORT = 15001
INBOUND_PLAIN_PORT = 15006
READINESS_PORT = 15021
PROBE_SNAT_IP = "169.254.7.127"  # istio-cni SNATs kubelet probes to this address (in-pod mode)

NOT_LOOPBACK_ONLY = "not (src net 127.0.0.0/8 and dst net 127.0.0.0/8)"


@dataclass
class CapturePoint:
    """One tcpdump: a pod's network namespace, an interface in it, a filter, and the reason it is there."""

    pod: o.Pod
    role: str  # client | server | src-ztunnel | dst-ztunnel | waypoint | pod | ztunnel
    interface: str
    filter: str
    sees: list[str]  # hbone | plaintext | control
    why: str
    container: str = ""  # targetContainerName for the ephemeral container

    @property
    def name(self) -> str:
        """A short, file-name-safe label: `<role>-<pod>-<iface>`."""
        return f"{self.role}-{self.pod.meta.name}-{self.interface}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "pod": self.pod.meta.name,
            "namespace": self.pod.meta.namespace,
            "node": self.pod.node_name or None,
            "ip": self.pod.ip or None,
            "container": self.container or None,
            "interface": self.interface,
            "filter": self.filter,
            "sees": list(self.sees),
            "why": self.why,
        }


@dataclass
class CapturePlan:
    target: str
    istio_version: str
    redirection: str  # in-pod | node-level
    points: list[CapturePoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    path: str = ""  # explain's path for a SRC/DST pair
    # the proxies on a SRC/DST path, (role, pod): whose logs tell what happened (trace reads them)
    proxies: list[tuple[str, o.Pod]] = field(default_factory=list)
    client: o.Pod | None = None  # the source pod of a SRC/DST pair (trace fires the request from it)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"target": self.target, "istioVersion": self.istio_version,
                             "redirection": self.redirection}
        if self.path:
            d["path"] = self.path
        d["points"] = [p.as_dict() for p in self.points]
        d["notes"] = list(self.notes)
        return d

    def add(self, point: CapturePoint) -> None:
        """Add a point; the same pod and interface twice becomes one tcpdump with both filters."""
        for p in self.points:
            if p.pod is point.pod and p.interface == point.interface:
                if point.filter != p.filter:
                    p.filter = f"({p.filter}) or ({point.filter})" if p.filter and point.filter else ""
                if point.role != p.role and point.role not in p.role.split("+"):
                    p.role = f"{p.role}+{point.role}"
                p.sees = list(dict.fromkeys(p.sees + point.sees))
                if point.why not in p.why:
                    p.why = f"{p.why} {point.why}"
                return
        self.points.append(point)

    def override(self, interface: str | None = None, bpf: str | None = None) -> None:
        """--interface / --filter: the user's choice replaces the planned one on every point."""
        if interface:
            merged: list[CapturePoint] = []
            for p in self.points:
                p.interface = interface
                if any(m.pod is p.pod for m in merged):
                    continue
                merged.append(p)
            self.points = merged
        if bpf is not None:
            for p in self.points:
                p.filter = bpf


def redirection_mode(view: MeshView) -> str:
    return "in-pod" if view.version.in_pod_redirection else "node-level"


def app_container(pod: o.Pod) -> str:
    """The container to share namespaces with: the first one that is not Istio's."""
    names = [c.name for c in pod.containers]
    for n in names:
        if n != "istio-proxy":
            return n
    return names[0] if names else ""


def _host_filter(ips: list[str]) -> str:
    """`host A or host B`, and the same inside geneve (node-level redirection tunnels pod traffic to ztunnel)."""
    ips = [ip for ip in dict.fromkeys(ips) if ip]
    hosts = " or ".join(f"host {ip}" for ip in ips)
    if not hosts:
        return f"not tcp port {READINESS_PORT}"
    return f"{hosts} or (geneve and ({hosts}))"


# --- single pods --------------------------------------------------------------------------------------------


def resolve_capture_target(view: MeshView, ref: str, namespace: str | None = None) -> o.Pod:
    """A pod reference, or `ztunnel/<node>` / `node/<node>` for the ztunnel serving that node."""
    from ambientctl.mesh.refs import resolve_pod

    kind, sep, rest = ref.partition("/")
    if sep and kind.lower() in ("ztunnel", "node", "no", "nodes"):
        zt = view.install.ztunnels.get(rest)
        if zt is None:
            nodes = sorted(view.install.ztunnels)
            known = f" (nodes with a ztunnel: {', '.join(nodes)})" if nodes else " (no ztunnel pods found)"
            raise NotFound(f"no ztunnel on node {rest!r}{known}")
        return zt
    return resolve_pod(view.cluster, ref, namespace)


def plan_pod(view: MeshView, pod: o.Pod, target: str | None = None) -> CapturePlan:
    plan = CapturePlan(target or pod.meta.key, view.version.label, redirection_mode(view))
    in_pod = view.version.in_pod_redirection
    enr = view.enrollment(pod)
    cont = app_container(pod)
    if pod.host_network:
        plan.add(CapturePoint(pod, "pod", "any", "tcp", ["plaintext"],
                              "a hostNetwork pod shares the node's network namespace: this captures the whole "
                              "node's TCP traffic on every interface", cont))
        plan.notes.append(f"{pod.meta.key} uses hostNetwork and is never captured by ztunnel")
        return plan
    if enr.role == "ztunnel":
        _ztunnel_points(view, plan, pod, "ztunnel", [])
        return plan
    if enr.role == "waypoint":
        plan.add(_waypoint_point(pod, "waypoint"))
        return plan
    if enr.mode == "sidecar":
        plan.add(CapturePoint(pod, "pod", "eth0", "tcp", ["mtls"],
                              "an Istio sidecar terminates mTLS inside the pod: mesh traffic is TLS on eth0", cont))
        plan.add(CapturePoint(pod, "pod", "lo", f"tcp and {NOT_LOOPBACK_ONLY}", ["plaintext"],
                              "the sidecar exchanges plaintext with the app over the pod's loopback", cont))
        return plan
    if enr.mode != "ambient":
        plan.add(CapturePoint(pod, "pod", "eth0", "tcp", ["plaintext"],
                              f"not captured by ztunnel ({enr.reason}): its traffic is plain TCP on eth0", cont))
        return plan
    if in_pod:
        plan.add(_inpod_eth0(pod, "pod", f"tcp and not host {PROBE_SNAT_IP}"))
        plan.add(_inpod_lo(pod, "pod", f"tcp and {NOT_LOOPBACK_ONLY}"))
    else:
        plan.add(_nodelevel_app(view, pod, "pod", "tcp"))
        zt = view.ztunnel_for(pod)
        if zt is None:
            plan.notes.append(f"no ztunnel pod found on node {pod.node_name or '?'}: its HBONE cannot be captured")
        else:
            _ztunnel_points(view, plan, zt, "ztunnel", [pod.ip])
    return plan


def _inpod_eth0(pod: o.Pod, role: str, bpf: str) -> CapturePoint:
    return CapturePoint(pod, role, "eth0", bpf, ["hbone"],
                        "in-pod redirection (Istio 1.21+): ztunnel's listeners run inside this pod's netns, so "
                        f"HBONE (mTLS on {HBONE_PORT}) enters and leaves on its eth0", app_container(pod))


def _inpod_lo(pod: o.Pod, role: str, bpf: str) -> CapturePoint:
    return CapturePoint(pod, role, "lo", bpf, ["plaintext"],
                        "in-pod redirection: the plaintext legs between the app and ztunnel (outbound redirected to "
                        f"{OUTBOUND_PORT}, inbound delivered from {INBOUND_PLAIN_PORT}/{HBONE_PORT}) run over the "
                        "pod's loopback", app_container(pod))


def _nodelevel_app(view: MeshView, pod: o.Pod, role: str, bpf: str) -> CapturePoint:
    node = view.cluster.nodes.get(pod.node_name)
    why = (f"node-level redirection (Istio {view.version}): the app's traffic leaves and enters its eth0 as "
           "plaintext; istio-cni steers it to ztunnel on the node")
    if node is not None and node.internal_ip and bpf == "tcp":
        bpf = f"tcp and not host {node.internal_ip}"
        why += f"; kubelet probes from the node ({node.internal_ip}) are filtered out"
    return CapturePoint(pod, role, "eth0", bpf, ["plaintext"], why, app_container(pod))


def _waypoint_point(pod: o.Pod, role: str) -> CapturePoint:
    return CapturePoint(pod, role, "eth0", f"tcp port {HBONE_PORT}", ["hbone"],
                        f"a waypoint is an Envoy pod that speaks HBONE itself: HBONE in and out on {HBONE_PORT} "
                        f"on its eth0 (readiness probes on {READINESS_PORT} filtered out)", app_container(pod))


def _ztunnel_points(view: MeshView, plan: CapturePlan, zt: o.Pod, role: str, ips: list[str]) -> None:
    if view.version.in_pod_redirection:
        plan.add(CapturePoint(zt, role, "eth0", f"not tcp port {READINESS_PORT}", ["control"],
                              "in-pod redirection (Istio 1.21+): ztunnel handles workload traffic inside each pod's "
                              "netns, so its own eth0 carries only its control traffic (xDS and certificates from "
                              "istiod on 15012); readiness probes are filtered out", app_container(zt)))
        if not ips:
            plan.notes.append(f"workload traffic is not visible in {zt.meta.key}'s own network namespace: capture "
                              f"the pods on node {zt.node_name} instead (ambientctl capture POD)")
        return
    plan.add(CapturePoint(zt, role, "eth0", _host_filter(ips), ["plaintext", "hbone"],
                          f"node-level redirection (Istio {view.version}): istio-cni tunnels the node's captured pods "
                          "to ztunnel, so their plaintext and the HBONE between nodes cross its eth0; filtered by "
                          "pod IP (also inside geneve) because istio-cni probes ztunnel's readiness (seed 001)",
                          app_container(zt)))


# --- SRC/DST pairs -------------------------------------------------------------------------------------------


def plan_pair(view: MeshView, src_ref: str, dst_ref: str, namespace: str | None = None,
              port: int | None = None) -> CapturePlan:
    """Both ends, their ztunnels (node-level) and the waypoint, from explain's path for the request."""
    from ambientctl.explain.path import plan as path_plan
    from ambientctl.explain.target import resolve_source, resolve_target

    src = resolve_source(view, src_ref, namespace)
    tgt = resolve_target(view, dst_ref, namespace, port)
    dst_pod = tgt.endpoints[0] if tgt.endpoints else None
    service = tgt.service if tgt.addressed == "service" else None
    target_port = tgt.target_port(dst_pod) if dst_pod else tgt.port
    path = path_plan(view, src, dst_pod, tgt.ip, tgt.port, target_port, service)

    cp = CapturePlan(f"{src_ref} -> {dst_ref}", view.version.label, redirection_mode(view), path=path.path)
    in_pod = view.version.in_pod_redirection
    dst_addr = tgt.ip
    wp_pods = path.waypoint.pods if path.waypoint else []
    cp.client = src.pod
    for hop in path.hops:
        owner = src.pod if hop.component == "src-ztunnel" else dst_pod if hop.component == "dst-ztunnel" else None
        zt = view.ztunnel_for(owner) if owner is not None else None
        if zt is not None and all(p is not zt for _r, p in cp.proxies):
            cp.proxies.append((hop.component, zt))
        if hop.component == "waypoint":
            cp.proxies += [("waypoint", p) for p in wp_pods]
    for hop in path.hops:
        if hop.component == "client":
            if src.pod is None:
                cp.notes.append(f"the client {src.ip or src.ref} is no pod: nothing to attach to on its side")
                continue
            if src.pod.host_network:
                cp.notes.append(f"the client {src.pod.meta.key} uses hostNetwork: capturing it would capture its "
                                "whole node; its traffic is seen at the next hop")
                continue
            if src.captured and in_pod:
                peer = wp_pods[0].ip if wp_pods else (dst_pod.ip if dst_pod else dst_addr)
                cp.add(_inpod_eth0(src.pod, "client", f"tcp port {HBONE_PORT} and host {peer}"
                                   if peer else f"tcp port {HBONE_PORT}"))
                cp.add(_inpod_lo(src.pod, "client", f"tcp port {OUTBOUND_PORT}"))
            elif src.captured:
                cp.add(_nodelevel_app(view, src.pod, "client", f"tcp and host {dst_addr}"))
            else:
                cp.add(CapturePoint(src.pod, "client", "eth0", f"tcp and host {dst_addr}", ["plaintext"],
                                    f"the client is not captured by ztunnel ({view.enrollment(src.pod).reason}): "
                                    "its request leaves eth0 as plaintext", app_container(src.pod)))
        elif hop.component in ("src-ztunnel", "dst-ztunnel"):
            if in_pod:
                continue  # ztunnel works inside the client's / server's netns: their eth0 and lo points
            zt_owner = src.pod if hop.component == "src-ztunnel" else dst_pod
            zt = view.ztunnel_for(zt_owner) if zt_owner is not None else None
            if zt is None:
                cp.notes.append(f"no ztunnel found for {hop.component} ({hop.name}); nothing to capture there")
                continue
            ips = [src.ip, dst_addr] if hop.component == "src-ztunnel" else [dst_pod.ip if dst_pod else dst_addr]
            if hop.component == "dst-ztunnel" and src.pod is not None and zt is view.ztunnel_for(src.pod):
                ips = [src.ip, dst_addr, *ips]  # same node: one ztunnel serves both sides (fast path <=1.21)
            if hop.component == "dst-ztunnel" and path.path == "hairpin-via-waypoint":
                ips = [src.ip, *ips, *(p.ip for p in wp_pods)]
            cp.add(CapturePoint(zt, hop.component, "eth0", _host_filter(ips), ["plaintext", "hbone"],
                                f"node-level redirection (Istio {view.version}): {hop.component} {zt.meta.key} "
                                f"handles this request in its own netns, so its plaintext and HBONE legs cross its "
                                "eth0; filtered by the pods' IPs (also inside geneve) to keep istio-cni's readiness "
                                "probes out (seed 001)", app_container(zt)))
        elif hop.component == "waypoint":
            if not wp_pods:
                cp.notes.append(f"waypoint {hop.name} has no pod to capture")
                continue
            cp.add(_waypoint_point(wp_pods[0], "waypoint"))
        elif hop.component == "server":
            if dst_pod is None:
                cp.notes.append(f"the destination {dst_addr} is no pod: nothing to attach to on its side")
                continue
            enr = view.enrollment(dst_pod)
            if dst_pod.host_network:
                cp.notes.append(f"the destination {dst_pod.meta.key} uses hostNetwork: not captured")
                continue
            if enr.mode == "ambient" and in_pod:
                cp.add(_inpod_eth0(dst_pod, "server", f"tcp port {HBONE_PORT} or tcp port {target_port}"))
                cp.add(_inpod_lo(dst_pod, "server", f"tcp port {target_port}"))
            elif enr.mode == "ambient":
                cp.add(_nodelevel_app(view, dst_pod, "server", f"tcp port {target_port}"))
            else:
                cp.add(CapturePoint(dst_pod, "server", "eth0", f"tcp port {target_port}", ["plaintext"],
                                    f"the server is not captured by ztunnel ({enr.reason}): the request arrives on "
                                    "eth0 as it was sent", app_container(dst_pod)))
    if not cp.points:
        raise UsageError(f"nothing to capture between {src_ref} and {dst_ref}: neither end nor any hop is a pod")
    return cp


def plan_capture(view: MeshView, targets: list[str], namespace: str | None = None,
                 port: int | None = None) -> CapturePlan:
    """`capture TARGET` (a pod, ztunnel/<node>, node/<node>) or `capture SRC DST`."""
    if len(targets) == 1:
        pod = resolve_capture_target(view, targets[0], namespace)
        return plan_pod(view, pod, targets[0])
    if len(targets) == 2:
        return plan_pair(view, targets[0], targets[1], namespace, port)
    raise UsageError("give one TARGET (a pod, ztunnel/NODE or node/NODE) or a SRC DST pair")
