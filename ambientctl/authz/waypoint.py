"""Which AuthorizationPolicies a waypoint (Envoy) enforces, and its L7 decision for one request.

Attachment (istio/istio `pilot/pkg/model/policyattachment.go::ShouldAttachPolicy` @86c9f01f, 1.22+): a waypoint
never uses selectors; it takes policies whose targetRefs name a Service/ServiceEntry it serves (policy in that
service's namespace), its own Gateway (policy in the waypoint's namespace, targetRef namespace empty or the same),
or GatewayClass `istio-waypoint` (policy in the root namespace only). Older eras are in `settings` gates.

Decision (Envoy RBAC filters as istiod builds them, `pilot/pkg/security/authz/builder/builder.go`): CUSTOM
(ext_authz) first, then DENY, then ALLOW; AUDIT only logs; dry-run policies become shadow rules (logged, never
enforced). A denied request gets HTTP 403 `RBAC: access denied`; Envoy names the matched rule
`ns[<ns>]-policy[<name>]-rule[<i>]` (`policyName` in builder.go) in `rbac_access_denied_matched_policy[...]`, or
`none` when no ALLOW matched.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ambientctl.authz import settings as gates
from ambientctl.authz.evaluate import Identity
from ambientctl.authz.settings import AuthzSettings
from ambientctl.authz.ztunnel import StringMatch
from ambientctl.model import objects as o

WAYPOINT_CLASS = "istio-waypoint"
_GROUPS = {"Service": ("", "core"), "ServiceEntry": ("networking.istio.io",),
           "Gateway": ("gateway.networking.k8s.io",), "GatewayClass": ("gateway.networking.k8s.io",)}


@dataclass(slots=True)
class WaypointTarget:
    """A waypoint as policy attachment sees it. `services`: (kind, namespace, name) of the Services/ServiceEntries
    bound to it; `pod_labels`: the waypoint pod's labels (1.18–1.21 attachment); `served_labels`: labels of the
    destination workload (2022 experimental waypoints applied the served workloads' selector policies)."""

    namespace: str
    name: str
    class_name: str = WAYPOINT_CLASS
    services: list[tuple[str, str, str]] = field(default_factory=list)
    pod_labels: dict[str, str] = field(default_factory=dict)
    served_namespace: str = ""
    served_labels: dict[str, str] = field(default_factory=dict)


class PolicyNote(str):
    """A note on a policy the waypoint ignores; `policy` is its `ns/name`."""

    policy: str = ""

    @classmethod
    def of(cls, ap: o.AuthorizationPolicy, text: str) -> PolicyNote:
        n = cls(text)
        n.policy = ap.meta.key
        return n


@dataclass(slots=True)
class Attachment:
    policy: o.AuthorizationPolicy
    why: str


def _group_ok(ref: o.TargetRef) -> bool:
    return ref.kind in _GROUPS and (ref.group or "") in _GROUPS[ref.kind] + (("",) if ref.kind == "Service" else ())


def _selects(sel: dict[str, str] | None, labels: dict[str, str]) -> bool:
    return sel is None or all(labels.get(k) == v for k, v in sel.items())


def waypoint_policies(aps: Iterable[o.AuthorizationPolicy], wp: WaypointTarget,
                      settings: AuthzSettings | None = None) -> tuple[list[Attachment], list[str]]:
    """The policies this waypoint enforces, each with why, plus notes on policies that target it but are ignored."""
    s = settings or AuthzSettings()
    v = s.version
    out: list[Attachment] = []
    notes: list[str] = []
    for ap in sorted(aps, key=lambda a: a.meta.key):
        ns = ap.meta.namespace
        if v.experimental:
            if ns == wp.served_namespace and not ap.target_refs and _selects(ap.selector, wp.served_labels):
                out.append(Attachment(ap, "2022 experimental waypoints enforced the policies of the workloads they "
                                          "served (selector or namespace-wide)"))
            continue
        if gates.waypoint_uses_own_selector(v):
            if ns not in (wp.namespace, s.root_namespace):
                continue
            gw_ref = [r for r in ap.target_refs if r.kind == "Gateway" and r.name == wp.name
                      and (r.namespace or ns) == wp.namespace and ns == wp.namespace]
            if ap.target_refs and gates.waypoint_honours_target_refs(v):
                if gw_ref:
                    out.append(Attachment(ap, f"targets Gateway {wp.namespace}/{wp.name}"))
                continue
            if _selects(ap.selector, wp.pod_labels):
                out.append(Attachment(ap, f"Istio {v} waypoints apply {'selector' if ap.selector else 'namespace-wide'}"
                                          " policies that select the waypoint pod itself (own namespace / root "
                                          "namespace)"))
            continue
        if not ap.target_refs:
            if ap.selector is not None and _selects(ap.selector, wp.pod_labels) and ns == wp.namespace:
                notes.append(PolicyNote.of(ap, f"{ap.meta.key} selects the waypoint pod, but waypoints never apply "
                                              "selector policies (istioctl analyze IST0166): use targetRefs"))
            continue
        why = None
        for ref in ap.target_refs:
            if not _group_ok(ref):
                continue
            if ref.kind in ("Service", "ServiceEntry") and (ref.kind, ns, ref.name) in wp.services:
                why = f"targets {ref.kind} {ns}/{ref.name}, which uses this waypoint"
            elif ref.kind == "GatewayClass" and ref.name == WAYPOINT_CLASS:
                if ns == s.root_namespace:
                    why = f"targets GatewayClass {WAYPOINT_CLASS} from the root namespace: every waypoint"
                else:
                    notes.append(PolicyNote.of(ap, f"{ap.meta.key}: AuthorizationPolicy must be in the root namespace "
                                                  f"`{s.root_namespace}` when referencing a GatewayClass "
                                                  "(WaypointAccepted Invalid)"))
            elif ref.kind == "Gateway" and ref.name == wp.name and ns == wp.namespace \
                    and (ref.namespace or ns) == wp.namespace:
                why = f"targets Gateway {wp.namespace}/{wp.name}: all traffic through this waypoint"
            if why:
                break
        if why:
            out.append(Attachment(ap, why))
    return out, notes


# --- the request ------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class HttpRequest:
    """What Envoy at the waypoint knows. `remote_ip`: the original client (x-forwarded-for / PROXY protocol) —
    defaults to `source_ip`; `request_principal`: `iss/sub` of a validated JWT, None without one."""

    source_ip: str
    identity: Identity | None = None
    destination_ip: str = ""
    port: int = 0
    method: str = "GET"
    path: str = "/"
    host: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    remote_ip: str | None = None
    request_principal: str | None = None
    sni: str = ""


def normalize_path(path: str) -> str:
    """Istio's default path normalization (BASE: RFC 3986 dot-segment removal) on the path without query."""
    p = path.split("?", 1)[0].split("#", 1)[0] or "/"
    out: list[str] = []
    segs = p.split("/")
    for i, seg in enumerate(segs[1:] if p.startswith("/") else segs):
        last = i == len(segs) - 2
        if seg == ".":
            if last:
                out.append("")
            continue
        if seg == "..":
            if out:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(seg)
    return "/" + "/".join(out)


def _sm(pattern: str, value: str | None, ignore_case: bool = False) -> bool:
    if value is None:
        return False
    m = StringMatch.from_pattern(pattern.lower() if ignore_case else pattern)
    return m.matches(value.lower() if ignore_case else value)


def _host_ok(pattern: str, host: str) -> bool:
    """`hosts` are compared case-insensitively; a pattern without a port also matches `host:<port>`."""
    if _sm(pattern, host, True):
        return True
    return ":" not in pattern and ":" in host and _sm(pattern, host.rsplit(":", 1)[0], True)


def _in(ip: str | None, blocks: Sequence[Any]) -> bool:
    if not ip:
        return False
    addr = ipaddress.ip_address(ip)
    for b in blocks:
        try:
            if addr in ipaddress.ip_network(str(b), strict=False):
                return True
        except ValueError:
            continue
    return False


def _fail(key: str, vals: Any, seen: Any, negated: bool) -> str:
    return f"{key} {list(vals)} {'includes' if negated else 'does not include'} {seen}"


def _source_fail(src: dict[str, Any], r: HttpRequest) -> str | None:
    ident = r.identity
    principal = ident.principal if ident else None
    ns = ident.namespace if ident else None
    remote = r.remote_ip or r.source_ip
    sa = f"{ident.namespace}/{ident.service_account}" if ident else None
    checks = (
        ("principals", lambda x: _sm(x, principal), principal or "no identity (plaintext)"),
        ("namespaces", lambda x: _sm(x, ns), ns or "no identity (plaintext)"),
        ("serviceAccounts", lambda x: sa is not None and (x if "/" in x else f"{ns}/{x}") == sa, sa or "no identity"),
        ("ipBlocks", lambda x: _in(r.source_ip, [x]), r.source_ip),
        ("remoteIpBlocks", lambda x: _in(remote, [x]), remote),
        ("requestPrincipals", lambda x: _sm(x, r.request_principal), r.request_principal or "no JWT"),
        ("trustDomains", lambda x: trust_domain_matches(x, ident.trust_domain if ident else None),
         (ident.trust_domain if ident else None) or "no identity (plaintext)"),
    )
    for key, pred, seen in checks:
        pos, neg = src.get(key), src.get("not" + key[0].upper() + key[1:])
        if pos and not any(pred(str(x)) for x in pos):
            return _fail(f"from.source.{key}", pos, seen, False)
        if neg and any(pred(str(x)) for x in neg):
            return _fail(f"from.source.not{key[0].upper()}{key[1:]}", neg, seen, True)
    return None


def trust_domain_matches(pattern: str, trust_domain: str | None) -> bool:
    """`trustDomains` (1.31, istio pilot/pkg/security/authz/model/generator.go `srcTrustDomainGenerator`): `*` is any
    identity, a value without `*` is the exact trust domain, one `*` stands for any run of characters but `/`."""
    if trust_domain is None:
        return False
    if pattern == "*":
        return True
    if "*" not in pattern:
        return trust_domain == pattern
    head, tail = pattern.split("*", 1)
    return (len(trust_domain) >= len(head) + len(tail) and trust_domain.startswith(head)
            and trust_domain.endswith(tail) and "*" not in tail)


def _operation_fail(op: dict[str, Any], r: HttpRequest) -> str | None:
    path = normalize_path(r.path)
    checks = (
        ("hosts", lambda x: _host_ok(x, r.host), r.host),
        ("ports", lambda x: str(x) == str(r.port), r.port),
        ("methods", lambda x: _sm(x, r.method), r.method),
        ("paths", lambda x: _sm(x, path), path),
    )
    for key, pred, seen in checks:
        pos, neg = op.get(key), op.get("not" + key[0].upper() + key[1:])
        if pos and not any(pred(str(x)) for x in pos):
            return _fail(f"to.operation.{key}", pos, seen, False)
        if neg and any(pred(str(x)) for x in neg):
            return _fail(f"to.operation.not{key[0].upper()}{key[1:]}", neg, seen, True)
    return None


def _when_value(key: str, r: HttpRequest) -> tuple[str | None, bool]:
    """(value, is_ip) for a `when` key; None when the request has no such attribute (then `values` never match)."""
    ident = r.identity
    if key == "source.ip":
        return r.source_ip, True
    if key == "remote.ip":
        return r.remote_ip or r.source_ip, True
    if key == "destination.ip":
        return r.destination_ip or None, True
    if key == "destination.port":
        return str(r.port), False
    if key == "source.namespace":
        return (ident.namespace if ident else None), False
    if key == "source.principal":
        return (ident.principal if ident else None), False
    if key == "source.trustDomain":
        return (ident.trust_domain if ident else None), False
    if key == "request.auth.principal":
        return r.request_principal, False
    if key == "connection.sni":
        return r.sni or None, False
    if key.startswith("request.headers[") and key.endswith("]"):
        return {k.lower(): v for k, v in r.headers.items()}.get(key[16:-1].lower()), False
    return None, False  # request.auth.claims[...], audiences, presenter, experimental.*: no JWT / unknown


def _when_fail(cond: dict[str, Any], r: HttpRequest) -> str | None:
    key = str(cond.get("key", ""))
    value, is_ip = _when_value(key, r)

    def ok(x: Any) -> bool:
        if key == "source.trustDomain":
            return trust_domain_matches(str(x), value)
        return _in(value, [x]) if is_ip else _sm(str(x), value)

    vals, nots = cond.get("values"), cond.get("notValues")
    if vals and not any(ok(x) for x in vals):
        return _fail(f"when {key}", vals, value if value is not None else "(absent)", False)
    if nots and any(ok(x) for x in nots):
        return _fail(f"when {key} notValues", nots, value, True)
    return None


def rule_fail(rule: dict[str, Any], r: HttpRequest) -> str | None:
    """Why an AuthorizationPolicy rule does not match the request (None: it matches). `from`/`to` entries are
    alternatives; every `when` must hold."""
    frm = rule.get("from") or []
    if frm:
        fails = [_source_fail((f or {}).get("source") or {}, r) for f in frm]
        if all(fails):
            return "; ".join(f for f in fails if f)
    to = rule.get("to") or []
    if to:
        fails = [_operation_fail((t or {}).get("operation") or {}, r) for t in to]
        if all(fails):
            return "; ".join(f for f in fails if f)
    for cond in rule.get("when") or []:
        why = _when_fail(cond or {}, r)
        if why:
            return why
    return None


@dataclass(slots=True)
class WaypointDecision:
    allowed: bool | None  # None: a CUSTOM policy asks an external authorizer first, outcome unknown here
    decided_by: dict[str, Any]
    status: int | None = None  # 403 when denied
    body: str = ""
    matched_policy: str = ""  # Envoy's rbac_access_denied_matched_policy[...] value
    reasons: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    policy: str | None = None
    rule: int | None = None


def envoy_policy_name(ap: o.AuthorizationPolicy, rule: int) -> str:
    return f"ns[{ap.meta.namespace}]-policy[{ap.meta.name}]-rule[{rule}]"


def _first_match(ap: o.AuthorizationPolicy, r: HttpRequest, reasons: list[str]) -> int | None:
    if not ap.rules:
        reasons.append(f"{ap.meta.key} has no rules: it matches nothing")
        return None
    for i, rule in enumerate(ap.rules):
        why = rule_fail(rule or {}, r)
        if why is None:
            return i
        reasons.append(f"{ap.meta.key} rule {i} does not match: {why}")
    return None


def evaluate_request(policies: Iterable[o.AuthorizationPolicy], r: HttpRequest) -> WaypointDecision:
    """The waypoint's decision: CUSTOM → DENY → ALLOW; AUDIT and dry-run only log."""
    pols = list(policies)
    d = WaypointDecision(True, {"noPolicy": True})
    custom = [p for p in pols if p.action == "CUSTOM" and not p.dry_run]
    for p in custom:
        i = _first_match(p, r, [])
        if i is not None:
            d.allowed = None
            d.decided_by = {"policy": p.meta.key, "rule": i, "externalAuthorizer": p.provider}
            d.policy, d.rule = p.meta.key, i
            d.reasons.append(f"CUSTOM policy {p.meta.key} rule {i} matches: decided by external authorizer "
                             f"{p.provider or '(no provider)'} — its answer cannot be predicted here")
            return d
    for p in pols:
        if p.dry_run and p.action in ("ALLOW", "DENY"):
            i = _first_match(p, r, [])
            d.logs.append(f"shadow (dry-run) {p.action} {p.meta.key}: " + (
                f"would match {envoy_policy_name(p, i)}" if i is not None else "no match"))
        if p.action == "AUDIT" and not p.dry_run:
            i = _first_match(p, r, [])
            if i is not None:
                d.logs.append(f"AUDIT {p.meta.key} rule {i} matches: logged only")
    for p in [p for p in pols if p.action == "DENY" and not p.dry_run]:
        i = _first_match(p, r, d.reasons)
        if i is not None:
            d.allowed, d.status, d.body = False, 403, "RBAC: access denied"
            d.policy, d.rule = p.meta.key, i
            d.decided_by = {"policy": p.meta.key, "rule": i}
            d.matched_policy = envoy_policy_name(p, i)
            d.reasons.append(f"DENY policy {p.meta.key} rule {i} matches: HTTP 403")
            return d
    allows = [p for p in pols if p.action == "ALLOW" and not p.dry_run]
    if not allows:
        d.reasons.append("no ALLOW policy applies at the waypoint: allowed")
        return d
    for p in allows:
        i = _first_match(p, r, d.reasons)
        if i is not None:
            d.policy, d.rule = p.meta.key, i
            d.decided_by = {"policy": p.meta.key, "rule": i}
            d.reasons.append(f"ALLOW policy {p.meta.key} rule {i} matches: allowed")
            return d
    d.allowed, d.status, d.body, d.matched_policy = False, 403, "RBAC: access denied", "none"
    d.decided_by = {"defaultDeny": [p.meta.key for p in allows]}
    d.reasons.append("ALLOW policies exist at the waypoint but none matches: HTTP 403")
    return d
