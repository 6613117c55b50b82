"""Findings about policies ztunnel enforces (the translation itself is ambientctl.authz, checked against
istiod's goldens in tests/authz). Sources: istio/istio pilot/pkg/serviceregistry/ambient/
authorization.go @86c9f01f (ALLOW rules with HTTP attributes dropped, DENY rules keep their L4 part, CUSTOM/AUDIT
not sent to ztunnel; holds 1.22+, texts per research/istio.md §4.2) and istio.io ambient/usage/l4-policy (the
destination ztunnel sees the waypoint's identity once a waypoint is in the path, §4.4)."""

import pytest

from ambientctl.explain.pod import describe_pod
from ambientctl.mesh import MeshView
from tests.helpers import cluster_from_yaml, pod

BASE = """
---
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio.io/dataplane-mode: ambient}}
""" + pod("ztunnel-a", "istio-system", labels={"app": "ztunnel"}) + pod(
    "ratings-1", labels={"app": "ratings"}, ip="10.0.0.5", annotations={"ambient.istio.io/redirection": "enabled"})


def policy(action, rules, name="p"):
    import yaml

    return "---\n" + yaml.safe_dump({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                                     "metadata": {"name": name, "namespace": "default"},
                                     "spec": {"selector": {"matchLabels": {"app": "ratings"}}, "action": action,
                                              "rules": rules}})


def findings(extra):
    v = MeshView(cluster_from_yaml(BASE + extra), istio_version="1.28")
    doc = describe_pod(v, v.cluster.pods[1])
    return {f["id"]: f for f in doc["findings"]}, doc


FROM_REVIEWS = {"from": [{"source": {"principals": ["cluster.local/ns/default/sa/bookinfo-reviews"]}}]}


def test_allow_with_only_http_rules_is_deny_all():
    f, doc = findings(policy("ALLOW", [{**FROM_REVIEWS, "to": [{"operation": {"methods": ["GET"]}}]}]))
    assert f["l7-rule-dropped-at-ztunnel"]["severity"] == "error"
    assert doc["policies"][0]["effectAtZtunnel"] == "deny-all"


def test_allow_keeps_its_l4_rules():
    f, doc = findings(policy("ALLOW", [FROM_REVIEWS, {"to": [{"operation": {"paths": ["/admin"]}}]}]))
    assert doc["policies"][0]["effectAtZtunnel"] == "narrower"
    assert f["l7-rule-dropped-at-ztunnel"]["severity"] == "warning"


@pytest.mark.parametrize(("rule", "effect"), [
    # the `to` entry keeps its port and loses its method: enforced on the L4 part (deny-groups golden, rule 2)
    ({**FROM_REVIEWS, "to": [{"operation": {"ports": ["9080"], "methods": ["DELETE"]}}]}, "broader"),
    # a `to` entry with only HTTP content becomes an empty match, which ztunnel skips: the rule never fires
    ({**FROM_REVIEWS, "to": [{"operation": {"methods": ["DELETE"]}}]}, "no-effect"),
    ({"to": [{"operation": {"methods": ["DELETE"]}}]}, "no-effect"),
    ({"from": [{"source": {"remoteIpBlocks": ["1.2.3.4/32"]}}]}, "no-effect"),
    ({"when": [{"key": "request.headers[x-user]", "values": ["bob"]}]}, "no-effect"),
])
def test_deny_with_http_parts(rule, effect):
    _, doc = findings(policy("DENY", [rule]))
    assert doc["policies"][0]["effectAtZtunnel"] == effect


def test_l4_only_policy_has_no_notes():
    f, doc = findings(policy("ALLOW", [{**FROM_REVIEWS, "to": [{"operation": {"ports": ["9080"]}}],
                                         "when": [{"key": "source.namespace", "values": ["default"]}]}]))
    assert "notes" not in doc["policies"][0] and not f


def test_custom_is_not_enforced_by_ztunnel():
    f, _ = findings(policy("CUSTOM", [FROM_REVIEWS]))
    assert "action-not-supported-at-ztunnel" in f


WAYPOINT = """
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec: {clusterIP: 10.96.0.9, selector: {app: ratings}, ports: [{port: 9080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: default}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{type: IPAddress, value: 10.96.0.50}]}
"""


def test_waypoint_identity_missing_from_ztunnel_allow_policies():
    f, _ = findings(WAYPOINT + policy("ALLOW", [FROM_REVIEWS]))
    assert "waypoint-identity-not-allowed" in f
    assert "cluster.local/ns/default/sa/waypoint" in f["waypoint-identity-not-allowed"]["message"]


@pytest.mark.parametrize("source", [
    {"principals": ["cluster.local/ns/default/sa/waypoint"]},
    {"namespaces": ["default"]},
    {"principals": ["*"]},
    {"serviceAccounts": ["waypoint"]},
])
def test_allowing_the_waypoint_clears_the_finding(source):
    f, _ = findings(WAYPOINT + policy("ALLOW", [FROM_REVIEWS, {"from": [{"source": source}]}]))
    assert "waypoint-identity-not-allowed" not in f
