"""The data path per era, without policy: which hops and which enforcement points (see explain/path.py for the
sources of each rule)."""

import pytest

from ambientctl.explain.path import plan
from ambientctl.explain.target import resolve_source, resolve_target
from ambientctl.mesh import MeshView
from tests.helpers import cluster_from_yaml, pod

AMBIENT = "{istio.io/dataplane-mode: ambient}"


CURRENT_WAYPOINT = """
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: default}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{type: IPAddress, value: 10.100.9.9}]}
"""


def world(version_image="1.28.0", extra=CURRENT_WAYPOINT):
    return f"""
---
apiVersion: v1
kind: Namespace
metadata: {{name: default, labels: {AMBIENT}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: legacy}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: istiod, namespace: istio-system}}
spec:
  template:
    metadata: {{labels: {{app: istiod}}}}
    spec: {{containers: [{{name: discovery, image: "docker.io/istio/pilot:{version_image}"}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: productpage, namespace: default, labels: {{istio.io/use-waypoint: waypoint}}}}
spec: {{clusterIP: 10.100.171.143, selector: {{app: productpage}}, ports: [{{name: http, port: 9080, targetPort: 9080}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: details, namespace: default}}
spec: {{clusterIP: 10.100.1.2, selector: {{app: details}}, ports: [{{name: http, port: 9080, targetPort: 9080}}]}}
""" + pod("ztunnel-a", "istio-system", labels={"app": "ztunnel"}, node="node-a", ip="192.168.1.2", sa="ztunnel") \
        + pod("ztunnel-b", "istio-system", labels={"app": "ztunnel"}, node="node-b", ip="192.168.2.2", sa="ztunnel") \
        + pod("sleep-1", labels={"app": "sleep"}, sa="sleep", node="node-a", ip="192.168.58.148",
              annotations={"ambient.istio.io/redirection": "enabled"}) \
        + pod("productpage-v1-1", labels={"app": "productpage"}, sa="bookinfo-productpage", node="node-b",
              ip="192.168.13.108", annotations={"ambient.istio.io/redirection": "enabled"}) \
        + pod("details-v1-1", labels={"app": "details"}, sa="bookinfo-details", node="node-a", ip="192.168.58.10",
              annotations={"ambient.istio.io/redirection": "enabled"}) \
        + pod("waypoint-abc", labels={"gateway.networking.k8s.io/gateway-name": "waypoint",
                                      "istio.io/dataplane-mode": "none"}, sa="waypoint", node="node-a",
              ip="192.168.58.99") \
        + pod("sleep-legacy", "legacy", labels={"app": "sleep"}, sa="sleep", node="node-b", ip="192.168.2.50") \
        + pod("httpbin-1", labels={"app": "httpbin"}, sa="httpbin", node="node-b", ip="192.168.2.60",
              annotations={"sidecar.istio.io/status": "{}"}, containers=("httpbin", "istio-proxy")) + extra


def explain_path(view, src, dst, port=None):
    s = resolve_source(view, src, None)
    t = resolve_target(view, dst, None, port)
    ep = t.endpoints[0] if t.endpoints else None
    return plan(view, s, ep, t.ip, t.port, t.target_port(ep) if ep else t.port,
                t.service if t.addressed == "service" else None)


@pytest.fixture(scope="module")
def current():
    return MeshView(cluster_from_yaml(world()))


def components(p):
    return [h.component for h in p.hops]


def test_service_traffic_goes_via_the_service_waypoint_and_dst_ztunnel_sees_the_waypoint(current):
    p = explain_path(current, "sleep", "productpage:9080")
    assert p.path == "via-waypoint"
    assert components(p) == ["client", "src-ztunnel", "waypoint", "dst-ztunnel", "server"]
    assert [h.name for h in p.hops] == ["default/sleep-1", "istio-system/ztunnel-a", "default/waypoint",
                                        "istio-system/ztunnel-b", "default/productpage-v1-1"]
    assert [(c.component, c.peer_identity) for c in p.checks] == [
        ("waypoint", "spiffe://cluster.local/ns/default/sa/sleep"),
        ("dst-ztunnel", "spiffe://cluster.local/ns/default/sa/waypoint"),
    ]


def test_pod_ip_traffic_skips_a_service_waypoint(current):
    p = explain_path(current, "sleep", "192.168.13.108:9080")
    assert p.path == "direct-hbone"
    assert components(p) == ["client", "src-ztunnel", "dst-ztunnel", "server"]
    assert p.checks[0].peer_identity == "spiffe://cluster.local/ns/default/sa/sleep"
    assert any("service waypoints only see service traffic" in r for r in p.reasons)


def test_service_without_waypoint_is_direct_hbone_even_on_the_same_node(current):
    p = explain_path(current, "sleep", "details:9080")
    assert p.path == "direct-hbone"
    assert components(p) == ["client", "src-ztunnel", "dst-ztunnel", "server"]  # no fast path since 1.22


def test_out_of_mesh_client_is_plaintext_without_identity_and_bypasses_the_waypoint(current):
    p = explain_path(current, "sleep.legacy", "productpage:9080")
    assert p.path == "plaintext-passthrough"
    assert components(p) == ["client", "dst-ztunnel", "server"]
    assert p.checks[0].peer_identity is None
    assert any("waypoint default/waypoint is bypassed" in r for r in p.reasons)


def test_unknown_ip_source_is_outside_the_mesh(current):
    p = explain_path(current, "10.9.9.9", "details:9080")
    assert p.path == "plaintext-passthrough" and p.checks[0].peer_identity is None


def test_sidecar_destination_is_enforced_by_the_sidecar(current):
    p = explain_path(current, "sleep", "httpbin-1", port=80)
    assert [c.component for c in p.checks] == ["sidecar"]


def test_sidecar_client_bypasses_the_waypoint(current):
    """Sidecars never send to waypoints (istio#51445; PR #57729 rejected, still so in 1.31): path sidecar-direct."""
    p = explain_path(current, "httpbin-1", "productpage:9080")
    assert p.path == "sidecar-direct"
    assert p.checks[0].peer_identity == "spiffe://cluster.local/ns/default/sa/httpbin"
    assert any("istio#51445" in r for r in p.reasons)


LEGACY_WAYPOINT = """
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: Gateway
metadata:
  name: bookinfo-productpage
  namespace: default
  annotations: {istio.io/for-service-account: bookinfo-productpage}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {conditions: [{type: Programmed, status: "True"}]}
""" + pod("bookinfo-productpage-istio-waypoint-x", labels={
    "gateway.networking.k8s.io/gateway-name": "bookinfo-productpage"}, sa="bookinfo-productpage-istio-waypoint",
    node="node-a", ip="192.168.58.77")


@pytest.fixture(scope="module")
def legacy():
    return MeshView(cluster_from_yaml(world("1.20.3", LEGACY_WAYPOINT)))


def test_legacy_pod_ip_traffic_also_uses_the_workload_waypoint_and_ztunnel_skips_policy(legacy):
    p = explain_path(legacy, "sleep", "192.168.13.108:9080")
    assert p.path == "via-waypoint"
    assert p.hops[2].name == "default/bookinfo-productpage"
    assert p.checks[1].component == "dst-ztunnel" and "skipping policy" in p.checks[1].skip_reason


def test_legacy_plaintext_from_a_known_pod_is_hairpinned_with_its_identity(legacy):
    p = explain_path(legacy, "sleep.legacy", "productpage:9080")
    assert p.path == "hairpin-via-waypoint"
    assert components(p) == ["client", "dst-ztunnel", "waypoint", "dst-ztunnel", "server"]
    assert p.checks[0].peer_identity == "spiffe://cluster.local/ns/legacy/sa/sleep"
    assert not p.failure


def test_legacy_plaintext_from_an_unknown_ip_fails_unknown_source(legacy):
    p = explain_path(legacy, "10.9.9.9", "productpage:9080")
    assert p.path == "hairpin-via-waypoint"
    assert p.failure == "unknown source: 10.9.9.9"


def test_legacy_same_node_uses_the_fast_path(legacy):
    p = explain_path(legacy, "sleep", "details:9080")
    assert p.path == "direct-hbone"
    assert [h.protocol for h in p.hops] == ["tcp", "fast-path", "tcp"]


def test_legacy_sidecar_client_that_skips_the_waypoint_gets_401_bypassed(legacy):
    p = explain_path(legacy, "httpbin-1", "productpage:9080")
    assert p.checks[0].deny_after == "bypassed waypoint"


def test_legacy_hairpin_from_a_host_network_pod_fails_unknown_source():
    """1.20 `ambientindex.go` skips hostNetwork pods, so their (node) IP is no workload ztunnel knows."""
    extra = LEGACY_WAYPOINT + pod("node-exporter-1", "legacy", labels={"app": "node-exporter"}, node="node-a",
                                  ip="192.168.40.12", host_network=True)
    v = MeshView(cluster_from_yaml(world("1.20.3", extra)))
    p = explain_path(v, "node-exporter-1.legacy", "productpage:9080")
    assert p.path == "hairpin-via-waypoint"
    assert p.failure == "unknown source: 192.168.40.12"
