"""Dry-run AuthorizationPolicies (`istio.io/dry-run: "true"`) at ztunnel, per era and with istiod/ztunnel skew.
Each side's version comes from its own image (istiod Deployment, ztunnel DaemonSet); --istio-version sets both.

Sources: istio `pilot/pkg/serviceregistry/ambient/authorization.go` (1.29+: sent with DryRun only when
AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY, else status "support for ambient dry-run authorizationPolicies isn't
enabled"; 1.25.2–1.28 not sent, istio#55414; earlier the annotation is ignored and the policy enforced);
istio/ztunnel `proto/authorization.proto` — `bool dry_run = 6` exists at 1.29.0, not at 1.28.0 (ztunnel#1659), so
a ztunnel < 1.29 drops the field and enforces the policy (research/istio-2026.md §1.11, §3 pitfall (c));
ztunnel `src/state.rs::assert_rbac` (dry-run matches only logged).
"""

import pytest

from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from tests.helpers import cluster_from_yaml, pod

DENIED = "connection closed due to policy rejection: explicitly denied by: default/deny-sleep-dry-run"


def world(istiod="1.29.1", ztunnel="1.29.1", flag=True):
    env = ', env: [{name: AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY, value: "true"}]' if flag else ""
    return cluster_from_yaml(f"""
---
apiVersion: v1
kind: Namespace
metadata: {{name: default, labels: {{istio.io/dataplane-mode: ambient}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: istiod, namespace: istio-system}}
spec:
  template:
    metadata: {{labels: {{app: istiod}}}}
    spec: {{containers: [{{name: discovery, image: "docker.io/istio/pilot:{istiod}"{env}}}]}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: ztunnel, namespace: istio-system}}
spec:
  selector: {{matchLabels: {{app: ztunnel}}}}
  template:
    metadata: {{labels: {{app: ztunnel}}}}
    spec: {{containers: [{{name: istio-proxy, image: "docker.io/istio/ztunnel:{ztunnel}"}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: productpage, namespace: default}}
spec: {{clusterIP: 10.96.1.10, selector: {{app: productpage}}, ports: [{{name: http, port: 9080}}]}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-sleep-dry-run
  namespace: default
  annotations: {{istio.io/dry-run: "true"}}
spec:
  selector: {{matchLabels: {{app: productpage}}}}
  action: DENY
  rules: [{{from: [{{source: {{principals: [cluster.local/ns/default/sa/sleep]}}}}]}}]
""" + pod("ztunnel-a", "istio-system", labels={"app": "ztunnel"}, node="node-a", ip="10.0.1.2", sa="ztunnel")
        + pod("sleep-1", labels={"app": "sleep"}, sa="sleep", node="node-a", ip="10.0.1.10",
              annotations={"ambient.istio.io/redirection": "enabled"})
        + pod("productpage-1", labels={"app": "productpage"}, sa="productpage", node="node-a", ip="10.0.1.20",
              annotations={"ambient.istio.io/redirection": "enabled"}))


def ex(cluster, version=None):
    return explain(MeshView(cluster, version), "sleep", "productpage:9080", protocol="tcp")


def test_old_ztunnel_enforces_a_dry_run_policy_that_istiod_1_29_sends_as_dry_run():
    e = ex(world(istiod="1.29.1", ztunnel="1.28.3"))
    assert (e["verdict"], e["path"], e["enforcedBy"], e["decidedBy"]) == (
        "deny", "direct-hbone", "dst-ztunnel", {"policy": "default/deny-sleep-dry-run", "rule": 0})
    assert e["ztunnelLog"] == DENIED
    assert any("ENFORCE the policy for real" in w for w in e["warnings"])
    assert [f["id"] for f in e.get("findings", [])] == ["dry-run-enforced-by-old-ztunnel"]


@pytest.mark.parametrize(("istiod", "ztunnel", "flag", "verdict"), [
    ("1.29.1", "1.29.0", True, "allow"),  # both 1.29+: only logged
    ("1.31.0", "1.30.2", True, "allow"),
    ("1.29.1", "1.28.3", False, "allow"),  # flag off: istiod does not send it at all
    ("1.28.2", "1.27.1", True, "allow"),  # 1.25.2-1.28: not sent (istio#55414)
    ("1.24.3", "1.24.3", True, "deny"),  # before 1.25.2: annotation ignored, enforced
])
def test_dry_run_per_era_and_skew(istiod, ztunnel, flag, verdict):
    assert ex(world(istiod, ztunnel, flag))["verdict"] == verdict


def test_istio_version_overrides_both_sides():
    v = MeshView(world(istiod="1.29.1", ztunnel="1.28.3"), "1.29")
    assert v.install.ztunnel.label == "1.29"
    assert ex(world(istiod="1.29.1", ztunnel="1.28.3"), "1.29")["verdict"] == "allow"


def test_each_version_is_read_from_its_own_image():
    v = MeshView(world(istiod="1.29.1", ztunnel="1.28.3"))
    assert (v.version.label, v.install.ztunnel.label) == ("1.29", "1.28")
    assert any("version skew" in n for n in v.install.notes)
