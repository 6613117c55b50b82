"""One answer: `describe pod` and `explain` say the same thing about the same flow, because findings come from one
engine (explain/findings.py) and policy attachment from one place (explain/policies.py `enforced_by_waypoint`).
Each case is a contradiction a user met (issue #11), with the Istio source that decides which side was right."""

import pytest

from ambientctl.explain.engine import explain
from ambientctl.explain.pod import describe_pod
from ambientctl.mesh import MeshView
from ambientctl.mesh.refs import resolve_pod
from ambientctl.sources.demo import load_demo
from tests.helpers import cluster_from_yaml, pod

_views: dict[str, MeshView] = {}


def demo(name: str) -> MeshView:
    if name not in _views:
        _views[name] = MeshView(load_demo(name))
    return _views[name]


def ids(items):
    return [x["id"] for x in items]


# --- 2022 experimental: the selector policy is the waypoint's ----------------------------------------------------

def test_seed_2022_selector_policy_is_enforced_by_the_waypoint_not_ztunnel():
    """`describe pod productpage-v1 --demo seed-2022` said deny-all at ztunnel with two errors while explain
    allowed sleep's GET at the waypoint. explain was right. istio/istio branch experimental-ambient @edfe40c7
    (Sep 2022): the waypoint builds one inbound listener per served pod with a proxy carrying that pod's labels, so
    selector policies of the workloads it serves apply there, HTTP rules included
    (`pilot/pkg/networking/core/v1alpha3/listener_waypoint.go` buildWaypointInboundPod); the Envoy ztunnel's
    inbound RBAC skips the workload's own identity — the identity its waypoint runs as — when it has a waypoint
    (`pilot/pkg/networking/ambientgen/ztunnelgen.go`, `authz.NewBuilderSkipIdentity`). The seed (001 §10.1) shows
    sleep's GET succeed and DELETE / notsleep fail with RBAC errors."""
    v = demo("seed-2022")
    doc = describe_pod(v, resolve_pod(v.cluster, "productpage-v1", None))
    pol = {p["name"]: p for p in doc["policies"]}["productpage-viewer"]
    assert (pol["enforcedBy"], pol["enforcer"]) == ("waypoint", "default/productpage")
    assert "effectAtZtunnel" not in pol
    assert doc["findings"] == []
    ok = explain(v, "sleep", "productpage:9080")
    assert (ok["verdict"], ok["enforcedBy"], ok["decidedBy"]) == (
        "allow", "waypoint", {"policy": "default/productpage-viewer", "rule": 0})
    assert ok["findings"] == [] and ok["warnings"] == []
    no = explain(v, "sleep", "productpage:9080", method="DELETE")
    assert (no["verdict"], no["enforcedBy"]) == ("deny", "waypoint")


# --- 1.18–1.21: a policy selecting the waypoint pod is the waypoint's, with or without its pod ---------------------

def legacy_world(extra: str) -> MeshView:
    text = """
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
    spec: {containers: [{name: discovery, image: "docker.io/istio/pilot:1.20.3"}]}
---
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: default}
spec: {clusterIP: 10.100.171.143, selector: {app: productpage}, ports: [{name: http, port: 9080}]}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: Gateway
metadata:
  name: bookinfo-productpage
  namespace: default
  annotations: {istio.io/for-service-account: bookinfo-productpage}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {conditions: [{type: Programmed, status: "True"}]}
""" + pod("ztunnel-a", "istio-system", labels={"app": "ztunnel"}, node="node-a", ip="192.168.1.2", sa="ztunnel") \
        + pod("sleep-1", labels={"app": "sleep"}, sa="sleep", node="node-a", ip="192.168.58.148") \
        + pod("notsleep-1", labels={"app": "notsleep"}, sa="notsleep", node="node-a", ip="192.168.58.149") \
        + pod("productpage-v1-1", labels={"app": "productpage"}, sa="bookinfo-productpage", node="node-a",
              ip="192.168.13.108") + extra
    return MeshView(cluster_from_yaml(text))


def policy(selector: dict) -> str:
    import yaml

    return "---\n" + yaml.safe_dump({
        "apiVersion": "security.istio.io/v1beta1", "kind": "AuthorizationPolicy",
        "metadata": {"name": "productpage-viewer", "namespace": "default"},
        "spec": {"selector": {"matchLabels": selector}, "action": "ALLOW", "rules": [{
            "from": [{"source": {"principals": ["cluster.local/ns/default/sa/sleep"]}}],
            "to": [{"operation": {"methods": ["GET"]}}]}]}})


def test_legacy_policy_selecting_the_waypoint_without_its_pod_in_the_snapshot():
    """1.18–1.21 waypoints built RBAC from their own pod labels (authz/settings.py `waypoint_uses_own_selector`:
    1.20 `plugin/authz/authorization.go`); istiod's deployment template gives those pods
    `istio.io/gateway-name: <Gateway>` (1.18.0–1.21 `istio-discovery/files/waypoint.yaml`). The istio.io 1.18–1.21
    L7 guide selected the waypoint that way. A snapshot without the waypoint pod must not change the answer."""
    v = legacy_world(policy({"istio.io/gateway-name": "bookinfo-productpage"}))
    assert v.waypoints()["default/bookinfo-productpage"].pods == []
    doc = describe_pod(v, resolve_pod(v.cluster, "productpage-v1-1", None))
    pol = {p["name"]: p for p in doc["policies"]}["productpage-viewer"]
    assert (pol["enforcedBy"], pol["enforcer"]) == ("waypoint", "default/bookinfo-productpage")
    assert doc["findings"] == []
    ok = explain(v, "sleep", "productpage:9080")
    assert (ok["verdict"], ok["enforcedBy"], ok["decidedBy"]["policy"]) == (
        "allow", "waypoint", "default/productpage-viewer")
    for src, method in (("notsleep", "GET"), ("sleep", "DELETE")):
        e = explain(v, src, "productpage:9080", method=method)
        assert (e["verdict"], e["enforcedBy"]) == ("deny", "waypoint"), (src, method)
        assert e["proxyLog"].startswith("response code 403")


def test_legacy_workload_selector_policy_with_http_rules_is_enforced_nowhere():
    """1.20 ztunnel `inbound.rs`: 'request from waypoint, skipping policy' — every call to a pod with a waypoint
    goes through it (`outbound.rs` fetch_waypoint by workload), so the ztunnel policy selecting the workload (whose
    HTTP rules istiod drops) never decides: it is not deny-all, and its HTTP rules are enforced nowhere."""
    v = legacy_world(policy({"app": "productpage"}))
    doc = describe_pod(v, resolve_pod(v.cluster, "productpage-v1-1", None))
    pol = {p["name"]: p for p in doc["policies"]}["productpage-viewer"]
    assert (pol["enforcedBy"], pol["skippedFor"]) == ("ztunnel", "default/bookinfo-productpage")
    f = {x["id"]: x for x in doc["findings"]}["l7-rule-dropped-at-ztunnel"]
    assert f["severity"] == "warning" and "enforced nowhere" in f["message"]
    for src in ("sleep", "notsleep"):
        e = explain(v, src, "productpage:9080", method="DELETE")
        assert (e["verdict"], e["enforcedBy"]) == ("allow", "none")
        assert f in e["findings"]  # the same finding, the same words
        assert f["message"] in e["warnings"]


# --- explain carries the destination's findings that concern the flow ---------------------------------------------

def test_fail_open_waypoint_is_a_warning_of_explain_and_the_waypoint_condition():
    """bookinfo demo: Service details asks for `details-waypoint`, which does not exist. istiod binds nothing and
    writes `istio.io/WaypointBound` False, reason WaypointIsNotReady, message `waypoint %q is not ready`
    (istio/istio `ambient/status.go` ReportWaypointIsNotReady, 1.24.0+ — earlier istiods write no condition);
    ztunnel then sends directly (fail open, research/istio.md §5.2)."""
    v = demo("bookinfo")
    e = explain(v, "sleep", "details:9080")
    assert e["verdict"] == "allow" and e["path"] == "direct-hbone"
    assert e["waypoint"] == {"name": None, "boundBy": "service label istio.io/use-waypoint=details-waypoint",
                             "requested": "default/details-waypoint", "reason": "WaypointIsNotReady",
                             "message": 'waypoint "default/details-waypoint" is not ready', "inPath": False,
                             "weighted": []}
    d = describe_pod(v, resolve_pod(v.cluster, "details", None))
    fail_open = [x for x in d["findings"] if x["id"] == "waypoint-not-used"]
    assert fail_open and all(x in e["findings"] for x in fail_open)


def test_bound_waypoint_carries_istiods_success_message():
    """model.ServiceInfo.GetConditions (1.24.0+): True, reason WaypointAccepted, `Successfully attached to
    waypoint <ns>/<name>`."""
    e = explain(demo("bookinfo"), "sleep", "productpage:9080")
    assert e["waypoint"]["name"] == "default/waypoint" and e["waypoint"]["inPath"]
    assert (e["waypoint"]["reason"], e["waypoint"]["message"]) == (
        "WaypointAccepted", "Successfully attached to waypoint default/waypoint")


def test_pod_ip_caller_skips_the_service_waypoints_l7_policy_and_explain_says_so():
    """1.22+ ztunnel `src/proxy/outbound.rs::build_request`: traffic to a pod IP uses only a workload waypoint, so
    productpage-viewer (targetRefs on the Service, enforced by its waypoint) never sees it; describe says so for the
    pod, and explain for the flow — the same finding."""
    v = demo("bookinfo")
    e = explain(v, "sleep", "192.168.13.108:9080", method="DELETE")
    assert (e["verdict"], e["path"]) == ("allow", "direct-hbone")
    assert e["waypoint"]["name"] is None and not e["waypoint"]["inPath"]
    d = describe_pod(v, resolve_pod(v.cluster, "productpage", None))
    bypass = {x["id"]: x for x in d["findings"]}["l7-policy-bypassed-pod-ip"]
    assert bypass in e["findings"]
    # the same caller through the service goes through the waypoint: the finding does not concern that flow
    assert "l7-policy-bypassed-pod-ip" not in ids(explain(v, "sleep", "productpage:9080")["findings"])


def test_out_of_mesh_caller_skips_the_waypoint():
    """No hairpin since ztunnel #913 (1.22): plaintext from outside the mesh reaches the pod through its ztunnel,
    which admits it under PERMISSIVE."""
    v = demo("bookinfo")
    e = explain(v, "sleep.legacy", "productpage:9080", method="DELETE")
    assert e["verdict"] == "allow"
    assert "l7-policy-bypassed-out-of-mesh" in ids(e["findings"])


@pytest.mark.parametrize("label, reason, message", [
    # a pod label naming a service-only waypoint (status.go ReportWaypointUnsupportedTrafficType, 1.24.0+)
    ({"istio.io/use-waypoint": "waypoint"}, "UnsupportedTrafficType",
     'attempting to bind to traffic type "workload" which the waypoint "default/waypoint" does not support'),
    # a waypoint in another namespace whose listener admits routes from its own namespace only
    # (ReportWaypointAttachmentDenied, 1.24.0+)
    ({"istio.io/use-waypoint": "shared", "istio.io/use-waypoint-namespace": "infra"}, "AttachmentDenied",
     'we are not permitted to attach to waypoint "infra/shared" (missing allowedRoutes?)'),
])
def test_workload_binding_failures_show_istiods_reason_and_message(label, reason, message):
    text = """
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
    spec: {containers: [{name: discovery, image: "docker.io/istio/pilot:1.28.0"}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: default}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{type: IPAddress, value: 10.100.9.9}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared, namespace: infra, labels: {istio.io/waypoint-for: all}}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{type: IPAddress, value: 10.100.9.10}]}
""" + pod("ztunnel-a", "istio-system", labels={"app": "ztunnel"}, node="n1", ip="192.168.1.2", sa="ztunnel") \
        + pod("sleep-1", labels={"app": "sleep"}, sa="sleep", ip="10.0.0.2",
              annotations={"ambient.istio.io/redirection": "enabled"}) \
        + pod("web-1", labels={"app": "web", **label}, sa="web", ip="10.0.0.3",
              annotations={"ambient.istio.io/redirection": "enabled"}, containers=("web",))
    v = MeshView(cluster_from_yaml(text))
    e = explain(v, "sleep", "web-1", port=8080)
    assert (e["waypoint"]["name"], e["waypoint"]["reason"], e["waypoint"]["message"]) == (None, reason, message)
    assert "waypoint-not-used" in ids(e["findings"])
    d = describe_pod(v, resolve_pod(v.cluster, "web-1", None))
    assert [x for x in d["findings"] if x["id"] == "waypoint-not-used"] == \
        [x for x in e["findings"] if x["id"] == "waypoint-not-used"]


@pytest.mark.parametrize("demo_name, src, dst, method, denied_at, unreached", [
    ("bookinfo", "notsleep", "productpage:9080", "GET", "waypoint", ["dst-ztunnel", "server"]),
    ("bookinfo-l4", "notsleep", "productpage:9080", "GET", "dst-ztunnel", ["server"]),
    ("bookinfo", "sleep", "productpage:9080", "GET", None, []),
])
def test_hops_after_a_deny_are_not_reached(demo_name, src, dst, method, denied_at, unreached):
    """A connection denied at a component never reaches the hops behind it (waypoint: HTTP 403 from Envoy's RBAC
    filter before any upstream connection; dst ztunnel: 401 to the CONNECT before it dials the pod)."""
    e = explain(demo(demo_name), src, dst, method=method)
    assert e["enforcedBy"] == (denied_at or e["enforcedBy"])
    assert [h["component"] for h in e["hops"] if h.get("reached") is False] == unreached
    if denied_at:
        at = next(i for i, h in enumerate(e["hops"]) if h["component"] == denied_at)
        assert all(h.get("reached") is False for h in e["hops"][at + 1:])
        assert all("reached" not in h for h in e["hops"][:at + 1])
