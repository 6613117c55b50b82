"""istiod's AuthorizationPolicy / PeerAuthentication → ztunnel translation, against istiod's own goldens.

Goldens: istio/istio `pilot/pkg/serviceregistry/ambient/testdata/*` @86c9f01f (master, 2026-08-22), copied to
tests/realdata/istio-istio/ambient-authz-translation (`X-in.yaml` input, `X.yaml` istiod's output, empty = nothing
sent). The golden harness is `TestRBACConvert` in `ambientindex_test.go` at the same commit: one AuthorizationPolicy
per file converted with root namespace istio-system; PeerAuthentication files classified into root / namespace /
workload PAs and converted as `convertPeerAuthentication(workload-or-namespace PA, ns PA, root PA)`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ambientctl.authz.settings import AuthzSettings
from ambientctl.authz.ztunnel import (
    ALLOW,
    DENY,
    GLOBAL,
    NAMESPACE,
    WORKLOAD_SELECTOR,
    Authorization,
    Match,
    convert_peer_authentication,
    parse_authorization,
    resolve_peer_authentication,
    translate_policy,
)
from ambientctl.mesh.version import IstioVersion
from ambientctl.model import parse_object

DIR = "istio-istio/ambient-authz-translation"
V = IstioVersion.parse


def _objs(path: Path) -> list:
    return [parse_object(d, f"{path.name}#{i}") for i, d in enumerate(yaml.safe_load_all(path.read_text())) if d]


def _golden_cases(realdata: Path) -> list[Path]:
    return sorted((realdata / DIR).glob("*-in.yaml"))


def _convert(objs: list) -> Authorization | None:
    if objs[0].meta.kind == "AuthorizationPolicy":
        return translate_policy(objs[0], AuthzSettings()).authorization
    if len(objs) == 1:
        return convert_peer_authentication(objs[0], None, None)
    root = ns = wl = None
    for p in objs:
        if p.meta.namespace == "istio-system":
            root = p if root is None or p.meta.created < root.meta.created else root
        elif p.selector is not None:
            wl = p
        elif ns is None or p.meta.created < ns.meta.created:
            ns = p
    if wl is None:
        wl, ns = ns, None
    return convert_peer_authentication(wl, ns, root)


def test_every_golden_pair_matches(realdata: Path) -> None:
    """Every istiod golden (master @86c9f01f; ALLOW/DENY rules identical in 1.25–1.30, see settings) translates to
    exactly istiod's Authorization: groups/clauses/matches, base64 addresses, scope, action, names."""
    cases = _golden_cases(realdata)
    assert len(cases) >= 22
    for inp in cases:
        want_text = inp.with_name(inp.name.replace("-in", "")).read_text()
        want = parse_authorization(yaml.safe_load(want_text), inp.name) if want_text.strip() else None
        got = _convert(_objs(inp))
        assert got == want, f"{inp.name}:\n got  {got}\n want {want}"


def test_istiod_yaml_defaults(realdata: Path) -> None:
    """istiod omits proto defaults in the goldens: `action` absent = ALLOW (allow-full.yaml), scope present."""
    a = parse_authorization(yaml.safe_load((realdata / DIR / "allow-full.yaml").read_text()))
    assert (a.action, a.scope, a.key) == (ALLOW, NAMESPACE, "cfg/allow")
    d = parse_authorization(yaml.safe_load((realdata / DIR / "deny-groups.yaml").read_text()))
    assert d.action == DENY


def _ap(text: str):
    return parse_object(yaml.safe_load(text), "test")


ALLOW_L7 = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-get, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  rules:
  - to: [{operation: {methods: [GET]}}]
"""


def test_allow_with_only_http_rules_becomes_deny_all_with_status_per_version() -> None:
    """ALLOW: rules with any HTTP attribute are removed (authorization.go `handleRule`, all versions 1.18–master);
    the status text differs: 1.24 wording (@1.24.0), 1.25–1.30 wording (@1.30.0); 1.22/1.23 write no status."""
    ap = _ap(ALLOW_L7)
    t = translate_policy(ap, AuthzSettings(version=V("1.28")))
    assert t.authorization is not None and t.authorization.rules == () and t.effect == "deny-all"
    assert t.authorization.scope == WORKLOAD_SELECTOR
    assert t.status is not None and t.status.message == (
        "ztunnel does not support HTTP attributes (found: methods). In ambient mode you must use a waypoint proxy to "
        "enforce HTTP rules. Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more "
        "restrictive than requested.")
    t24 = translate_policy(ap, AuthzSettings(version=V("1.24")))
    assert t24.status is not None and t24.status.message == (
        "ztunnel does not support HTTP rules (methods require HTTP parsing), in ambient mode you must use waypoint "
        "proxy to enforce HTTP rules. Allow rules with HTTP attributes will be empty and never match. This is more "
        "restrictive than requested.")
    assert translate_policy(ap, AuthzSettings(version=V("1.23"))).status is None
    assert translate_policy(ap, AuthzSettings(version=V("1.23"))).authorization.rules == ()


DENY_L7 = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-post, namespace: shop}
spec:
  action: DENY
  rules:
  - to: [{operation: {methods: [POST]}}]
"""


def test_deny_with_only_http_rule_is_inert_and_master_says_so() -> None:
    """DENY: the rule is kept with empty matches, which ztunnel skips ⇒ never fires. master (1.31, istio/istio#61166)
    says 'no effect'; 1.25–1.30 used the single 'enforced without the HTTP rules' text (@1.30.0)."""
    ap = _ap(DENY_L7)
    t = translate_policy(ap, AuthzSettings(version=V("1.31")))
    assert t.effect == "no-effect" and t.authorization.rules == (((Match(),),),)
    assert "will have no effect" in t.status.message
    t30 = translate_policy(ap, AuthzSettings(version=V("1.30")))
    assert t30.status.message.endswith("DENY policy with HTTP attributes is enforced without the HTTP rules. This will "
                                       "be more restrictive than requested.")
    assert t30.effect == "no-effect"


def test_rule_index_keeps_positions_as_written() -> None:
    """Dropped ALLOW rules shift positions; the translation remembers each kept rule's index as written, so
    decisions name the rule the user wrote (Envoy names rules the same way: builder.go `policyName`)."""
    ap = _ap("""
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mixed, namespace: shop}
spec:
  rules:
  - to: [{operation: {paths: [/admin]}}]
  - from: [{source: {namespaces: [web]}}]
""")
    t = translate_policy(ap)
    assert t.rule_index == (1,) and t.effect == "narrower"


def test_custom_and_audit_are_not_sent() -> None:
    """CUSTOM/AUDIT: `ztunnel does not support the <X> action` (1.24+ status; not sent in every version)."""
    for action in ("CUSTOM", "AUDIT"):
        ap = _ap(f"""
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: x, namespace: shop}}
spec: {{action: {action}, provider: {{name: ext}}, rules: [{{}}]}}
""")
        t = translate_policy(ap)
        assert t.authorization is None and t.status.message == f"ztunnel does not support the {action} action"
        assert translate_policy(ap, AuthzSettings(version=V("1.22"))).status is None


TARGETREF = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: wp, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  rules: [{from: [{source: {namespaces: [web]}}]}]
"""


def test_target_ref_policies_go_to_ztunnel_only_before_1_22() -> None:
    """1.22+ `convertAuthorizationPolicy` returns nil for targetRef policies (@1.22.0 authorization.go:345); 1.20/1.21
    (`kube/controller/authorization.go`) never read targetRef, so ztunnel enforced them as namespace policies."""
    ap = _ap(TARGETREF)
    assert translate_policy(ap, AuthzSettings(version=V("1.22"))).authorization is None
    old = translate_policy(ap, AuthzSettings(version=V("1.21"))).authorization
    assert old is not None and old.scope == NAMESPACE


DRY = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: trial, namespace: shop, annotations: {istio.io/dry-run: "true"}}
spec: {action: DENY, rules: [{}]}
"""


def test_dry_run_per_version() -> None:
    """Dry-run at ztunnel: < 1.25.2 istiod ignores the annotation ⇒ ENFORCED; 1.25.2–1.28 not sent
    (istio/istio#55414/#55709, policies.go); 1.29+ sent as dryRun only with AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY,
    else not sent with the UnsupportedValue text (authorization.go @86c9f01f)."""
    ap = _ap(DRY)
    t = translate_policy(ap, AuthzSettings(version=V("1.24")))
    assert t.authorization is not None and not t.authorization.dry_run and t.effect == "enforced-dry-run"
    assert translate_policy(ap, AuthzSettings(version=V("1.25.1"))).effect == "enforced-dry-run"
    assert translate_policy(ap, AuthzSettings(version=V("1.25.2"))).authorization is None
    assert translate_policy(ap, AuthzSettings(version=V("1.28"))).status is None
    off = translate_policy(ap, AuthzSettings(version=V("1.29")))
    assert off.authorization is None and off.status.message == (
        'found policy "shop/trial" using dry-run annotation, but support for ambient dry-run authorizationPolicies '
        "isn't enabled")
    on = translate_policy(ap, AuthzSettings.from_mapping({"AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY": "true"},
                                                          V("1.29")))
    assert on.authorization is not None and on.authorization.dry_run


def test_scope_from_selector_namespace_and_root() -> None:
    """Scope: selector ⇒ WorkloadSelector (even with empty matchLabels: Go checks `GetSelector() == nil`); none ⇒
    Namespace; none in the root namespace (mesh config rootNamespace) ⇒ Global."""
    base = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: %s}\nspec: %s\n"
    assert translate_policy(_ap(base % ("shop", "{selector: {}}"))).authorization.scope == WORKLOAD_SELECTOR
    assert translate_policy(_ap(base % ("shop", "{}"))).authorization.scope == NAMESPACE
    assert translate_policy(_ap(base % ("istio-system", "{}"))).authorization.scope == GLOBAL
    custom_root = AuthzSettings.from_mapping({"rootNamespace": "mesh-root"})
    assert translate_policy(_ap(base % ("mesh-root", "{}")), custom_root).authorization.scope == GLOBAL
    assert translate_policy(_ap(base % ("istio-system", "{}")), custom_root).authorization.scope == NAMESPACE


def test_service_accounts_only_from_1_25() -> None:
    """`serviceAccounts` (1.25+, `stringToServiceAccountMatch`; bare name ⇒ policy namespace). Before 1.25 the
    field does not exist: the source entry is empty and ztunnel skips it."""
    ap = _ap("""
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: sa, namespace: shop}
spec: {rules: [{from: [{source: {serviceAccounts: [web, other/api]}}]}]}
""")
    m = translate_policy(ap).authorization.rules[0][0][0]
    assert [str(x) for x in m.service_accounts] == ["shop/web", "other/api"]
    old = translate_policy(ap, AuthzSettings(version=V("1.24")))
    assert old.authorization.rules[0][0][0].empty and any("1.25" in n for n in old.notes)


def _pa(ns: str, name: str, mode: str = "", selector: str = "", ports: str = "", created: str = "") -> object:
    spec = {}
    if mode:
        spec["mtls"] = {"mode": mode}
    if selector:
        spec["selector"] = {"matchLabels": {"app": selector}}
    if ports:
        spec["portLevelMtls"] = {int(p.split("=")[0]): {"mode": p.split("=")[1]} for p in ports.split(",")}
    md = {"name": name, "namespace": ns}
    if created:
        md["creationTimestamp"] = created
    return parse_object({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": md,
                         "spec": spec}, name)


def test_effective_peer_authentication_keys() -> None:
    """`convertedSelectorPeerAuthentications` (authorization.go @86c9f01f): mesh → namespace → workload, UNSET
    inherits, oldest wins, DISABLE counts as not STRICT; port-level exceptions replace the static STRICT policy."""
    mesh = _pa("istio-system", "default", "STRICT")
    r = resolve_peer_authentication([mesh], {"app": "a"}, "foo")
    assert r.keys == ["istio-system/istio_converted_static_strict"] and r.mode == "STRICT"
    ns_perm = _pa("foo", "ns", "PERMISSIVE")
    assert resolve_peer_authentication([mesh, ns_perm], {"app": "a"}, "foo").keys == []
    wl = _pa("foo", "wl", "", "a", "8080=PERMISSIVE")
    assert resolve_peer_authentication([mesh, wl], {"app": "a"}, "foo").keys == ["foo/converted_peer_authentication_wl"]
    assert resolve_peer_authentication([mesh, wl], {"app": "b"}, "foo").keys == [
        "istio-system/istio_converted_static_strict"]
    older = _pa("foo", "old", "STRICT", created="2020-01-01T00:00:00Z")
    newer = _pa("foo", "new", "PERMISSIVE", created="2024-01-01T00:00:00Z")
    assert resolve_peer_authentication([newer, older], {}, "foo").mode == "STRICT"
    dis = _pa("foo", "d", "DISABLE")
    r = resolve_peer_authentication([mesh, dis], {}, "foo")
    assert r.keys == [] and r.notes and "DISABLE" in r.notes[0]


def test_root_namespace_from_settings_names_the_static_policy() -> None:
    mesh = _pa("mesh-root", "default", "STRICT")
    r = resolve_peer_authentication([mesh], {}, "foo", root_namespace="mesh-root")
    assert r.keys == ["mesh-root/istio_converted_static_strict"]
