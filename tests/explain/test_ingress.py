"""Ingress gateways as clients: when they send to a service's waypoint (`istio.io/ingress-use-waypoint`), and what
the destination ztunnel then sees — the waypoint's identity, or the gateway's own when it skips the waypoint.

Sources (istio/istio, tags inspected with `git show <tag>:<path>`):
- pilot/pkg/xds/endpoints/endpoint_builder.go `findServiceWaypoint` (1.24.0 … 1.31.0-rc.0): only gateways
  (Router) get the waypoint's endpoints; the service needs a VIP; ENABLE_INGRESS_WAYPOINT_ROUTING gates it
  (`BuildClusterLoadAssignment`; pilot/pkg/features/ambient.go default true).
- label value: 1.24.0 `Labels["istio.io/ingress-use-waypoint"] != "true"` (service only); 1.25.0–1.29
  `strings.EqualFold(val, "true")` with the namespace as fallback (kube/controller/ambient/sidecar_interop.go
  `ingressUseWaypoint`, release note ingress-use-waypoint-namespace.yaml); 1.30.0+ `strconv.ParseBool`
  (serviceregistry/ambient/services.go `ingressUseWaypointFromLabels`).
"""

import pytest

from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from tests.helpers import cluster_from_yaml, pod

GW_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway"
WP_ID = "spiffe://cluster.local/ns/default/sa/waypoint"
REJECT = "connection closed due to policy rejection: allow policies exist, but none allowed"


def world(version="1.31.0", svc_label=None, ns_label=None, istiod_env="", headless=False):
    svc_labels = {"istio.io/use-waypoint": "waypoint"}
    if svc_label is not None:
        svc_labels["istio.io/ingress-use-waypoint"] = svc_label
    ns_labels = {"istio.io/dataplane-mode": "ambient"}
    if ns_label is not None:
        ns_labels["istio.io/ingress-use-waypoint"] = ns_label
    import json

    return cluster_from_yaml(f"""
---
apiVersion: v1
kind: Namespace
metadata: {{name: default, labels: {json.dumps(ns_labels)}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: istio-system}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: istiod, namespace: istio-system}}
spec:
  template:
    metadata: {{labels: {{app: istiod}}}}
    spec: {{containers: [{{name: discovery, image: "docker.io/istio/pilot:{version}"{istiod_env}}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: waypoint, namespace: default}}
spec: {{gatewayClassName: istio-waypoint, listeners: [{{name: mesh, port: 15008, protocol: HBONE}}]}}
status: {{addresses: [{{type: IPAddress, value: 10.96.9.9}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: productpage, namespace: default, labels: {json.dumps(svc_labels)}}}
spec: {{clusterIP: {"None" if headless else "10.96.1.10"}, selector: {{app: productpage}},
        ports: [{{name: http, port: 9080, targetPort: 9080}}]}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: productpage-from-waypoint, namespace: default}}
spec:
  selector: {{matchLabels: {{app: productpage}}}}
  action: ALLOW
  rules: [{{from: [{{source: {{principals: [cluster.local/ns/default/sa/waypoint]}}}}]}}]
""" + pod("ztunnel-a", "istio-system", labels={"app": "ztunnel"}, node="node-a", ip="10.0.1.2", sa="ztunnel")
        + pod("ztunnel-b", "istio-system", labels={"app": "ztunnel"}, node="node-b", ip="10.0.2.2", sa="ztunnel")
        + pod("istio-ingressgateway-1", "istio-system", labels={"istio": "ingressgateway"},
              sa="istio-ingressgateway", node="node-a", ip="10.0.1.50")
        + pod("productpage-v1-1", labels={"app": "productpage"}, sa="bookinfo-productpage", node="node-b",
              ip="10.0.2.10", annotations={"ambient.istio.io/redirection": "enabled"})
        + pod("waypoint-1", labels={"gateway.networking.k8s.io/gateway-name": "waypoint"}, sa="waypoint",
              node="node-a", ip="10.0.1.99"))


def ex(cluster, dst="productpage:9080"):
    return explain(MeshView(cluster), "istio-ingressgateway-1.istio-system", dst)


def test_gateway_with_ingress_use_waypoint_goes_through_the_waypoint_and_dst_ztunnel_sees_the_waypoint():
    """1.24+ with the label "true": the gateway gets the waypoint's endpoints, so the destination ztunnel's L4
    policy sees the waypoint's identity (and allows it here)."""
    e = ex(world(svc_label="true"))
    assert (e["verdict"], e["path"], e["enforcedBy"]) == ("allow", "via-waypoint", "dst-ztunnel")
    assert e["decidedBy"] == {"policy": "default/productpage-from-waypoint", "rule": 0}
    assert [h["component"] for h in e["hops"]] == ["client", "waypoint", "dst-ztunnel", "server"]
    assert any(WP_ID in r for r in e["reasons"])
    assert e["source"]["identity"] == GW_ID


def test_gateway_without_the_label_skips_the_waypoint_and_dst_ztunnel_sees_the_gateway():
    e = ex(world())
    assert (e["verdict"], e["path"], e["enforcedBy"]) == ("deny", "direct-hbone", "dst-ztunnel")
    assert e["decidedBy"] == {"defaultDeny": ["default/productpage-from-waypoint"]}
    assert e["ztunnelLog"] == REJECT
    assert any(GW_ID in r for r in e["reasons"])
    assert any("skips waypoint default/waypoint" in w and "istio#51214" in w for w in e["reasons"])


@pytest.mark.parametrize(("version", "svc_label", "ns_label", "uses"), [
    ("1.24.3", "true", None, True),
    ("1.24.3", "True", None, False),  # 1.24: exactly "true"
    ("1.24.3", None, "true", False),  # 1.24: no namespace level
    ("1.25.0", "True", None, True),  # 1.25-1.29: EqualFold
    ("1.25.0", None, "true", True),  # 1.25: namespace level
    ("1.29.1", "1", None, False),  # EqualFold("1", "true") is false
    ("1.30.0", "1", None, True),  # 1.30+: ParseBool
    ("1.31.0", "yes", None, False),  # not a Go boolean: false
    ("1.31.0", "false", "true", False),  # the service's label wins over the namespace's
    ("1.23.2", "true", None, False),  # before 1.24 gateways never used waypoints
])
def test_label_value_parsing_per_version(version, svc_label, ns_label, uses):
    e = ex(world(version, svc_label, ns_label))
    assert e["path"] == ("via-waypoint" if uses else "direct-hbone")
    assert e["verdict"] == ("allow" if uses else "deny")


def test_ingress_waypoint_routing_flag_off_skips_the_waypoint():
    env = ', env: [{name: ENABLE_INGRESS_WAYPOINT_ROUTING, value: "false"}]'
    e = ex(world(svc_label="true", istiod_env=env))
    assert (e["verdict"], e["path"]) == ("deny", "direct-hbone")
    assert any("ENABLE_INGRESS_WAYPOINT_ROUTING=false" in r for r in e["reasons"])


def test_headless_service_never_uses_the_waypoint_from_ingress():
    """findServiceWaypoint: 'No VIP, so skip this. Currently, waypoints can only accept VIP traffic'."""
    e = ex(world(svc_label="true", headless=True))
    assert (e["verdict"], e["path"]) == ("deny", "direct-hbone")
    assert any("is headless" in r for r in e["reasons"])
