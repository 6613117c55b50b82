"""`trustDomains` / `notTrustDomains` in an AuthorizationPolicy source (and the `source.trustDomain` condition), new
in 1.31: waypoints (Envoy RBAC) enforce them; istiod does not send them to ztunnel.

Sources (istio/istio @86c9f01f = 1.31.0-rc.0; release note add-trust-domains-to-authz-policy.yaml, first tagged
1.31.0-alpha.0): `pilot/pkg/security/authz/model/generator.go` `srcTrustDomainGenerator` ("*" = presence prefix
`spiffe://`; no "*" = prefix `spiffe://<td>/`; one "*" = regex `[^/]*`); `model.go` (source.trustDomain when key);
`pilot/pkg/serviceregistry/ambient/authorization.go` `handleRule`: ztunnel's Match has no trust-domain field and
`httpSources` does not flag them, so they vanish silently — an entry with nothing else is an empty match, which
ztunnel skips (`isMatchEmpty`: "An empty match sent to ztunnel is skipped (match-none)"); `source.trustDomain` is
not in `l4WhenAttributes`, so a rule using it is treated like an HTTP rule.
"""

from __future__ import annotations

import pytest
import yaml

from ambientctl.authz.evaluate import Connection, Identity, PolicyIndex
from ambientctl.authz.settings import AuthzSettings
from ambientctl.authz.waypoint import HttpRequest, evaluate_request, trust_domain_matches
from ambientctl.mesh.version import IstioVersion
from ambientctl.model import parse_object

SLEEP = Identity.parse("spiffe://cluster.local/ns/default/sa/sleep")
PARTNER = Identity.parse("spiffe://partner.example/ns/default/sa/client")


def policy(source: dict, selector: bool = False, when: list | None = None):
    spec = {"action": "ALLOW", "rules": [{"from": [{"source": source}]} | ({"when": when} if when else {})]}
    spec |= {"selector": {"matchLabels": {"app": "api"}}} if selector else {
        "targetRefs": [{"kind": "Service", "group": "", "name": "api"}]}
    doc = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
           "metadata": {"name": "td", "namespace": "default"}, "spec": spec}
    return parse_object(yaml.safe_load(yaml.safe_dump(doc)), "inline")


@pytest.mark.parametrize(("pattern", "td", "ok"), [
    ("*", "cluster.local", True), ("cluster.local", "cluster.local", True), ("cluster.local", "cluster.localx", False),
    ("*.local", "cluster.local", True), ("cluster.*", "cluster.local", True), ("partner*", "cluster.local", False),
    ("*", None, False),
])
def test_trust_domain_pattern(pattern, td, ok):
    assert trust_domain_matches(pattern, td) is ok


def test_waypoint_enforces_trust_domains():
    ap = policy({"trustDomains": ["partner.example"]})
    assert evaluate_request([ap], HttpRequest("10.0.0.5", PARTNER, port=80)).allowed is True
    d = evaluate_request([ap], HttpRequest("10.0.0.6", SLEEP, port=80))
    assert d.allowed is False and d.decided_by == {"defaultDeny": ["default/td"]}
    nots = policy({"notTrustDomains": ["cluster.local"]})
    assert evaluate_request([nots], HttpRequest("10.0.0.6", SLEEP, port=80)).allowed is False
    assert evaluate_request([nots], HttpRequest("10.0.0.5", PARTNER, port=80)).allowed is True
    when = policy({}, when=[{"key": "source.trustDomain", "values": ["partner.*"]}])
    assert evaluate_request([when], HttpRequest("10.0.0.5", PARTNER, port=80)).allowed is True


def _ztunnel(ap):
    idx = PolicyIndex.build([ap], [], AuthzSettings(version=IstioVersion.parse("1.31")))
    return idx, idx.translations["default/td"]


def test_ztunnel_never_sees_trust_domains_an_entry_with_only_them_matches_nothing():
    idx, t = _ztunnel(policy({"trustDomains": ["partner.example"]}, selector=True))
    assert t.status is None  # istiod reports nothing
    assert any("enforced by waypoints only" in n for n in t.notes)
    d = idx.evaluate("default", {"app": "api"}, Connection("10.0.0.5", "10.0.0.9", 80, PARTNER))
    assert not d.allowed  # even the partner: the empty match is skipped, no ALLOW rule matches
    assert d.error == "connection closed due to policy rejection: allow policies exist, but none allowed"


def test_ztunnel_matches_the_rest_of_the_entry_so_the_trust_domain_limit_is_lost():
    idx, _ = _ztunnel(policy({"principals": ["*/ns/default/sa/sleep", "*/ns/default/sa/client"],
                              "trustDomains": ["partner.example"]}, selector=True))
    d = idx.evaluate("default", {"app": "api"}, Connection("10.0.0.6", "10.0.0.9", 80, SLEEP))
    assert d.allowed  # cluster.local/…/sleep gets in although trustDomains names only partner.example


def test_source_trust_domain_condition_is_an_http_attribute_for_ztunnel():
    _, t = _ztunnel(policy({}, selector=True, when=[{"key": "source.trustDomain", "values": ["partner.example"]}]))
    assert t.effect == "deny-all" and "source.trustDomain" in t.status.message
