"""The cluster as ambientctl sees it: every object read from one source, indexed for the lookups the mesh
view does on every call (pods by namespace and IP, services by namespace and VIP)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ambientctl.model import objects as o


@dataclass
class Cluster:
    namespaces: dict[str, o.Namespace] = field(default_factory=dict)
    nodes: dict[str, o.Node] = field(default_factory=dict)
    pods: list[o.Pod] = field(default_factory=list)
    services: list[o.Service] = field(default_factory=list)
    service_accounts: list[o.ServiceAccount] = field(default_factory=list)
    gateways: list[o.Gateway] = field(default_factory=list)
    gateway_classes: dict[str, o.GatewayClass] = field(default_factory=dict)
    authorization_policies: list[o.AuthorizationPolicy] = field(default_factory=list)
    peer_authentications: list[o.PeerAuthentication] = field(default_factory=list)
    http_routes: list[o.HTTPRoute] = field(default_factory=list)
    virtual_services: list[o.VirtualService] = field(default_factory=list)
    destination_rules: list[o.DestinationRule] = field(default_factory=list)
    service_entries: list[o.ServiceEntry] = field(default_factory=list)
    controllers: list[o.Controller] = field(default_factory=list)
    config_maps: list[o.ConfigMap] = field(default_factory=list)
    network_policies: list[o.NetworkPolicy] = field(default_factory=list)
    unknown: list[o.Unknown] = field(default_factory=list)
    # What the source could not read (e.g. "AuthorizationPolicy": "403 Forbidden"); empty when complete.
    unreadable: dict[str, str] = field(default_factory=dict)
    # Kinds whose CRDs are absent from the cluster (a fact, not an error).
    absent_kinds: list[str] = field(default_factory=list)
    source: str = ""  # human description: "demo bookinfo", "snapshot ./dump", "live context kind-ambient"
    # Read from a ztunnel's own state (config_dump / local config): its policies, already in ztunnel's form, as
    # raw documents with the selector label standing for the workloads that reference them; and its version.
    ztunnel_policies: list[tuple[dict[str, Any], dict[str, str] | None]] | None = None
    istio_version_hint: str = ""
    # What the reader should know about the input itself (an object given twice); shown on stderr by the CLI.
    warnings: list[str] = field(default_factory=list)
    # Whether the text read could hold terminal controls (escape sequences, bidi overrides) in names, labels or
    # annotations: screens that show the model escape it first. None: not known (scan to find out).
    control_chars: bool | None = None

    def __post_init__(self) -> None:
        self._index: dict[str, Any] | None = None
        self._by_identity: dict[tuple[str, str, str, str], Any] = {}

    # -- building ---------------------------------------------------------------------------------------

    def objects(self) -> list[Any]:
        """Every object, in no particular order."""
        return [*self.namespaces.values(), *self.nodes.values(), *self.gateway_classes.values(), *self.pods,
                *self.services, *self.service_accounts, *self.gateways, *self.authorization_policies,
                *self.peer_authentications, *self.http_routes, *self.virtual_services, *self.destination_rules,
                *self.service_entries, *self.controllers, *self.config_maps, *self.network_policies, *self.unknown]

    def reindex(self) -> None:
        """Rebuild the name-keyed maps and indexes after names were changed in place."""
        self.namespaces = {ns.meta.name: ns for ns in self.namespaces.values()}
        self.nodes = {n.meta.name: n for n in self.nodes.values()}
        self.gateway_classes = {g.meta.name: g for g in self.gateway_classes.values()}
        self._index = None
        self._by_identity = {}
        for obj in self.objects():
            m = obj.meta
            group = m.api_version.rpartition("/")[0] if "/" in m.api_version else ""
            self._by_identity[(group, m.kind, m.namespace, m.name)] = obj
    def add(self, obj: Any) -> None:
        """Add one object. The same API group/kind/namespace/name twice (two files of a snapshot directory):
        the later one replaces the earlier, as `kubectl apply` of both would, with a warning naming both."""
        self._index = None
        meta = getattr(obj, "meta", None)
        earlier = None
        if isinstance(meta, o.Meta) and meta.name:
            group = meta.api_version.rpartition("/")[0] if "/" in meta.api_version else ""
            identity = (group, meta.kind, meta.namespace, meta.name)
            earlier = self._by_identity.get(identity)
            self._by_identity[identity] = obj
        if earlier is not None:
            self._replace(earlier)
            self.warnings.append(f"{meta.kind} {meta.key} is given twice ({earlier.meta.origin or 'first'} and "
                                 f"{meta.origin or 'again'}): the later one is used, as kubectl apply would")
        match obj:
            case o.Namespace():
                self.namespaces[obj.meta.name] = obj
            case o.Node():
                self.nodes[obj.meta.name] = obj
            case o.Pod():
                self.pods.append(obj)
            case o.Service():
                self.services.append(obj)
            case o.ServiceAccount():
                self.service_accounts.append(obj)
            case o.Gateway():
                self.gateways.append(obj)
            case o.GatewayClass():
                self.gateway_classes[obj.meta.name] = obj
            case o.AuthorizationPolicy():
                self.authorization_policies.append(obj)
            case o.PeerAuthentication():
                self.peer_authentications.append(obj)
            case o.HTTPRoute():
                self.http_routes.append(obj)
            case o.VirtualService():
                self.virtual_services.append(obj)
            case o.DestinationRule():
                self.destination_rules.append(obj)
            case o.ServiceEntry():
                self.service_entries.append(obj)
            case o.Controller():
                self.controllers.append(obj)
            case o.ConfigMap():
                self.config_maps.append(obj)
            case o.NetworkPolicy():
                self.network_policies.append(obj)
            case o.Unknown():
                self.unknown.append(obj)
            case _:
                raise TypeError(f"not a model object: {obj!r}")

    def _replace(self, earlier: Any) -> None:
        """Drop `earlier` (by identity: equal objects from two files are still two objects)."""
        for lst in (self.pods, self.services, self.service_accounts, self.gateways, self.authorization_policies,
                    self.peer_authentications, self.http_routes, self.virtual_services, self.destination_rules,
                    self.service_entries, self.controllers, self.config_maps, self.network_policies, self.unknown):
            for i, x in enumerate(lst):
                if x is earlier:
                    del lst[i]
                    return
        # namespaces, nodes and gateway classes are keyed by name: the later one overwrites in add()

    # -- lookups ----------------------------------------------------------------------------------------
    def _idx(self) -> dict[str, Any]:
        if self._index is None:
            pods_by_ns: dict[str, list[o.Pod]] = defaultdict(list)
            pods_by_ip: dict[str, list[o.Pod]] = defaultdict(list)
            for p in self.pods:
                pods_by_ns[p.meta.namespace].append(p)
                if not p.host_network:
                    for ip in p.ips:
                        pods_by_ip[ip].append(p)
            svcs_by_ns: dict[str, list[o.Service]] = defaultdict(list)
            svc_by_vip: dict[str, o.Service] = {}
            svc_by_key: dict[str, o.Service] = {}
            for s in self.services:
                svcs_by_ns[s.meta.namespace].append(s)
                svc_by_key[s.meta.key] = s
                for ip in s.cluster_ips:
                    if ip and ip != "None":
                        svc_by_vip[ip] = s
            by_kind_ns: dict[tuple[str, str], list[Any]] = defaultdict(list)
            for lst in (self.authorization_policies, self.peer_authentications, self.gateways, self.http_routes,
                        self.virtual_services, self.destination_rules, self.service_entries, self.controllers,
                        self.network_policies):
                for obj in lst:
                    by_kind_ns[(obj.meta.kind, obj.meta.namespace)].append(obj)
            self._index = {
                "pods_by_ns": pods_by_ns,
                "pods_by_ip": pods_by_ip,
                "svcs_by_ns": svcs_by_ns,
                "svc_by_vip": svc_by_vip,
                "svc_by_key": svc_by_key,
                "by_kind_ns": by_kind_ns,
                "gw_by_key": {g.meta.key: g for g in self.gateways},
            }
        return self._index

    def pods_in(self, namespace: str) -> list[o.Pod]:
        return self._idx()["pods_by_ns"].get(namespace, [])

    def pods_with_ip(self, ip: str) -> list[o.Pod]:
        return self._idx()["pods_by_ip"].get(ip, [])

    def services_in(self, namespace: str) -> list[o.Service]:
        return self._idx()["svcs_by_ns"].get(namespace, [])

    def service(self, namespace: str, name: str) -> o.Service | None:
        return self._idx()["svc_by_key"].get(f"{namespace}/{name}")

    def service_with_vip(self, ip: str) -> o.Service | None:
        return self._idx()["svc_by_vip"].get(ip)

    def gateway(self, namespace: str, name: str) -> o.Gateway | None:
        return self._idx()["gw_by_key"].get(f"{namespace}/{name}")

    def of_kind(self, kind: str, namespace: str) -> list[Any]:
        """Namespaced objects of one kind in one namespace (AuthorizationPolicy, Gateway, ...)."""
        return self._idx()["by_kind_ns"].get((kind, namespace), [])

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        ns = self.namespaces.get(namespace)
        return ns.meta.labels if ns else {}
