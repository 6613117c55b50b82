"""Which L7 routing objects (HTTPRoute, VirtualService, DestinationRule) attach to a Service.

In ambient mode only a waypoint applies them; ztunnel balances connections round-robin and ignores L7 routing
(research/istio.md §6.1 step 6), so a route for a service without a waypoint is silently not applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from ambientctl.model import Cluster
from ambientctl.model import objects as o


@dataclass
class AttachedRoute:
    kind: str  # HTTPRoute | GRPCRoute | VirtualService | DestinationRule
    obj: object
    host: str  # the host or parentRef that matched

    @property
    def key(self) -> str:
        return self.obj.meta.key  # type: ignore[attr-defined]


def service_hosts(svc: o.Service, domain: str = "cluster.local") -> set[str]:
    n, ns = svc.meta.name, svc.meta.namespace
    return {f"{n}.{ns}", f"{n}.{ns}.svc", f"{n}.{ns}.svc.{domain}"}


def host_matches(host: str, svc: o.Service, obj_ns: str, domain: str = "cluster.local") -> bool:
    """Istio host matching: a short name resolves in the object's namespace; `*` wildcards match suffixes."""
    fq = service_hosts(svc, domain)
    if host in fq:
        return True
    if "." not in host:
        return host == svc.meta.name and obj_ns == svc.meta.namespace
    if host.startswith("*"):
        return f"{svc.meta.name}.{svc.meta.namespace}.svc.{domain}".endswith(host[1:])
    return False


def routes_for(cluster: Cluster, svc: o.Service, domain: str = "cluster.local") -> list[AttachedRoute]:
    out: list[AttachedRoute] = []
    for r in cluster.http_routes:
        for ref in r.parent_refs:
            if ref.get("kind") == "Service" and ref.get("name") == svc.meta.name and (
                ref.get("namespace") or r.meta.namespace
            ) == svc.meta.namespace:
                out.append(AttachedRoute(r.meta.kind, r, f"Service {svc.meta.key}"))
                break
    for vs in cluster.virtual_services:
        if vs.gateways and "mesh" not in vs.gateways:
            continue  # bound to ingress gateways only
        host = next((h for h in vs.hosts if host_matches(h, svc, vs.meta.namespace, domain)), None)
        if host:
            out.append(AttachedRoute("VirtualService", vs, host))
    for dr in cluster.destination_rules:
        if dr.host and host_matches(dr.host, svc, dr.meta.namespace, domain):
            out.append(AttachedRoute("DestinationRule", dr, dr.host))
    return out
