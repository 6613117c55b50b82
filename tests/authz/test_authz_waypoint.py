"""Waypoint attachment and L7 decisions.

Sources: istio/istio `pilot/pkg/model/policyattachment.go::ShouldAttachPolicy` and
`pilot/pkg/security/authz/builder/builder.go` (`policyName`, CUSTOM/AUDIT/DENY/ALLOW order, shadow rules for dry-run)
at 86c9f01f; 1.18–1.21 from `plugin/authz/authorization.go` at tags 1.18.0 / 1.20.0.
"""

from __future__ import annotations

import yaml

from ambientctl.authz.evaluate import Identity
from ambientctl.authz.settings import AuthzSettings
from ambientctl.authz.waypoint import (
    HttpRequest,
    WaypointTarget,
    evaluate_request,
    normalize_path,
    waypoint_policies,
)
from ambientctl.mesh.version import IstioVersion
from ambientctl.model import parse_object

DOCS = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: svc-get, namespace: shop}
spec:
  targetRefs: [{kind: Service, group: "", name: cart}]
  rules: [{from: [{source: {namespaces: [web]}}], to: [{operation: {methods: [GET], paths: ["/items/*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: gw-deny-admin, namespace: shop}
spec:
  action: DENY
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: selector, namespace: shop}
spec:
  selector: {matchLabels: {gateway.networking.k8s.io/gateway-name: waypoint}}
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: class, namespace: other}
spec:
  targetRefs: [{kind: GatewayClass, group: gateway.networking.k8s.io, name: istio-waypoint}]
  rules: [{}]
"""
APS = [parse_object(d, "t") for d in yaml.safe_load_all(DOCS)]
WP = WaypointTarget("shop", "waypoint", services=[("Service", "shop", "cart")],
                    pod_labels={"gateway.networking.k8s.io/gateway-name": "waypoint"})
WEB = Identity("cluster.local", "web", "frontend")


def test_attachment_current() -> None:
    """1.22+: Service and Gateway targetRefs attach; selector policies never do (noted, IST0166); a GatewayClass
    targetRef outside the root namespace does not attach and gets the WaypointAccepted Invalid text."""
    att, notes = waypoint_policies(APS, WP)
    assert [a.policy.meta.key for a in att] == ["shop/gw-deny-admin", "shop/svc-get"]
    assert any("shop/selector" in n for n in notes)
    assert any("must be in the root namespace `istio-system` when referencing a GatewayClass" in n for n in notes)


def test_attachment_1_20_uses_waypoint_pod_labels() -> None:
    """1.20/1.21: ListAuthorizationPolicies(proxy namespace, proxy labels): selector policies selecting the waypoint
    pod and Gateway targetRefs attach; Service targetRefs did not exist for waypoints."""
    att, _ = waypoint_policies(APS, WP, AuthzSettings(version=IstioVersion.parse("1.20")))
    assert [a.policy.meta.key for a in att] == ["shop/gw-deny-admin", "shop/selector"]


def test_l7_decisions_and_envoy_names() -> None:
    """DENY before ALLOW; Envoy's matched policy name is `ns[<ns>]-policy[<name>]-rule[<i>]` (builder.go
    `policyName`); default deny reports `none`; the client sees 403 `RBAC: access denied`."""
    att, _ = waypoint_policies(APS, WP)
    pols = [a.policy for a in att]
    ok = evaluate_request(pols, HttpRequest("10.0.0.1", WEB, port=80, method="GET", path="/items/1?x=1"))
    assert ok.allowed and ok.decided_by == {"policy": "shop/svc-get", "rule": 0}
    deny = evaluate_request(pols, HttpRequest("10.0.0.1", WEB, port=80, path="/admin/x"))
    assert deny.allowed is False and deny.status == 403 and deny.body == "RBAC: access denied"
    assert deny.matched_policy == "ns[shop]-policy[gw-deny-admin]-rule[0]"
    post = evaluate_request(pols, HttpRequest("10.0.0.1", WEB, port=80, method="POST", path="/items/1"))
    assert post.allowed is False and post.matched_policy == "none" and post.decided_by == {"defaultDeny": ["shop/svc-get"]}
    plain = evaluate_request(pols, HttpRequest("10.0.0.1", None, path="/items/1"))
    assert plain.allowed is False and "no identity" in " ".join(plain.reasons)


def test_custom_is_unknown_and_jwt_absent_never_matches() -> None:
    """CUSTOM runs first and its outcome belongs to the external authorizer; requestPrincipals need a JWT."""
    custom = parse_object(yaml.safe_load("""
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: shop}
spec: {action: CUSTOM, provider: {name: opa}, rules: [{to: [{operation: {paths: ["/*"]}}]}]}
"""), "t")
    d = evaluate_request([custom], HttpRequest("10.0.0.1", WEB, path="/x"))
    assert d.allowed is None and d.decided_by["externalAuthorizer"] == "opa"
    jwt = parse_object(yaml.safe_load("""
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: jwt, namespace: shop}
spec: {rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]}
"""), "t")
    assert evaluate_request([jwt], HttpRequest("10.0.0.1", WEB)).allowed is False
    assert evaluate_request([jwt], HttpRequest("10.0.0.1", WEB, request_principal="iss/sub")).allowed


def test_path_normalization() -> None:
    assert normalize_path("/a/./b/../c?q=1") == "/a/c"
    assert normalize_path("/a/b/") == "/a/b/"
