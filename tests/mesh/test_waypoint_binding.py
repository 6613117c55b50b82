"""Waypoint binding as istiod resolves it, per era.

Sources (research/istio.md §5.1–§5.3): istio/istio `pilot/pkg/serviceregistry/ambient/waypoints.go` @86c9f01f
(1.22+ label resolution, readiness = Gateway has status.addresses, waypoint-for filter, AttachmentDenied via
allowedRoutes); 1.18.0 `pilot/pkg/serviceregistry/kube/controller/ambientindex.go` (service-account waypoint wins
over namespace waypoint); experimental-ambient branch (istio-mesh + istio.io/service-account).
"""

from ambientctl.mesh import MeshView
from tests.helpers import cluster_from_yaml, pod

ISTIOD_128 = """
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
spec:
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod}}
    spec: {containers: [{name: discovery, image: docker.io/istio/pilot:1.28.0}]}
"""


def waypoint(name="waypoint", ns="default", *, addresses=("10.96.0.50",), waypoint_for=None, cls="istio-waypoint",
             allowed_from=None, annotations=None):
    labels = f"labels: {{istio.io/waypoint-for: {waypoint_for}}}" if waypoint_for else "labels: {}"
    ann = "annotations: {" + ", ".join(f"{k}: {v}" for k, v in (annotations or {}).items()) + "}"
    allowed = f"\n    allowedRoutes: {{namespaces: {{from: {allowed_from}}}}}" if allowed_from else ""
    addrs = "\n" + "\n".join(f"  - {{type: IPAddress, value: {a}}}" for a in addresses) if addresses else " []"
    return f"""
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {name}
  namespace: {ns}
  {labels}
  {ann}
spec:
  gatewayClassName: {cls}
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE{allowed}
status:
  addresses:{addrs}
"""


def svc(name, ns="default", labels=None, selector=None):
    lab = "{" + ", ".join(f"{k}: {v}" for k, v in (labels or {}).items()) + "}"
    sel = "{" + ", ".join(f"{k}: {v}" for k, v in (selector or {"app": name}).items()) + "}"
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}, labels: {lab}}}
spec:
  clusterIP: 10.96.1.{abs(hash(name)) % 200 + 2}
  selector: {sel}
  ports: [{{name: http, port: 9080, targetPort: 9080}}]
"""


def ns(name, **labels):
    lab = "{" + ", ".join(f"{k}: {v}" for k, v in labels.items()) + "}"
    return f"\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {lab}}}\n"


AMBIENT = {"istio.io/dataplane-mode": "ambient"}


def view(*docs, version=None):
    return MeshView(cluster_from_yaml("".join(docs)), istio_version=version)


def test_service_label_binds_service_traffic_only():
    v = view(ISTIOD_128, ns("default", **AMBIENT), waypoint(),
             svc("productpage", labels={"istio.io/use-waypoint": "waypoint"}), pod("pp", labels={"app": "productpage"}))
    s = v.cluster.service("default", "productpage")
    b = v.service_waypoint(s)
    assert b.waypoint is not None and b.waypoint.key == "default/waypoint"
    assert b.bound_by == "service label istio.io/use-waypoint=waypoint"
    # pod-IP traffic does not use a service waypoint (ztunnel outbound.rs::build_request)
    assert v.workload_waypoint(v.cluster.pods[0]).waypoint is None


def test_service_label_beats_namespace_label_and_none_opts_out():
    v = view(ISTIOD_128, ns("default", **AMBIENT, **{"istio.io/use-waypoint": "waypoint"}), waypoint(),
             waypoint("other"), svc("a", labels={"istio.io/use-waypoint": "other"}),
             svc("b", labels={"istio.io/use-waypoint": "none"}), svc("c"))
    get = lambda n: v.service_waypoint(v.cluster.service("default", n))  # noqa: E731
    assert get("a").waypoint.name == "other"
    assert get("b").waypoint is None and "opts out" in get("b").bound_by
    assert get("c").waypoint.name == "waypoint" and get("c").bound_by.startswith("namespace default label")


def test_missing_or_unready_waypoint_is_not_bound_fail_open():
    v = view(ISTIOD_128, ns("default", **AMBIENT), waypoint("notready", addresses=()),
             svc("a", labels={"istio.io/use-waypoint": "ghost"}), svc("b", labels={"istio.io/use-waypoint": "notready"}))
    a = v.service_waypoint(v.cluster.service("default", "a"))
    b = v.service_waypoint(v.cluster.service("default", "b"))
    assert a.waypoint is None and a.problem_reason == "WaypointIsNotReady" and "no waypoint Gateway" in a.problem_text
    assert b.waypoint is None and b.problem == 'waypoint "default/notready" is not ready'


def test_namespace_service_waypoint_silently_skips_workloads_but_pod_label_is_an_error():
    v = view(ISTIOD_128, ns("default", **AMBIENT, **{"istio.io/use-waypoint": "waypoint"}), waypoint(),
             pod("plain", ip="10.0.0.2"), pod("labelled", ip="10.0.0.3", labels={"istio.io/use-waypoint": "waypoint"}))
    plain, labelled = v.cluster.pods
    b1, b2 = v.workload_waypoint(plain), v.workload_waypoint(labelled)
    assert b1.waypoint is None and b1.silent and not b1.problem_reason
    assert b2.waypoint is None and b2.problem_reason == "UnsupportedTrafficType"
    assert b2.problem == 'attempting to bind to traffic type "workload" which the waypoint "default/waypoint" does not support'


def test_workload_waypoint_for_all_binds_pods():
    v = view(ISTIOD_128, ns("default", **AMBIENT), waypoint(waypoint_for="all"),
             pod("p", labels={"istio.io/use-waypoint": "waypoint"}))
    assert v.workload_waypoint(v.cluster.pods[0]).waypoint.traffic_type == "all"


def test_cross_namespace_needs_allowed_routes():
    base = [ISTIOD_128, ns("default", **AMBIENT), ns("infra")]
    labels = {"istio.io/use-waypoint": "shared", "istio.io/use-waypoint-namespace": "infra"}
    denied = view(*base, waypoint("shared", "infra"), svc("a", labels=labels))
    allowed = view(*base, waypoint("shared", "infra", allowed_from="All"), svc("a", labels=labels))
    d = denied.service_waypoint(denied.cluster.service("default", "a"))
    a = allowed.service_waypoint(allowed.cluster.service("default", "a"))
    assert d.waypoint is None and d.problem_reason == "AttachmentDenied"
    assert a.waypoint is not None and a.waypoint.key == "infra/shared"


def test_waypoint_service_never_uses_a_waypoint():
    v = view(ISTIOD_128, ns("default", **AMBIENT, **{"istio.io/use-waypoint": "waypoint"}), waypoint(),
             svc("waypoint", labels={"gateway.networking.k8s.io/gateway-name": "waypoint"},
                 selector={"gateway.networking.k8s.io/gateway-name": "waypoint"}))
    assert v.service_waypoint(v.cluster.service("default", "waypoint")).waypoint is None


def test_legacy_service_account_waypoint_wins_over_namespace_waypoint():
    """1.18–1.21: `istio.io/for-service-account` scoped waypoint first, then the namespace-wide one."""
    docs = [ns("default", **AMBIENT), waypoint("ns-wide"),
            waypoint("pp", annotations={"istio.io/for-service-account": "bookinfo-productpage"}),
            pod("productpage", sa="bookinfo-productpage", ip="10.0.0.2"), pod("details", sa="bookinfo-details",
                                                                             ip="10.0.0.3")]
    v = view(*docs, version="1.20")
    pp, details = v.cluster.pods
    assert v.workload_waypoint(pp).waypoint.name == "pp"
    assert v.workload_waypoint(details).waypoint.name == "ns-wide"
    assert v.workload_waypoint(pp).scope == "all"
    # the same objects under 1.22+ rules: no use-waypoint label anywhere, so nothing is bound
    v22 = view(*docs, version="1.22")
    assert v22.workload_waypoint(v22.cluster.pods[0]).waypoint is None


def test_experimental_2022_istio_mesh_gateway_per_service_account():
    docs = [ns("default", **AMBIENT),
            waypoint("productpage", cls="istio-mesh", addresses=(),
                     annotations={"istio.io/service-account": "bookinfo-productpage"}),
            pod("productpage", sa="bookinfo-productpage", ip="10.0.0.2"),
            pod("bookinfo-productpage-waypoint-proxy-abc", sa="bookinfo-productpage", ip="10.0.0.9",
                labels={"ambient-type": "waypoint"})]
    v = view(*docs, version="experimental-2022")
    pp, wp_pod = v.cluster.pods
    b = v.workload_waypoint(pp)
    assert b.waypoint is not None and b.waypoint.name == "productpage"
    assert b.waypoint.service_account == "bookinfo-productpage"  # 2022 waypoints ran as the served account
    assert v.enrollment(wp_pod).role == "waypoint"
