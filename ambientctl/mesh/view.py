"""The ambient view of a cluster: per workload, is it in the mesh and why, which ztunnel serves it, what is
its SPIFFE identity, which services select it, and which waypoint (if any) its traffic goes through and why.

The waypoint rules follow istiod per era (research/istio.md §5):
- 1.22+: `istio.io/use-waypoint` on the Service/Pod beats the namespace label; `none` opts out;
  `istio.io/use-waypoint-namespace` (1.23+) for cross-namespace; `istio.io/waypoint-for` filters by traffic type;
  a waypoint is ready once its Gateway has an address (istiod `pilot/pkg/serviceregistry/ambient/waypoints.go`).
- 1.18–1.21: a Gateway `istio-waypoint` with `istio.io/for-service-account` serves that service account and
  wins over a namespace-wide one (1.18 `ambientindex.go`); it serves all traffic to those pods.
- experimental-2022: a Gateway `istio-mesh` with `istio.io/service-account` (all accounts without it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ambientctl.mesh.install import IstioInstall, detect, is_ztunnel_pod
from ambientctl.mesh.version import IstioVersion
from ambientctl.model import Cluster
from ambientctl.model import objects as o

DATAPLANE_MODE = "istio.io/dataplane-mode"
USE_WAYPOINT = "istio.io/use-waypoint"
USE_WAYPOINT_NS = "istio.io/use-waypoint-namespace"
WAYPOINT_FOR = "istio.io/waypoint-for"
USE_WAYPOINT_CANARY = "istio.io/use-waypoint-canary"
USE_WAYPOINT_CANARY_NS = "istio.io/use-waypoint-canary-namespace"
CANARY_WEIGHT = "istio.io/use-waypoint-canary-weight"
INGRESS_USE_WAYPOINT = "istio.io/ingress-use-waypoint"
REDIRECTION = "ambient.istio.io/redirection"
SIDECAR_STATUS = "sidecar.istio.io/status"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
LEGACY_SA_ANNOTATION = "istio.io/for-service-account"
EXPERIMENTAL_SA_ANNOTATION = "istio.io/service-account"

WAYPOINT_CLASSES_CURRENT = ("istio-waypoint", "istio-agentgateway-waypoint")
WAYPOINT_CLASS_LEGACY = "istio-waypoint"
WAYPOINT_CLASS_EXPERIMENTAL = "istio-mesh"


@dataclass
class Enrollment:
    mode: str  # ambient | sidecar | none
    reason: str
    role: str = "workload"  # workload | waypoint | ztunnel | istiod | istio-cni | gateway
    redirection: str = ""  # ambient.istio.io/redirection annotation as istio-cni wrote it


@dataclass
class Waypoint:
    gateway: o.Gateway
    ready: bool
    traffic_type: str  # service | workload | all | none
    service_account: str  # the waypoint's own identity (what the destination ztunnel sees)
    pods: list[o.Pod] = field(default_factory=list)
    serves_service_account: str = ""  # legacy/experimental: the account it is dedicated to ("" = namespace)

    @property
    def name(self) -> str:
        return self.gateway.meta.name

    @property
    def namespace(self) -> str:
        return self.gateway.meta.namespace

    @property
    def key(self) -> str:
        return self.gateway.meta.key


@dataclass
class WaypointBinding:
    """The outcome of istiod's resolution for one Service or Pod."""

    subject: str  # "Service default/productpage" or "Pod default/sleep-..."
    scope: str  # service | workload | all (legacy: all traffic to the pod)
    waypoint: Waypoint | None = None
    bound_by: str = ""  # the label/annotation that asked for it, as a sentence fragment
    requested: str = ""  # "ns/name" the label asked for
    problem: str = ""  # why the requested waypoint is not used: istiod's condition message, verbatim
    problem_reason: str = ""  # WaypointIsNotReady | AttachmentDenied | UnsupportedTrafficType | ...
    problem_detail: str = ""  # what ambientctl adds to istiod's message (e.g. that no such Gateway exists)
    silent: bool = False  # a namespace waypoint that simply does not serve this traffic type
    # 1.31 weighted canary: [(ns/name, weight)] primary first, as istiod sends `weighted_waypoints` to ztunnel
    weighted: list[tuple[str, int]] = field(default_factory=list)
    canary: Waypoint | None = None

    @property
    def problem_text(self) -> str:
        return self.problem + (f": {self.problem_detail}" if self.problem_detail else "")


class MeshView:
    def __init__(self, cluster: Cluster, istio_version: str | None = None):
        self.cluster = cluster
        self.install: IstioInstall = detect(cluster, istio_version)
        self.version: IstioVersion = self.install.version
        self._waypoints: dict[str, Waypoint] | None = None
        self._waypoint_pods: dict[int, Waypoint] = {}
        # The cluster does not change under a view: per-object answers are computed once (explain --matrix asks
        # the same questions tens of thousands of times).
        self._memo: dict[tuple[str, int], object] = {}

    def _cached(self, kind: str, obj: object, compute):  # type: ignore[no-untyped-def]
        key = (kind, id(obj))
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # -- authorization ---------------------------------------------------------------------------------------
    @property
    def authz_settings(self):  # type: ignore[no-untyped-def]
        from ambientctl.authz.settings import AuthzSettings

        if "authz_settings" not in self.__dict__:
            values = {**self.install.settings, "rootNamespace": self.install.root_namespace,
                      "trustDomain": self.install.trust_domain, "ztunnelVersion": self.install.ztunnel_version}
            self.__dict__["authz_settings"] = AuthzSettings.from_mapping(values, self.version)
        return self.__dict__["authz_settings"]

    @property
    def authz_index(self):  # type: ignore[no-untyped-def]
        """Every AuthorizationPolicy/PeerAuthentication translated once into ztunnel's form."""
        from ambientctl.authz.evaluate import PolicyIndex

        if "authz_index" not in self.__dict__:
            if self.cluster.ztunnel_policies is not None:
                from ambientctl.authz.ztunnel import parse_authorization

                self.__dict__["authz_index"] = PolicyIndex.from_ztunnel(
                    [(parse_authorization(doc, self.cluster.source), sel) for doc, sel in self.cluster.ztunnel_policies],
                    self.authz_settings)
            else:
                self.__dict__["authz_index"] = PolicyIndex.build(
                    self.cluster.authorization_policies, self.cluster.peer_authentications, self.authz_settings)
        return self.__dict__["authz_index"]

    # -- membership -----------------------------------------------------------------------------------------
    def enrollment(self, pod: o.Pod) -> Enrollment:
        """Is the pod captured by ztunnel, and why (istio-cni `enablement_selector.go`, chart defaults)."""
        return self._cached("enrollment", pod, lambda: self._enrollment(pod))

    def _enrollment(self, pod: o.Pod) -> Enrollment:
        labels, ann = pod.meta.labels, pod.meta.annotations
        ns_mode = self.cluster.namespace_labels(pod.meta.namespace).get(DATAPLANE_MODE, "")
        pod_mode = labels.get(DATAPLANE_MODE, "")
        redirection = ann.get(REDIRECTION, "")
        role = self._role(pod)
        if role == "waypoint":
            return Enrollment("none", "waypoint proxies speak HBONE themselves and are never captured", role, redirection)
        if role in ("ztunnel", "istio-cni"):
            return Enrollment("none", f"{role} is part of the ambient data plane, not a workload", role, redirection)
        if role == "gateway":
            return Enrollment("none", "an Istio gateway (Envoy): not captured by ztunnel, it speaks mTLS/HBONE "
                              "itself", role, redirection)
        if pod.host_network:
            return Enrollment("none", "hostNetwork pods share the node's network namespace and are never captured",
                              role, redirection)
        if SIDECAR_STATUS in ann or any(c.name == "istio-proxy" for c in pod.containers + pod.init_containers):
            return Enrollment("sidecar", "an Istio sidecar is injected (sidecar.istio.io/status); sidecar pods are "
                              "never captured by ztunnel", role, redirection)
        if pod_mode == "none":
            return Enrollment("none", f"pod label {DATAPLANE_MODE}=none opts it out", role, redirection)
        if pod_mode == "ambient" and (self.version.at_least(1, 22) or ns_mode == "ambient"):
            return Enrollment("ambient", f"pod label {DATAPLANE_MODE}=ambient", role, redirection)
        if ns_mode == "ambient":
            return Enrollment("ambient", f"namespace {pod.meta.namespace} has label {DATAPLANE_MODE}=ambient",
                              role, redirection)
        if ns_mode:
            return Enrollment("none", f"namespace {pod.meta.namespace} has {DATAPLANE_MODE}={ns_mode}", role,
                              redirection)
        return Enrollment("none", f"neither pod nor namespace {pod.meta.namespace} has {DATAPLANE_MODE}=ambient",
                          role, redirection)

    def _role(self, pod: o.Pod) -> str:
        labels = pod.meta.labels
        if is_ztunnel_pod(pod):
            return "ztunnel"
        if labels.get("k8s-app") == "istio-cni-node" or labels.get("app") == "istio-cni-node":
            return "istio-cni"
        if labels.get("app") == "istiod":
            return "istiod"
        if self.waypoint_of_pod(pod) is not None:
            return "waypoint"
        if labels.get("istio") in ("ingressgateway", "egressgateway", "eastwestgateway") or GATEWAY_NAME_LABEL in labels:
            return "gateway"
        return "workload"

    def identity(self, pod: o.Pod) -> str:
        return spiffe(self.install.trust_domain, pod.meta.namespace, pod.service_account)

    def ztunnel_for(self, pod: o.Pod) -> o.Pod | None:
        return self.install.ztunnels.get(pod.node_name)

    def services_for(self, pod: o.Pod) -> list[o.Service]:
        return self._cached("services_for", pod, lambda: self._services_for(pod))

    def _services_for(self, pod: o.Pod) -> list[o.Service]:
        labels = pod.meta.labels
        return [
            s
            for s in self.cluster.services_in(pod.meta.namespace)
            if s.selector and all(labels.get(k) == v for k, v in s.selector.items())
        ]

    def pods_for(self, svc: o.Service) -> list[o.Pod]:
        return self._cached("pods_for", svc, lambda: self._pods_for(svc))

    def _pods_for(self, svc: o.Service) -> list[o.Pod]:
        """The service's endpoints: selected pods that have an IP and have not ended. Kubernetes'
        ShouldPodBeInEndpoints (k8s.io/endpointslice/util/controller_utils.go, 1.22+) and istiod's copy of it
        (pilot/pkg/serviceregistry/kube/controller/pod.go shouldPodBeInEndpoints) leave out a pod without
        status.podIP(s) — every rollout has Pending ones — and a Succeeded/Failed one."""
        if not svc.selector:
            return []
        sel = svc.selector
        return [p for p in self.cluster.pods_in(svc.meta.namespace)
                if all(p.meta.labels.get(k) == v for k, v in sel.items())
                and (p.ip or p.ips) and p.phase not in ("Succeeded", "Failed")]

    # -- waypoints ------------------------------------------------------------------------------------------
    def waypoints(self) -> dict[str, Waypoint]:
        """Every Gateway that is a waypoint in this era, by `ns/name`."""
        if self._waypoints is None:
            self._waypoints = {}
            for gw in self.cluster.gateways:
                wp = self._as_waypoint(gw)
                if wp is not None:
                    self._waypoints[gw.meta.key] = wp
                    for p in wp.pods:
                        self._waypoint_pods[id(p)] = wp
        return self._waypoints

    def _is_waypoint_class(self, gw: o.Gateway) -> bool:
        if self.version.experimental:
            return gw.class_name == WAYPOINT_CLASS_EXPERIMENTAL
        if self.version.legacy:
            return gw.class_name == WAYPOINT_CLASS_LEGACY
        if gw.class_name == "istio-agentgateway-waypoint":
            # added in 1.31 (istio releasenotes agw-waypoint-gatewayclass.yaml, first tag 1.31.0-alpha.0)
            return self.version.at_least(1, 31)
        if gw.class_name in WAYPOINT_CLASSES_CURRENT:
            return True
        gc = self.cluster.gateway_classes.get(gw.class_name)
        return bool(gc and gc.controller == "istio.io/mesh-controller" and gw.class_name != "istio-east-west")

    def _as_waypoint(self, gw: o.Gateway) -> Waypoint | None:
        if not self._is_waypoint_class(gw):
            return None
        ns, name = gw.meta.namespace, gw.meta.name
        v = self.version
        if v.experimental:
            served = gw.meta.annotations.get(EXPERIMENTAL_SA_ANNOTATION, "")
            pods = [p for p in self.cluster.pods_in(ns) if p.meta.labels.get("ambient-type") == "waypoint"
                    and (not served or p.meta.name.startswith(f"{served}-waypoint-proxy"))]
            cond = gw.condition("Ready")
            ready = (cond is not None and cond.status == "True") or any(p.ready for p in pods)
            # 2022 waypoints ran as the service account they served (their filter chains name that identity).
            sa = pods[0].service_account if pods else served
            return Waypoint(gw, ready, "all", sa, pods, served)
        pods = [p for p in self.cluster.pods_in(ns)
                if p.meta.labels.get(GATEWAY_NAME_LABEL) == name or p.meta.labels.get("istio.io/gateway-name") == name]
        if v.legacy:
            served = gw.meta.annotations.get(LEGACY_SA_ANNOTATION, "")
            prog = gw.condition("Programmed") or gw.condition("Ready")
            ready = bool(gw.addresses) or (prog is not None and prog.status == "True") or any(p.ready for p in pods)
            sa = pods[0].service_account if pods else f"{name}-istio-waypoint"
            return Waypoint(gw, ready, "all", sa, pods, served)
        traffic = gw.meta.labels.get(WAYPOINT_FOR, "")
        if not traffic:
            gc = self.cluster.gateway_classes.get(gw.class_name)
            traffic = (gc.meta.labels.get(WAYPOINT_FOR, "") if gc else "") or "service"
        sa = pods[0].service_account if pods else name
        return Waypoint(gw, bool(gw.addresses), traffic, sa, pods)

    def waypoint_pod_labels(self, wp: Waypoint) -> dict[str, str]:
        """The labels of the waypoint's pods, which 1.18–1.21 selector policies match: from a pod when the snapshot
        holds one, else what istiod's deployment template gives them (1.18.0–1.21 `istio-discovery/files/
        waypoint.yaml`: the Gateway's labels plus `istio.io/gateway-name` and `gateway.istio.io/managed`; 1.22+
        names the Gateway with `gateway.networking.k8s.io/gateway-name`)."""
        if wp.pods:
            return wp.pods[0].meta.labels
        labels = dict(wp.gateway.meta.labels)
        if self.version.current:
            labels[GATEWAY_NAME_LABEL] = wp.name
        else:
            labels["istio.io/gateway-name"] = wp.name
        labels["gateway.istio.io/managed"] = "istio.io-mesh-controller"
        return labels

    def waypoint_of_pod(self, pod: o.Pod) -> Waypoint | None:
        """The waypoint this pod *is* (not the one it uses)."""
        self.waypoints()
        return self._waypoint_pods.get(id(pod))

    def service_waypoint(self, svc: o.Service) -> WaypointBinding:
        return self._cached("service_waypoint", svc, lambda: self._service_waypoint(svc))

    def _service_waypoint(self, svc: o.Service) -> WaypointBinding:
        subject = f"Service {svc.meta.key}"
        if not self.version.current:
            pods = self.pods_for(svc)
            bindings = [self.workload_waypoint(p) for p in pods]
            bound = next((b for b in bindings if b.waypoint), None)
            if bound:
                return WaypointBinding(subject, "all", bound.waypoint, bound.bound_by)
            return WaypointBinding(subject, "all")
        if self._is_waypoint_service(svc):
            return WaypointBinding(subject, "service", bound_by="waypoint and east-west gateway services never use a "
                                   "waypoint")
        b = self._resolve_current(subject, "service", svc.meta.labels, svc.meta.namespace)
        if b.waypoint is not None:
            self._canary(b, svc.meta.labels, svc.meta.annotations, svc.meta.namespace)
        return b

    def _canary(self, b: WaypointBinding, labels: dict[str, str], annotations: dict[str, str], ns: str) -> None:
        """1.31 weighted waypoint canary (waypoints.go `buildWeightedWaypoints`): read from the level that declares
        the primary (the object's own labels when it has `istio.io/use-waypoint`, else the namespace's; the weight
        annotation from the object, else the namespace); the canary must differ from the primary, the weight must be
        an integer in [0,100] (missing = 0), and the canary waypoint must exist, allow attachment and serve
        service traffic. Any error leaves the primary bound alone and is reported on the binding status."""
        if not self.version.at_least(1, 31) or b.waypoint is None:
            return
        ns_obj = self.cluster.namespaces.get(ns)
        ns_labels = ns_obj.meta.labels if ns_obj else {}
        ns_ann = ns_obj.meta.annotations if ns_obj else {}
        own_primary = USE_WAYPOINT in labels and labels[USE_WAYPOINT] != "none"
        src = labels if (USE_WAYPOINT_CANARY in labels or own_primary) else ns_labels
        name = src.get(USE_WAYPOINT_CANARY, "")
        if not name or name == "none":
            return
        canary_ns = src.get(USE_WAYPOINT_CANARY_NS, ns)
        key = f"{canary_ns}/{name}"
        raw = annotations.get(CANARY_WEIGHT)
        if raw is None and not own_primary:
            raw = ns_ann.get(CANARY_WEIGHT)
        if key == b.waypoint.key:
            b.problem_reason = "CanarySameAsPrimary"
            b.problem = f'canary waypoint "{key}" must differ from the primary waypoint'
            return
        weight = 0
        if raw is not None:
            # strconv.Atoi: an optional sign and ASCII digits, nothing else (no spaces, no "50%")
            weight = int(raw) if re.fullmatch(r"[+-]?[0-9]+", raw) else -1
            if not 0 <= weight <= 100:
                b.problem_reason = "CanaryInvalidWeight"
                b.problem = f'canary waypoint "{key}" has an invalid weight; must be an integer in [0,100]'
                return
        wp = self.waypoints().get(key)
        if wp is None or not wp.ready:
            b.problem_reason, b.problem = "WaypointIsNotReady", f'waypoint "{key}" is not ready'
            return
        if canary_ns != ns and not self._attachment_allowed(wp, ns):
            b.problem_reason = "AttachmentDenied"
            b.problem = f'we are not permitted to attach to waypoint "{key}" (missing allowedRoutes?)'
            return
        if wp.traffic_type not in ("service", "all"):
            b.problem_reason = "UnsupportedTrafficType"
            b.problem = f'attempting to bind to traffic type "service" which the waypoint "{key}" does not support'
            return
        b.canary = wp
        b.weighted = [(b.waypoint.key, 100 - weight), (key, weight)]

    def service_entry_waypoint(self, se: o.ServiceEntry) -> WaypointBinding:
        """The egress waypoint of a ServiceEntry (`istio.io/use-waypoint` on it or its namespace, 1.22+), with the
        1.31 rule that a NAMESPACE-visible entry may not bind to a waypoint in another namespace
        (waypoints.go `fetchWaypointForService` → CrossNamespaceWaypointForbidden)."""
        return self._cached("service_entry_waypoint", se, lambda: self._service_entry_waypoint(se))

    def _service_entry_waypoint(self, se: o.ServiceEntry) -> WaypointBinding:
        subject = f"ServiceEntry {se.meta.key}"
        if not self.version.current:
            return WaypointBinding(subject, "service", bound_by=f"Istio {self.version} has no egress waypoints "
                                   "(istio.io/use-waypoint exists from 1.22)")
        b = self._resolve_current(subject, "service", se.meta.labels, se.meta.namespace)
        if b.waypoint is not None and b.waypoint.namespace != se.meta.namespace and self.version.at_least(1, 31):
            from ambientctl.mesh.egress import visibility

            if visibility(self.install.mesh_config, self.cluster.namespace_labels(se.meta.namespace)) == "NAMESPACE":
                b.problem_reason = "CrossNamespaceWaypointForbidden"
                b.problem = (f'cannot bind to waypoint "{b.waypoint.key}" in another namespace: cross-namespace '
                             "waypoint binding is not permitted for a ServiceEntry with NAMESPACE visibility")
                b.waypoint = None
                return b
        if b.waypoint is not None:
            self._canary(b, se.meta.labels, se.meta.annotations, se.meta.namespace)
        return b

    def ingress_use_waypoint(self, labels: dict[str, str], namespace: str) -> tuple[bool, str]:
        """Whether Istio ingress gateways send to this Service's (or ServiceEntry's) waypoint, and why, per version:
        1.24 the object's label must be exactly "true" (endpoint_builder.go `findServiceWaypoint`); 1.25-1.29 the
        object's label, else the namespace's, compared case-insensitively with "true" (sidecar_interop.go
        `ingressUseWaypoint`, strings.EqualFold); 1.30+ the same fallback parsed with strconv.ParseBool
        (services.go `ingressUseWaypointFromLabels`: "1", "t", "TRUE", ...; anything else is false)."""
        v = self.version
        if not v.at_least(1, 24):
            return False, f"Istio {v} ingress gateways never use waypoints ({INGRESS_USE_WAYPOINT} exists from 1.24)"
        where, value = "", None
        if INGRESS_USE_WAYPOINT in labels:
            where, value = "label", labels[INGRESS_USE_WAYPOINT]
        elif v.at_least(1, 25) and INGRESS_USE_WAYPOINT in self.cluster.namespace_labels(namespace):
            where, value = f"namespace {namespace} label", self.cluster.namespace_labels(namespace)[INGRESS_USE_WAYPOINT]
        if value is None:
            ns_note = "" if v.at_least(1, 25) or INGRESS_USE_WAYPOINT not in self.cluster.namespace_labels(namespace) \
                else f" (the namespace label counts only from 1.25; this is {v})"
            return False, f"no {INGRESS_USE_WAYPOINT} label{ns_note}"
        if v.at_least(1, 30):
            use = value in ("1", "t", "T", "TRUE", "true", "True")
            rule = "parsed as a Go boolean (1.30+)"
        elif v.at_least(1, 25):
            use = value.lower() == "true"
            rule = 'compared case-insensitively with "true" (1.25-1.29)'
        else:
            use = value == "true"
            rule = 'must be exactly "true" in 1.24'
        return use, f"{where} {INGRESS_USE_WAYPOINT}={value} ({rule})"

    def workload_waypoint(self, pod: o.Pod) -> WaypointBinding:
        return self._cached("workload_waypoint", pod, lambda: self._workload_waypoint(pod))

    def _workload_waypoint(self, pod: o.Pod) -> WaypointBinding:
        subject = f"Pod {pod.meta.key}"
        if self.waypoint_of_pod(pod) is not None:
            return WaypointBinding(subject, "workload", bound_by="a waypoint never uses a waypoint")
        if self.version.current:
            return self._resolve_current(subject, "workload", pod.meta.labels, pod.meta.namespace)
        # 1.18–1.21 and 2022: a waypoint dedicated to the pod's service account wins over a namespace-wide one.
        candidates = [w for w in self.waypoints().values() if w.namespace == pod.meta.namespace]
        ann = EXPERIMENTAL_SA_ANNOTATION if self.version.experimental else LEGACY_SA_ANNOTATION
        for wp in candidates:
            if wp.serves_service_account == pod.service_account:
                return self._legacy_binding(subject, wp, f"Gateway {wp.key} serves service account "
                                            f"{pod.service_account} ({ann})")
        for wp in candidates:
            if not wp.serves_service_account:
                return self._legacy_binding(subject, wp, f"Gateway {wp.key} serves the whole namespace (no {ann})")
        return WaypointBinding(subject, "all")

    def _legacy_binding(self, subject: str, wp: Waypoint, why: str) -> WaypointBinding:
        b = WaypointBinding(subject, "all", wp if wp.ready else None, why, wp.key)
        if not wp.ready:
            b.problem, b.problem_reason = f'waypoint "{wp.key}" is not ready', "WaypointIsNotReady"
        return b

    def _is_waypoint_service(self, svc: o.Service) -> bool:
        labels = svc.meta.labels
        if labels.get("gateway.istio.io/managed") == "istio.io-mesh-controller":
            return True
        gw_name = labels.get(GATEWAY_NAME_LABEL)
        return bool(gw_name and self.cluster.gateway(svc.meta.namespace, gw_name))

    def _resolve_current(self, subject: str, kind: str, labels: dict[str, str], ns: str) -> WaypointBinding:
        if USE_WAYPOINT in labels:
            where, src_labels, src_ns = f"{subject.split()[0].lower()} label", labels, ns
        else:
            ns_labels = self.cluster.namespace_labels(ns)
            if USE_WAYPOINT not in ns_labels:
                return WaypointBinding(subject, kind)
            where, src_labels, src_ns = f"namespace {ns} label", ns_labels, ns
        value = src_labels[USE_WAYPOINT]
        if value in ("none", "~", "*/none"):
            return WaypointBinding(subject, kind, bound_by=f"{where} {USE_WAYPOINT}={value} opts out")
        wp_ns, wp_name = src_ns, value
        if self.version.at_least(1, 23) and src_labels.get(USE_WAYPOINT_NS):
            wp_ns = src_labels[USE_WAYPOINT_NS]
        elif "/" in value and not self.version.at_least(1, 23):
            wp_ns, wp_name = value.split("/", 1)
        bound_by = f"{where} {USE_WAYPOINT}={value}" + (
            f" ({USE_WAYPOINT_NS}={src_labels[USE_WAYPOINT_NS]})" if src_labels.get(USE_WAYPOINT_NS) else ""
        )
        b = WaypointBinding(subject, kind, bound_by=bound_by, requested=f"{wp_ns}/{wp_name}")
        wp = self.waypoints().get(f"{wp_ns}/{wp_name}")
        if wp is None or not wp.ready:
            b.problem_reason = "WaypointIsNotReady"
            b.problem = f'waypoint "{wp_ns}/{wp_name}" is not ready'
            if wp is None:
                b.problem_detail = f"no waypoint Gateway {wp_ns}/{wp_name} exists"
            return b
        if wp_ns != ns and not self._attachment_allowed(wp, ns):
            b.problem_reason = "AttachmentDenied"
            b.problem = f'we are not permitted to attach to waypoint "{wp.key}" (missing allowedRoutes?)'
            return b
        if wp.traffic_type not in (kind, "all"):
            if where.startswith("namespace"):
                b.silent = True
                b.problem = (f"namespace waypoint {wp.key} serves {wp.traffic_type} traffic only "
                             f"({WAYPOINT_FOR}={wp.traffic_type}), so {kind} traffic does not use it")
            else:
                b.problem_reason = "UnsupportedTrafficType"
                b.problem = (f'attempting to bind to traffic type "{kind}" which the waypoint "{wp.key}" does not '
                             "support")
            return b
        b.waypoint = wp
        return b

    def waypoint_bound(self, b: WaypointBinding, svc: o.Service | None = None) -> tuple[str | None, str | None]:
        """(reason, message) of the `istio.io/WaypointBound` condition istiod writes for this binding (istiod
        1.24+ `ambient/status.go` and `model.ServiceInfo.GetConditions`; the ingress sentence from 1.25), or
        (None, None) when no waypoint is asked for. Earlier istiods write no condition; the reason still names
        why the binding failed."""
        if b.waypoint is not None:
            if not self.version.current:
                return None, None  # no condition before 1.24; boundBy says why
            msg = f"Successfully attached to waypoint {b.waypoint.key}"
            if svc is not None and self.version.at_least(1, 25):
                ns_labels = self.cluster.namespace_labels(svc.meta.namespace)
                if self.ingress_use_waypoint(svc.meta.labels, svc.meta.namespace)[0]:
                    msg += ". Ingress traffic will traverse the waypoint"
                elif INGRESS_USE_WAYPOINT in svc.meta.labels or INGRESS_USE_WAYPOINT in ns_labels:
                    msg += (". Ingress traffic is not using the waypoint, set the istio.io/ingress-use-waypoint label "
                            "to true if desired.")
            if b.problem:  # the primary is bound: the problem is the canary's (1.31 GetConditions)
                msg += f". Canary waypoint not attached: {b.problem}"
            return "WaypointAccepted", msg
        if b.problem and not b.silent:
            return b.problem_reason or None, b.problem
        return None, None

    def _attachment_allowed(self, wp: Waypoint, ns: str) -> bool:
        frm = wp.gateway.allowed_routes_from
        if frm == "All":
            return True
        if frm == "Selector":
            sel = wp.gateway.allowed_routes_selector or {}
            labels = self.cluster.namespace_labels(ns)
            return all(labels.get(k) == v for k, v in sel.items())
        return False

    # -- lookups by name ------------------------------------------------------------------------------------
    def ztunnel_pods(self) -> list[o.Pod]:
        return list(self.install.ztunnels.values())


def spiffe(trust_domain: str, namespace: str, service_account: str) -> str:
    return f"spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}"
