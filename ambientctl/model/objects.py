"""Plain data for the Kubernetes and Istio objects ambientctl reasons about.

Only the fields the behaviour model needs are typed; rule bodies (AuthorizationPolicy rules, route rules,
subsets) stay as the user wrote them, because their meaning is version dependent and belongs to `authz` and
`explain`. Every object remembers where it came from (`Meta.origin`) so errors and findings can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Raw = dict[str, Any]


@dataclass(slots=True)
class Meta:
    kind: str
    name: str
    namespace: str = ""  # empty for cluster-scoped objects
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    uid: str = ""
    created: str = ""  # metadata.creationTimestamp, RFC 3339 (PeerAuthentication conflicts: oldest wins)
    origin: str = ""  # "path#doc" or "live" - where this object was read from
    api_version: str = ""

    @property
    def key(self) -> str:
        """`namespace/name` (or `name` for cluster-scoped objects), as Istio names policies."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(slots=True)
class Namespace:
    meta: Meta


@dataclass(slots=True)
class Node:
    meta: Meta
    internal_ip: str = ""


@dataclass(slots=True, frozen=True)
class Probe:
    """A kubelet probe that opens a connection to the pod: httpGet, tcpSocket or grpc (exec probes do not)."""

    kind: str  # liveness | readiness | startup
    handler: str  # httpGet | tcpSocket | grpc
    port: int | str  # a number, or the name of a container port


@dataclass(slots=True)
class Container:
    name: str
    image: str = ""
    env: dict[str, str] = field(default_factory=dict)  # literal `value`s only; valueFrom is never resolved
    ports: list[int] = field(default_factory=list)
    named_ports: dict[str, int] = field(default_factory=dict)  # containerPort by port name (named targetPorts)
    probes: list[Probe] = field(default_factory=list)  # kubelet liveness/readiness/startup probes (network ones)


@dataclass(slots=True)
class Pod:
    meta: Meta
    node_name: str = ""
    ip: str = ""
    ips: list[str] = field(default_factory=list)
    service_account: str = "default"
    host_network: bool = False
    containers: list[Container] = field(default_factory=list)
    init_containers: list[Container] = field(default_factory=list)
    ephemeral_containers: list[Container] = field(default_factory=list)
    phase: str = ""
    ready: bool = False
    owner_kind: str = ""
    owner_name: str = ""


@dataclass(slots=True)
class ServicePort:
    port: int
    target_port: int | str  # a number, or the name of a container port resolved per endpoint
    name: str = ""
    protocol: str = "TCP"
    app_protocol: str = ""


@dataclass(slots=True)
class Service:
    meta: Meta
    type: str = "ClusterIP"
    cluster_ips: list[str] = field(default_factory=list)
    ports: list[ServicePort] = field(default_factory=list)
    selector: dict[str, str] | None = None  # None: no selector (endpoints managed elsewhere)

    @property
    def headless(self) -> bool:
        return not self.cluster_ips or self.cluster_ips == ["None"]


@dataclass(slots=True)
class ServiceAccount:
    meta: Meta


@dataclass(slots=True)
class Listener:
    name: str
    port: int
    protocol: str


@dataclass(slots=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""


@dataclass(slots=True)
class Gateway:
    """A Gateway API `Gateway` (waypoints, east-west and ingress gateways)."""

    meta: Meta
    class_name: str = ""
    listeners: list[Listener] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)  # status.addresses: a waypoint is ready once it has one
    conditions: list[Condition] = field(default_factory=list)
    # allowedRoutes.namespaces.from of the mesh listener: Same (default), All, Selector
    allowed_routes_from: str = "Same"
    allowed_routes_selector: dict[str, str] | None = None

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)


@dataclass(slots=True)
class GatewayClass:
    meta: Meta
    controller: str = ""


@dataclass(slots=True)
class TargetRef:
    kind: str
    name: str
    group: str = ""
    namespace: str = ""  # empty: the policy's namespace


@dataclass(slots=True)
class AuthorizationPolicy:
    meta: Meta
    action: str = "ALLOW"  # ALLOW | DENY | CUSTOM | AUDIT
    selector: dict[str, str] | None = None  # spec.selector.matchLabels; None: namespace (or mesh) wide
    target_refs: list[TargetRef] = field(default_factory=list)  # spec.targetRef + spec.targetRefs
    rules: list[Raw] | None = None  # spec.rules as written; None: the field is absent
    provider: str = ""  # spec.provider.name for CUSTOM

    @property
    def dry_run(self) -> bool:
        return self.meta.annotations.get("istio.io/dry-run", "").lower() == "true"


@dataclass(slots=True)
class PeerAuthentication:
    meta: Meta
    selector: dict[str, str] | None = None
    mode: str = ""  # STRICT | PERMISSIVE | DISABLE | UNSET | "" (absent: inherit)
    port_level: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class HTTPRoute:
    meta: Meta
    parent_refs: list[Raw] = field(default_factory=list)
    hostnames: list[str] = field(default_factory=list)
    rules: list[Raw] = field(default_factory=list)


@dataclass(slots=True)
class VirtualService:
    meta: Meta
    hosts: list[str] = field(default_factory=list)
    gateways: list[str] = field(default_factory=list)
    http: list[Raw] = field(default_factory=list)
    tcp: list[Raw] = field(default_factory=list)
    tls: list[Raw] = field(default_factory=list)
    export_to: list[str] = field(default_factory=list)


@dataclass(slots=True)
class DestinationRule:
    meta: Meta
    host: str = ""
    subsets: list[Raw] = field(default_factory=list)
    traffic_policy: Raw = field(default_factory=dict)


@dataclass(slots=True)
class ServiceEntry:
    meta: Meta
    hosts: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    ports: list[ServicePort] = field(default_factory=list)
    resolution: str = ""  # NONE | STATIC | DNS | DNS_ROUND_ROBIN | DYNAMIC_DNS ("" = NONE, the API default)
    location: str = ""
    workload_selector: dict[str, str] | None = None
    endpoints: list[str] = field(default_factory=list)  # spec.endpoints[].address (IPs or hostnames)
    export_to: list[str] = field(default_factory=list)
    # status.addresses as (host, ip): what istiod's IP auto-allocator (1.25+ default) assigned per host
    status_addresses: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Controller:
    """Deployment, DaemonSet, StatefulSet or ReplicaSet: used for istiod/ztunnel/waypoint discovery, istiod
    settings (env), and to name workloads."""

    meta: Meta
    selector: dict[str, str] = field(default_factory=dict)
    template_labels: dict[str, str] = field(default_factory=dict)
    template_annotations: dict[str, str] = field(default_factory=dict)
    containers: list[Container] = field(default_factory=list)
    replicas: int | None = None
    ready_replicas: int = 0
    owner_kind: str = ""
    owner_name: str = ""

    @property
    def kind(self) -> str:
        return self.meta.kind


@dataclass(slots=True)
class ConfigMap:
    """Only the `data` of Istio's mesh config ConfigMaps is ever kept (never other ConfigMaps' data)."""

    meta: Meta
    data: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class LabelRequirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: tuple[str, ...] = ()


@dataclass(slots=True)
class LabelSelector:
    """A Kubernetes LabelSelector: matchLabels AND every matchExpression; an empty selector selects everything."""

    match_labels: dict[str, str] = field(default_factory=dict)
    match_expressions: list[LabelRequirement] = field(default_factory=list)


@dataclass(slots=True)
class IPBlock:
    cidr: str
    except_: list[str] = field(default_factory=list)


@dataclass(slots=True)
class NetworkPolicyPeer:
    """One `from`/`to` entry: an ipBlock, or pod and/or namespace selectors (never both kinds)."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None


@dataclass(slots=True)
class NetworkPolicyPort:
    protocol: str = "TCP"  # TCP | UDP | SCTP (API default TCP)
    port: int | str | None = None  # None: every port of the protocol; a string names a container port
    end_port: int | None = None  # with a numeric port: the range port..end_port


@dataclass(slots=True)
class NetworkPolicyRule:
    peers: list[NetworkPolicyPeer] | None = None  # None: `from`/`to` absent or empty, every peer
    ports: list[NetworkPolicyPort] | None = None  # None: `ports` absent or empty, every port


@dataclass(slots=True)
class NetworkPolicy:
    meta: Meta
    pod_selector: LabelSelector = field(default_factory=LabelSelector)
    # As the API server defaults it: written value, else Ingress (+ Egress when egress rules exist).
    policy_types: list[str] = field(default_factory=lambda: ["Ingress"])
    ingress: list[NetworkPolicyRule] = field(default_factory=list)
    egress: list[NetworkPolicyRule] = field(default_factory=list)


@dataclass(slots=True)
class Unknown:
    """A kind ambientctl does not use: kept (so snapshots round-trip) but ignored."""

    meta: Meta
