"""Sidecars and ambient with waypoints (research/istio-2026.md §2.8).

- A sidecar client picks endpoints itself and never sends to a waypoint (istio#51445; PR #57729 to opt in was
  rejected; `findServiceWaypoint` in pilot/pkg/xds/endpoints/endpoint_builder.go hands waypoint endpoints to
  gateways only — `b.nodeType != model.Router` returns early — still so at 1.31.0-rc.0): path `sidecar-direct`,
  the destination ztunnel sees the sidecar's identity, the waypoint's L7 policies do not apply.
- A captured client addressing a Service with a waypoint goes to the waypoint whatever its endpoints are
  (istio/ztunnel src/proxy/outbound.rs `build_request`: service VIP → `fetch_service_waypoint`); a sidecar
  endpoint then sees the waypoint's identity and applies its own selector policies.
"""

from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from tests.helpers import cluster_from_yaml, pod

WP = "spiffe://cluster.local/ns/default/sa/waypoint"


def world():
    return cluster_from_yaml("""
---
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
spec:
  template:
    metadata: {labels: {app: istiod}}
    spec: {containers: [{name: discovery, image: "docker.io/istio/pilot:1.31.0"}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: default}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{type: IPAddress, value: 10.96.9.9}]}
---
apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec: {clusterIP: 10.96.1.30, selector: {app: httpbin}, ports: [{name: http, port: 8000, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec: {clusterIP: 10.96.1.31, selector: {app: api}, ports: [{name: http, port: 8080}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api-get, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: api}]
  rules: [{to: [{operation: {methods: [GET]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin-from-waypoint, namespace: default}
spec:
  selector: {matchLabels: {app: httpbin}}
  rules: [{from: [{source: {principals: [cluster.local/ns/default/sa/waypoint]}}]}]
""" + pod("ztunnel-a", "istio-system", labels={"app": "ztunnel"}, node="node-a", ip="10.0.1.2", sa="ztunnel")
        + pod("sleep-1", labels={"app": "sleep"}, sa="sleep", node="node-a", ip="10.0.1.10",
              annotations={"ambient.istio.io/redirection": "enabled"})
        + pod("api-1", labels={"app": "api"}, sa="api", node="node-a", ip="10.0.1.20",
              annotations={"ambient.istio.io/redirection": "enabled"})
        + pod("httpbin-1", labels={"app": "httpbin"}, sa="httpbin", node="node-a", ip="10.0.1.30",
              annotations={"sidecar.istio.io/status": "{}"}, containers=("httpbin", "istio-proxy"))
        + pod("legacy-client-1", labels={"app": "legacy-client"}, sa="legacy-client", node="node-a", ip="10.0.1.40",
              annotations={"sidecar.istio.io/status": "{}"}, containers=("app", "istio-proxy"))
        + pod("waypoint-1", labels={"gateway.networking.k8s.io/gateway-name": "waypoint"}, sa="waypoint",
              node="node-a", ip="10.0.1.99"))


def test_sidecar_client_skips_the_waypoint_and_its_l7_policy():
    e = explain(MeshView(world()), "legacy-client", "api:8080", method="DELETE")
    assert (e["verdict"], e["path"], e["enforcedBy"], e["decidedBy"]) == ("allow", "sidecar-direct", "none",
                                                                          {"noPolicy": True})
    assert any("sidecars do not use waypoints" in str(w) and "istio#51445" in str(w) for w in e["warnings"])
    assert any("spiffe://cluster.local/ns/default/sa/legacy-client" in r for r in e["reasons"])


def test_ambient_client_to_a_sidecar_service_goes_through_the_waypoint_then_the_sidecar():
    e = explain(MeshView(world()), "sleep", "httpbin:8000")
    assert (e["verdict"], e["path"], e["enforcedBy"], e["decidedBy"]) == (
        "allow", "via-waypoint", "sidecar", {"policy": "default/httpbin-from-waypoint", "rule": 0})
    assert [h["component"] for h in e["hops"]] == ["client", "src-ztunnel", "waypoint", "server"]
    assert any(WP in r for r in e["reasons"])


def test_sidecar_to_sidecar_is_sidecar_direct():
    e = explain(MeshView(world()), "legacy-client", "httpbin:8000")
    assert e["path"] == "sidecar-direct"
    assert (e["verdict"], e["decidedBy"]) == ("deny", {"defaultDeny": ["default/httpbin-from-waypoint"]})
