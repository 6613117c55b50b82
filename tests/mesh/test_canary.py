"""1.31 weighted waypoint canaries: `istio.io/use-waypoint-canary` (+ `-canary-namespace`) and the annotation
`istio.io/use-waypoint-canary-weight` on a Service, ServiceEntry or namespace.

Sources: istio `pilot/pkg/serviceregistry/ambient/waypoints.go` @86c9f01f (`getUseWaypointCanary`,
`getCanaryWeight` — strconv.Atoi, [0,100], missing = 0 —, `ResolveUseWaypointCanary` — the namespace's canary only
when the object has no use-waypoint of its own —, `resolveCanaryWaypoint`, `buildWeightedWaypoints` →
[{primary, 100-w}, {canary, w}]; errors leave the primary bound), status.go `ReportWaypointCanaryInvalidWeight`,
`ReportWaypointCanarySameAsPrimary`; release note 60801-weighted-waypoint-canary.yaml (1.31). ztunnel
`src/state.rs` `sample_weighted_waypoint` + its test (ztunnel#1972, 1.31): per-connection choice by weight; an
older ztunnel has no `weighted_waypoints` and uses the primary.
"""

import json

import pytest

from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from tests.helpers import cluster_from_yaml, pod


def world(svc_labels=None, svc_ann=None, ns_labels=None, ns_ann=None, version="1.31.0", ztunnel=None):
    ns_labels = {"istio.io/dataplane-mode": "ambient", **(ns_labels or {})}
    zt = "" if ztunnel is None else f"""
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: ztunnel, namespace: istio-system}}
spec:
  template:
    metadata: {{labels: {{app: ztunnel}}}}
    spec: {{containers: [{{name: istio-proxy, image: "docker.io/istio/ztunnel:{ztunnel}"}}]}}
"""
    gws = "".join(f"""
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {n}, namespace: default}}
spec: {{gatewayClassName: istio-waypoint, listeners: [{{name: mesh, port: 15008, protocol: HBONE}}]}}
status: {{addresses: [{{type: IPAddress, value: 10.96.9.{i}}}]}}
""" for i, n in enumerate(("waypoint", "waypoint-v2"), 1))
    return cluster_from_yaml(f"""
---
apiVersion: v1
kind: Namespace
metadata: {{name: default, labels: {json.dumps(ns_labels)}, annotations: {json.dumps(ns_ann or {})}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: istiod, namespace: istio-system}}
spec:
  template:
    metadata: {{labels: {{app: istiod}}}}
    spec: {{containers: [{{name: discovery, image: "docker.io/istio/pilot:{version}"}}]}}
{zt}{gws}
---
apiVersion: v1
kind: Service
metadata: {{name: reviews, namespace: default, labels: {json.dumps(svc_labels or {})},
           annotations: {json.dumps(svc_ann or {})}}}
spec: {{clusterIP: 10.96.1.20, selector: {{app: reviews}}, ports: [{{name: http, port: 9080}}]}}
""" + pod("ztunnel-a", "istio-system", labels={"app": "ztunnel"}, node="node-a", ip="10.0.1.2", sa="ztunnel")
        + pod("sleep-1", labels={"app": "sleep"}, sa="sleep", node="node-a", ip="10.0.1.10",
              annotations={"ambient.istio.io/redirection": "enabled"})
        + pod("reviews-1", labels={"app": "reviews"}, sa="reviews", node="node-a", ip="10.0.1.20",
              annotations={"ambient.istio.io/redirection": "enabled"})
        + pod("waypoint-1", labels={"gateway.networking.k8s.io/gateway-name": "waypoint"}, sa="waypoint",
              node="node-a", ip="10.0.1.98")
        + pod("waypoint-v2-1", labels={"gateway.networking.k8s.io/gateway-name": "waypoint-v2"}, sa="waypoint-v2",
              node="node-a", ip="10.0.1.99"))


PRIMARY = {"istio.io/use-waypoint": "waypoint"}
CANARY = {**PRIMARY, "istio.io/use-waypoint-canary": "waypoint-v2"}
W = "istio.io/use-waypoint-canary-weight"


def binding(cluster, version=None):
    v = MeshView(cluster, version)
    return v.service_waypoint(v.cluster.service("default", "reviews"))


def test_weighted_canary_on_the_service():
    b = binding(world(CANARY, {W: "25"}))
    assert b.weighted == [("default/waypoint", 75), ("default/waypoint-v2", 25)]
    assert b.waypoint.key == "default/waypoint" and not b.problem


def test_missing_weight_means_zero():
    assert binding(world(CANARY)).weighted == [("default/waypoint", 100), ("default/waypoint-v2", 0)]


@pytest.mark.parametrize("raw", ["101", "-1", "50%", " 5", "x", "2.5"])
def test_invalid_weight_reports_canary_invalid_weight_and_keeps_the_primary(raw):
    b = binding(world(CANARY, {W: raw}))
    assert (b.problem_reason, b.weighted, b.waypoint.key) == ("CanaryInvalidWeight", [], "default/waypoint")
    assert b.problem == 'canary waypoint "default/waypoint-v2" has an invalid weight; must be an integer in [0,100]'


def test_canary_same_as_primary():
    b = binding(world({**PRIMARY, "istio.io/use-waypoint-canary": "waypoint"}, {W: "10"}))
    assert b.problem_reason == "CanarySameAsPrimary" and b.weighted == []
    assert b.problem == 'canary waypoint "default/waypoint" must differ from the primary waypoint'


def test_missing_canary_waypoint_is_not_ready():
    b = binding(world({**PRIMARY, "istio.io/use-waypoint-canary": "nope"}, {W: "10"}))
    assert (b.problem_reason, b.waypoint.key) == ("WaypointIsNotReady", "default/waypoint")


def test_namespace_canary_applies_only_when_the_service_inherits_the_primary():
    ns = {"istio.io/use-waypoint": "waypoint", "istio.io/use-waypoint-canary": "waypoint-v2"}
    assert binding(world(None, None, ns, {W: "40"})).weighted == [("default/waypoint", 60), ("default/waypoint-v2", 40)]
    # the service names its own primary: the namespace's canary attributes are not consulted
    assert binding(world(PRIMARY, None, ns, {W: "40"})).weighted == []


def test_before_1_31_canary_labels_mean_nothing():
    assert binding(world(CANARY, {W: "25"}, version="1.30.2")).weighted == []


def test_explain_shows_the_split_and_warns_when_ztunnels_are_too_old():
    e = explain(MeshView(world(CANARY, {W: "25"})), "sleep", "reviews:9080")
    assert e["path"] == "via-waypoint" and e["hops"][2]["name"] == "default/waypoint"
    assert any("default/waypoint 75%, default/waypoint-v2 25%" in r for r in e["reasons"])
    assert e["waypoint"]["weighted"] == [{"name": "default/waypoint", "weight": 75},
                                         {"name": "default/waypoint-v2", "weight": 25}]
    old = explain(MeshView(world(CANARY, {W: "25"}, ztunnel="1.30.2")), "sleep", "reviews:9080")
    assert any("(< 1.31): they ignore it and always use default/waypoint" in str(w) for w in old["warnings"])


def test_explain_warns_about_an_ignored_canary():
    e = explain(MeshView(world(CANARY, {W: "150"})), "sleep", "reviews:9080")
    assert any("CanaryInvalidWeight" in str(w) for w in e["warnings"])
