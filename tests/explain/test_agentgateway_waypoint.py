"""1.31 agentgateway waypoints (GatewayClass `istio-agentgateway-waypoint`): bound like Envoy waypoints, but the
evidence differs — container `agentgateway` (no pilot-agent, no Envoy admin/config_dump on :15000), its own log
format (no Envoy `rbac_access_denied_matched_policy` detail), no Envoy 403 body.

Sources: istio `pkg/config/constants/constants.go` (AgentgatewayWaypointClassName), `pilot/pkg/config/kube/
gatewaycommon/classinfo.go` `GetAgentGatewayClasses` (needs PILOT_ENABLE_AGENTGATEWAY), the deployment template
`manifests/charts/istio-control/istio-discovery/files/agentgateway-waypoint.yaml` @86c9f01f, release note
agw-waypoint-gatewayclass.yaml (first tag 1.31.0-alpha.0: the class does not exist before 1.31).
"""

from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from tests.helpers import cluster_from_yaml, pod


def world(version="1.31.0"):
    return cluster_from_yaml(f"""
---
apiVersion: v1
kind: Namespace
metadata: {{name: default, labels: {{istio.io/dataplane-mode: ambient, istio.io/use-waypoint: agw}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: istiod, namespace: istio-system}}
spec:
  template:
    metadata: {{labels: {{app: istiod}}}}
    spec: {{containers: [{{name: discovery, image: "docker.io/istio/pilot:{version}"}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: agw, namespace: default}}
spec: {{gatewayClassName: istio-agentgateway-waypoint, listeners: [{{name: mesh, port: 15008, protocol: HBONE}}]}}
status: {{addresses: [{{type: IPAddress, value: 10.96.9.9}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: api, namespace: default}}
spec: {{clusterIP: 10.96.1.10, selector: {{app: api}}, ports: [{{name: http, port: 8080}}]}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: api-get-only, namespace: default}}
spec:
  targetRefs: [{{kind: Service, group: "", name: api}}]
  rules: [{{to: [{{operation: {{methods: [GET]}}}}]}}]
""" + pod("ztunnel-a", "istio-system", labels={"app": "ztunnel"}, node="node-a", ip="10.0.1.2", sa="ztunnel")
        + pod("sleep-1", labels={"app": "sleep"}, sa="sleep", node="node-a", ip="10.0.1.10",
              annotations={"ambient.istio.io/redirection": "enabled"})
        + pod("api-1", labels={"app": "api"}, sa="api", node="node-a", ip="10.0.1.20",
              annotations={"ambient.istio.io/redirection": "enabled"})
        + pod("agw-1", labels={"gateway.networking.k8s.io/gateway-name": "agw"}, sa="agw", node="node-a",
              ip="10.0.1.99", containers=("agentgateway",)))


def test_agentgateway_waypoint_decides_but_without_envoy_evidence():
    e = explain(MeshView(world()), "sleep", "api:8080", method="DELETE")
    assert (e["verdict"], e["path"], e["enforcedBy"], e["decidedBy"]) == (
        "deny", "via-waypoint", "waypoint", {"defaultDeny": ["default/api-get-only"]})
    assert e["outcome"] == "the client gets HTTP 403"  # not Envoy's 'RBAC: access denied' body
    assert "proxyLog" not in e  # no rbac_access_denied_matched_policy line to expect
    w = next(str(x) for x in e["warnings"] if "agentgateway waypoint" in str(x))
    assert "no Envoy admin/config_dump on :15000" in w and "container agentgateway" in w


def test_the_class_is_no_waypoint_before_1_31():
    e = explain(MeshView(world("1.30.2")), "sleep", "api:8080")
    assert e["path"] == "direct-hbone"
