"""ztunnel's RBAC evaluation, one test per fact of research/istio.md §4.7.

Sources: istio/ztunnel `src/rbac.rs` (tests `rbac_empty_policy`, `rbac_nesting`, `rbac_multi_rule`, the
`rbac_test!` field cases, `string_match`) and `src/state.rs` (`assert_rbac_*`) at commit 62d826530e5c (master,
2026-08-20). Unless a test says otherwise the semantics hold for ztunnel 1.18–master: `Authorization::matches` is
unchanged since 1.18 apart from the field rename `groups`→`rules` (2023) and `serviceAccounts` (1.25, #1402);
dry-run policies exist in ztunnel from 1.29 (#1659).
"""

from __future__ import annotations

import pytest

from ambientctl.authz.evaluate import Connection, Identity, evaluate, policy_matches, rejection_text
from ambientctl.authz.ztunnel import (
    ALLOW,
    DENY,
    GLOBAL,
    NAMESPACE,
    Authorization,
    Cidr,
    Match,
    ServiceAccountMatch,
    StringMatch,
)
from ambientctl.mesh.version import IstioVersion

PLAINTEXT = Connection("127.0.0.1", "127.0.0.2", 8080, None, 1234)
TLS = Connection("127.0.0.1", "127.0.0.2", 8080, Identity("td", "namespace", "account"), 1234)
TLS_ALT = Connection("127.0.0.3", "127.0.0.4", 9090, Identity("td-alt", "ns-alt", "sa=alt"), 1234)


def allow(rules: tuple) -> Authorization:
    return Authorization("p", "namespace", GLOBAL, ALLOW, rules)


def one(m: Match) -> Authorization:
    return allow((((m,),),))


def ok(p: Authorization, c: Connection) -> bool:
    return policy_matches(p, c) is not None


def test_fact1_empty_shapes() -> None:
    """rbac_empty_policy: a lone empty match never matches; an empty clause and a rule with no clauses match
    everything; a policy with no rules matches nothing."""
    assert not ok(one(Match()), PLAINTEXT)
    assert ok(allow(((),)), PLAINTEXT) and ok(allow((((),),)), PLAINTEXT)
    assert not ok(allow(()), PLAINTEXT)


def _id(ns: str, port: int = 80) -> Connection:
    return Connection("127.0.0.1", "127.0.0.2", port, Identity("td", ns, "account"))


def test_fact2_clauses_and_matches_nest() -> None:
    """rbac_nesting: [clause(ns a OR ns b), clause(port 80)]; the destination network is not part of matching
    (our Connection has no network at all)."""
    p = allow(((
        (Match(namespaces=(StringMatch("exact", "a"),)), Match(namespaces=(StringMatch("exact", "b"),))),
        (Match(destination_ports=(80,)),),
    ),))
    assert ok(p, _id("a")) and ok(p, _id("b"))
    assert not ok(p, _id("bad")) and not ok(p, _id("b", 12345))


def test_fact3_rules_are_alternatives() -> None:
    """rbac_multi_rule: two rules (ns a) and (ns b)."""
    p = allow((((Match(namespaces=(StringMatch("exact", "a"),)),),), ((Match(namespaces=(StringMatch("exact", "b"),)),),)))
    assert ok(p, _id("a")) and ok(p, _id("b")) and not ok(p, _id("bad"))


CASES = [
    # fact 4
    ("namespaces", Match(namespaces=(StringMatch("exact", "namespace"),)), (False, True, False)),
    ("notNamespaces", Match(not_namespaces=(StringMatch("exact", "namespace"),)), (True, False, True)),
    # fact 5 (serviceAccounts: ztunnel 1.25+)
    ("serviceAccounts", Match(service_accounts=(ServiceAccountMatch("namespace", "account"),)), (False, True, False)),
    ("notServiceAccounts", Match(not_service_accounts=(ServiceAccountMatch("namespace", "account"),)),
     (True, False, True)),
    # fact 6
    ("principals", Match(principals=(StringMatch("exact", "td/ns/namespace/sa/account"),)), (False, True, False)),
    ("notPrincipals", Match(not_principals=(StringMatch("exact", "td/ns/namespace/sa/account"),)), (True, False, True)),
    # fact 7
    ("sourceIps", Match(source_ips=(Cidr.parse("127.0.0.1/32"),)), (True, True, False)),
    ("notSourceIps", Match(not_source_ips=(Cidr.parse("127.0.0.1/32"),)), (False, False, True)),
    # fact 8
    ("destinationIps", Match(destination_ips=(Cidr.parse("127.0.0.2/32"),)), (True, True, False)),
    ("notDestinationIps", Match(not_destination_ips=(Cidr.parse("127.0.0.2/32"),)), (False, False, True)),
    ("cidr_range", Match(destination_ips=(Cidr.parse("127.0.0.1/24"),)), (True, True, True)),
    # fact 9
    ("destinationPorts", Match(destination_ports=(8080,)), (True, True, False)),
    ("notDestinationPorts", Match(not_destination_ports=(8080,)), (False, False, True)),
]


@pytest.mark.parametrize(("name", "m", "want"), CASES, ids=[c[0] for c in CASES])
def test_facts4_to_9_each_field(name: str, m: Match, want: tuple[bool, bool, bool]) -> None:
    """rbac.rs `rbac_test!` cases: (plaintext, tls, tls_alt). Identity fields never match plaintext; their not*
    forms do."""
    assert (ok(one(m), PLAINTEXT), ok(one(m), TLS), ok(one(m), TLS_ALT)) == want


@pytest.mark.parametrize(("sm", "s", "want"), [
    (StringMatch("exact", "foo"), "foo", True), (StringMatch("exact", "foo"), "not", False),
    (StringMatch("exact", "foo"), "", False), (StringMatch("prefix", "foo"), "foobar", True),
    (StringMatch("prefix", "foo"), "notfoo", False), (StringMatch("prefix", "foo"), "", False),
    (StringMatch("suffix", "foo"), "barfoo", True), (StringMatch("suffix", "foo"), "foonot", False),
    (StringMatch("suffix", "foo"), "", False), (StringMatch("presence"), "foo", True),
    (StringMatch("presence"), "", False),
])
def test_fact10_string_matchers(sm: StringMatch, s: str, want: bool) -> None:
    """rbac.rs `string_match` test cases."""
    assert sm.matches(s) is want


def _principal(sa: str) -> Match:
    return Match(principals=(StringMatch("exact", f"cluster.local/ns/default/sa/{sa}"),))


def _wild(action: str) -> Authorization:
    return Authorization(f"wildcard-{action.lower()}", "ns1", NAMESPACE, action, (((Match(namespaces=(StringMatch("presence"),)),),),),
                         dry_run=True)


def _caller(sa: str) -> Connection:
    return Connection("127.0.0.1", "127.0.0.2", 8080, Identity("cluster.local", "default", sa))


ALLOW_FOO = Authorization("foo", "ns1", NAMESPACE, ALLOW, (((_principal("defaultacct"),),),))
DENY_BAR = Authorization("deny", "ns1", NAMESPACE, DENY, (((_principal("denyacct"),),),))


def test_fact11_deny_then_allow_and_dry_run_changes_nothing() -> None:
    """state.rs `assert_rbac_logic_deny_allow`: ns2 workload has no policies ⇒ allowed; ns1: defaultacct allowed,
    others NotAllowed, denyacct ExplicitlyDenied(ns1, deny); dry-run wildcard ALLOW/DENY change nothing."""
    ns1 = [ALLOW_FOO, DENY_BAR, _wild(ALLOW), _wild(DENY)]
    assert evaluate([], _caller("anyone")).allowed
    assert evaluate(ns1, _caller("defaultacct")).allowed
    d = evaluate(ns1, _caller("not-defaultacct"))
    assert not d.allowed and d.decided_by == {"defaultDeny": ["ns1/foo"]}
    assert d.error == "connection closed due to policy rejection: allow policies exist, but none allowed"
    d = evaluate(ns1, _caller("denyacct"))
    assert not d.allowed and d.decided_by == {"policy": "ns1/deny", "rule": 0}
    assert d.error == "connection closed due to policy rejection: explicitly denied by: ns1/deny"


def test_fact12_no_policies_allows() -> None:
    """state.rs: no policies at all ⇒ allowed."""
    d = evaluate([], TLS)
    assert d.allowed and d.decided_by == {"noPolicy": True}


def test_fact13_dry_run_logs() -> None:
    """state.rs dry-run test (ztunnel 1.29+): real DENY(denyacct) + dry-run DENY(defaultacct|denyacct) + real
    ALLOW(defaultacct) + dry-run ALLOW(defaultacct): defaultacct allowed, logging both dry-run matches."""
    dry_deny = Authorization("dry-run-deny", "ns1", NAMESPACE, DENY,
                             (((_principal("defaultacct"), _principal("denyacct")),),), dry_run=True)
    dry_allow = Authorization("dry-run-allow", "ns1", NAMESPACE, ALLOW, (((_principal("defaultacct"),),),),
                              dry_run=True)
    d = evaluate([DENY_BAR, dry_deny, ALLOW_FOO, dry_allow], _caller("defaultacct"))
    assert d.allowed and d.decided_by == {"policy": "ns1/foo", "rule": 0}
    assert d.logs == ['dry-run: deny policy match policy="ns1/dry-run-deny"',
                      'dry-run: allow policy match policy="ns1/dry-run-allow"']


def test_error_text_per_version() -> None:
    """src/proxy.rs: 1.24+ `connection closed due to policy rejection: <reason>` (#1273); 1.22/1.23 without reason;
    1.18–1.21 log `RBAC rejected` (src/proxy/inbound.rs @1.18.0)."""
    V = IstioVersion.parse
    assert rejection_text(V("1.23"), "a/b") == "connection closed due to policy rejection"
    assert rejection_text(V("1.20"), None) == "RBAC rejected"
    assert rejection_text(V("1.24"), "a/b").endswith("explicitly denied by: a/b")


def test_trace_says_clause_by_clause_why() -> None:
    """The trace names the failing field and the seen value for every match (istio/ztunnel#1901 asked for this)."""
    p = Authorization("x", "ns1", NAMESPACE, ALLOW, (((Match(namespaces=(StringMatch("exact", "a"),)),),
                                                      (Match(destination_ports=(80,)),)),))
    d = evaluate([p], _id("b"))
    assert not d.allowed
    text = "\n".join(map(str, d.trace))
    assert "namespaces [a] does not include namespace 'b'" in text and "clause 0: does not match" in text
