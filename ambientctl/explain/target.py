"""Resolve `explain SRC DST` references into parties and endpoints, the way the data plane addresses them.

SRC: a workload reference (`sleep`, `deploy/sleep.default`, `pod/x`) or an IP; an IP of no pod is a client
outside the mesh. DST: a service (`productpage`, `productpage.default:9080`, FQDN, or its VIP), a workload
reference (addressed by pod IP), an IP, or a host outside the cluster's Services (`httpbin.org:443`, a
ServiceEntry host or address; explain/egress.py). The port must be one the service exposes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ambientctl.errors import AmbientctlError, NotFound, UsageError
from ambientctl.explain.egress import port_for
from ambientctl.explain.path import Party, party_for_pod
from ambientctl.mesh.egress import EntryMatch, entries_for_host, entry_with_address
from ambientctl.mesh.refs import (
    is_ip,
    names_workload_kind,
    not_found,
    parse_ref,
    resolve_pod,
    resolve_service,
    split_port,
)
from ambientctl.mesh.view import MeshView
from ambientctl.model import objects as o


@dataclass
class Target:
    ref: str
    addressed: str  # service | pod | ip | external (a hostname, or the address of a ServiceEntry)
    ip: str  # the address the client connects to (VIP, pod IP or bare IP; "" for a hostname: resolved per client)
    port: int  # the port the client connects to
    service: o.Service | None = None
    service_port: o.ServicePort | None = None
    endpoints: list[o.Pod] = field(default_factory=list)
    host: str = ""  # external: the hostname the client asks DNS for ("" when it dialed an address)
    entry: EntryMatch | None = None  # external by address: the ServiceEntry owning it

    def target_port(self, pod: o.Pod) -> int:
        """The pod port a service port maps to (a named targetPort resolves per endpoint)."""
        sp = self.service_port
        if sp is None:
            return self.port
        if isinstance(sp.target_port, int):
            return sp.target_port
        for c in pod.containers:
            if sp.target_port in c.named_ports:
                return c.named_ports[sp.target_port]
        return sp.port

    def as_dict(self, view: MeshView) -> dict:
        d: dict = {"ref": self.ref, "kind": {"service": "Service", "pod": "Pod", "ip": "IP"}[self.addressed],
                   "ip": self.ip, "port": self.port}
        if self.service is not None:
            d.update(namespace=self.service.meta.namespace, name=self.service.meta.name,
                     host=f"{self.service.meta.name}.{self.service.meta.namespace}.svc.cluster.local")
        elif self.endpoints:
            p = self.endpoints[0]
            d.update(namespace=p.meta.namespace, name=p.meta.name)
        if len(self.endpoints) == 1:
            p = self.endpoints[0]
            enr = view.enrollment(p)
            d.update(identity=view.identity(p) if enr.mode in ("ambient", "sidecar") else None,
                     captured=enr.mode == "ambient", mode=enr.mode)
        return d


def resolve_source(view: MeshView, ref: str, namespace: str | None) -> Party:
    if ref.lower().startswith("node/"):
        return _node_source(view, ref)
    host, _ = split_port(ref)
    if is_ip(host):
        pods = view.cluster.pods_with_ip(host.strip("[]"))
        if pods:
            return party_for_pod(view, pods[0], ref)
        return Party(ref=ref, kind="IP", ip=host.strip("[]"), mode="none", known=False)
    pod = resolve_pod(view.cluster, ref, namespace)
    if not pod.ip:
        raise AmbientctlError(f"pod {pod.meta.key} has no IP yet (phase {pod.phase or 'unknown'}): it cannot send "
                              "anything; explain again once it runs")
    return party_for_pod(view, pod, ref)


def resolve_target(view: MeshView, ref: str, namespace: str | None, port: int | None) -> Target:
    host, ref_port = split_port(ref)
    if ref_port is not None and port is not None and ref_port != port:
        raise UsageError(f"{ref!r} names port {ref_port} but --port is {port}")
    port = ref_port or port
    cluster = view.cluster
    if is_ip(host):
        ip = host.strip("[]")
        svc = cluster.service_with_vip(ip)
        if svc is not None:
            return _service_target(view, ref, svc, port, ip)
        pods = cluster.pods_with_ip(ip)
        if pods:
            return _pod_target(ref, pods[0], port)
        entry = entry_with_address(cluster.service_entries, ip)
        if entry is not None:
            return Target(ref, "external", ip, port_for(entry, port, ref), entry=entry)
        if port is None:
            raise UsageError(f"{ref!r}: give a port (IP:PORT or --port)")
        return Target(ref, "ip", ip, port)
    if not names_workload_kind(host) and "Service" in cluster.unreadable:  # the name may be a service's
        raise AmbientctlError(f"cannot tell whether {host!r} names a service: could not read Service "
                              f"({cluster.unreadable['Service']}); name the workload (deploy/NAME, pod/NAME) or "
                              "use a context allowed to list services")
    svc = None if names_workload_kind(host) else resolve_service(cluster, host, namespace)
    if svc is not None:
        return _service_target(view, ref, svc, port, None)
    if "/" not in host and _external_host(cluster, host):
        matches = entries_for_host(cluster.service_entries, host)
        return Target(ref, "external", "", port_for(matches[0] if matches else None, port, ref), host=host.lower())
    readings = parse_ref(cluster, host, namespace)
    if all(r.kind == "service" for r in readings):
        raise not_found(cluster, readings[0], with_services=True)
    try:
        pod = resolve_pod(cluster, host, namespace)
    except NotFound:
        raise not_found(cluster, readings[0], with_services=not names_workload_kind(host)) from None
    return _pod_target(ref, pod, port)


def _external_host(cluster, host: str) -> bool:  # type: ignore[no-untyped-def]
    """A name no Service owns that a ServiceEntry knows, or a dotted name whose last label is no namespace (so
    `sleep.legacy` stays a workload reference and `httpbin.org` is a host)."""
    if entries_for_host(cluster.service_entries, host):
        return True
    if "." not in host:
        return False
    suffix = host.rsplit(".", 1)[1]
    return suffix not in cluster.namespaces and not cluster.pods_in(suffix)


def _service_target(view: MeshView, ref: str, svc: o.Service, port: int | None, vip: str | None) -> Target:
    if not svc.ports:
        raise UsageError(f"service {svc.meta.key} exposes no ports")
    if port is None:
        if len(svc.ports) > 1:
            raise UsageError(f"service {svc.meta.key} exposes several ports "
                             f"({', '.join(str(p.port) for p in svc.ports)}): give one with :PORT or --port")
        sp = svc.ports[0]
    else:
        sp = next((p for p in svc.ports if p.port == port), None)
        if sp is None:
            raise UsageError(f"service {svc.meta.key} does not expose port {port} "
                             f"(it exposes {', '.join(str(p.port) for p in svc.ports)})")
    ips = [ip for ip in svc.cluster_ips if ip and ip != "None"]
    endpoints = sorted(view.pods_for(svc), key=lambda p: p.meta.name)
    addressed = "service" if ips else "pod"  # a headless service resolves to pod IPs
    if not ips and not vip and not endpoints:
        raise AmbientctlError(f"service {svc.meta.key} is headless and no pod it selects has an IP yet: its name "
                              "resolves to nothing to connect to")
    return Target(ref, addressed, vip or (ips[0] if ips else ""), sp.port, svc, sp, endpoints)


def _pod_target(ref: str, pod: o.Pod, port: int | None) -> Target:
    if port is None:
        ports = [p for c in pod.containers for p in c.ports]
        if len(ports) != 1:
            raise UsageError(f"pod {pod.meta.key}: give a port (NAME:PORT or --port)")
        port = ports[0]
    if not pod.ip:
        raise AmbientctlError(f"pod {pod.meta.key} has no IP yet (phase {pod.phase or 'unknown'}): nothing can "
                              "connect to it; explain again once it runs, or name its service")
    return Target(ref, "pod", pod.ip, port, endpoints=[pod])


def _node_source(view: MeshView, ref: str) -> Party:
    """`node/NAME`: a host process on that node — the kubelet, for probes."""
    name = ref.split("/", 1)[1]
    nodes = set(view.cluster.nodes) | {p.node_name for p in view.cluster.pods if p.node_name}
    if name not in nodes:
        import difflib

        close = difflib.get_close_matches(name, sorted(nodes), n=1)
        raise NotFound(f"no node named {name!r}", hint=f"did you mean 'node/{close[0]}'?" if close else
                       f"nodes: {', '.join(sorted(nodes)) or 'none in the snapshot'}")
    node = view.cluster.nodes.get(name)
    return Party(ref=ref, kind="Node", ip=node.internal_ip if node else "", name=name, mode="none", role="kubelet",
                 known=False, node=name)
