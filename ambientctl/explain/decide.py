"""Policy decisions at one enforcement point (destination ztunnel, waypoint, sidecar), with the deciding
policy and rule, the reasons in evaluation order, and what the client and the logs show.

Semantics and sources:
- Order everywhere: CUSTOM (waypoints/sidecars only), then DENY — any match denies — then ALLOW: with no ALLOW
  policy everything is allowed, otherwise a match is required (istio/ztunnel src/state.rs `assert_rbac`; Istio
  AuthorizationPolicy reference). A policy with no rules matches nothing.
- A rule matches when its `from`, `to` and every `when` match; `from`/`to` entries are ORed; inside one entry
  every set field must match; string values are exact, `prefix*`, `*suffix` or `*` (presence, never the empty
  string); principals compare without `spiffe://`. Identity fields never match an identity-less (plaintext)
  peer, their `not*` forms do (ztunnel src/rbac.rs tests, research/istio.md §4.7).
- ztunnel sees only L4: istiod drops ALLOW rules with HTTP attributes and strips them from DENY rules (a DENY rule
  with only HTTP content never fires); CUSTOM/AUDIT and targetRefs policies never reach ztunnel
  (pilot/pkg/serviceregistry/ambient/authorization.go @86c9f01f).
- PeerAuthentication STRICT is the builtin DENY `<root>/istio_converted_static_strict` of identity-less peers;
  port-level modes become `<ns>/converted_peer_authentication_<name>` (research/istio.md §4.6).
- Waypoints apply targetRefs policies only (Service/ServiceEntry, their Gateway, GatewayClass from the root
  namespace) — also in 1.20 (policyattachment.go); the 2022 experimental waypoints applied the selector
  policies of the workloads they served (seed 001 §10.1).
- Dry-run (`istio.io/dry-run: "true"`) policies are logged, not enforced.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from ambientctl.explain.path import Check, Party
from ambientctl.explain.policies import (
    L4_WHEN_KEYS,
    effective_peer_authentication,
    l7_attributes,
    selects,
    summarize,
)
from ambientctl.explain.routing import HttpRequest
from ambientctl.explain.target import Target
from ambientctl.mesh.view import MeshView
from ambientctl.model import objects as o

RESET = "the client's connection is reset (curl: (56) Recv failure: Connection reset by peer)"


@dataclass
class Decision:
    allowed: bool
    decided_by: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outcome: str = ""
    log: str = ""
    policy: dict[str, Any] | None = None

    @classmethod
    def bypassed_waypoint(cls, view: MeshView, check: Check) -> Decision:
        wp = check.waypoint.key if check.waypoint else "its waypoint"
        return cls(False, {"builtin": "bypassed-waypoint"},
                   [f"{check.enforcer} sees HBONE that did not come from {wp}: Istio {view.version} ztunnel rejects it "
                    "('bypassed waypoint', ztunnel 1.20 inbound.rs)"],
                   outcome="the CONNECT is answered 401 and " + RESET, log="bypassed waypoint")

    @classmethod
    def data_path_failure(cls, failure: str, component: str) -> Decision:
        return cls(False, {"failure": failure}, [f"{component} fails the connection: {failure}"],
                   outcome=RESET, log=failure)


@dataclass
class _Ctx:
    identity: str | None  # without spiffe://
    namespace: str | None
    service_account: str | None
    src_ip: str
    dst_ip: str
    port: int
    request: HttpRequest | None  # None at ztunnel / for TCP


def _principal(identity: str | None) -> tuple[str | None, str | None, str | None]:
    if not identity:
        return None, None, None
    p = identity.removeprefix("spiffe://")
    parts = p.split("/")
    ns = parts[parts.index("ns") + 1] if "ns" in parts else None
    sa = parts[parts.index("sa") + 1] if "sa" in parts else None
    return p, ns, sa


def _smatch(pattern: str, value: str | None) -> bool:
    if not value:
        return False
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def _in_cidrs(ip: str, cidrs: list[str]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for c in cidrs:
        try:
            if addr in ipaddress.ip_network(str(c), strict=False):
                return True
        except ValueError:
            continue
    return False


def _source_matches(src: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    checks = [
        ("principals", lambda v: any(_smatch(x, ctx.identity) for x in v), True),
        ("notPrincipals", lambda v: not any(_smatch(x, ctx.identity) for x in v), True),
        ("namespaces", lambda v: any(_smatch(x, ctx.namespace) for x in v), True),
        ("notNamespaces", lambda v: not any(_smatch(x, ctx.namespace) for x in v), True),
        ("serviceAccounts", lambda v: any(x in (f"{ctx.namespace}/{ctx.service_account}", ctx.service_account)
                                          for x in v) if ctx.service_account else False, True),
        ("notServiceAccounts", lambda v: not any(x in (f"{ctx.namespace}/{ctx.service_account}",
                                                       ctx.service_account) for x in v), True),
        ("ipBlocks", lambda v: _in_cidrs(ctx.src_ip, v), False),
        ("notIpBlocks", lambda v: not _in_cidrs(ctx.src_ip, v), False),
        ("remoteIpBlocks", lambda v: _in_cidrs(_remote_ip(ctx), v), False),
        ("notRemoteIpBlocks", lambda v: not _in_cidrs(_remote_ip(ctx), v), False),
        ("requestPrincipals", lambda v: False, False),  # no JWT in an explained request
        ("notRequestPrincipals", lambda v: True, False),
    ]
    for key, fn, about_identity in checks:
        if src.get(key) and not fn(src[key]):
            seen = (ctx.identity or "no identity (plaintext)") if about_identity \
                else _remote_ip(ctx) if "emote" in key else ctx.src_ip
            return False, f"from.source.{key} {src[key]} does not match {seen}"
    return True, ""


def _remote_ip(ctx: _Ctx) -> str:
    if ctx.request and ctx.request.headers.get("x-forwarded-for"):
        return ctx.request.headers["x-forwarded-for"].split(",")[0].strip()
    return ctx.src_ip


def _operation_matches(op: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    if op.get("ports") and str(ctx.port) not in [str(p) for p in op["ports"]]:
        return False, f"to.ports {op['ports']} does not include {ctx.port}"
    if op.get("notPorts") and str(ctx.port) in [str(p) for p in op["notPorts"]]:
        return False, f"to.notPorts {op['notPorts']} includes {ctx.port}"
    req = ctx.request
    for key, value in (("methods", req.method if req else None), ("paths", req.path.split("?")[0] if req else None),
                       ("hosts", req.host if req else None)):
        if op.get(key) and not any(_smatch(str(x), value) for x in op[key]):
            return False, f"to.{key} {op[key]} does not match {value}"
        neg = "not" + key[0].upper() + key[1:]
        if op.get(neg) and any(_smatch(str(x), value) for x in op[neg]):
            return False, f"to.{neg} {op[neg]} matches {value}"
    return True, ""


def _when_matches(cond: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    key = str(cond.get("key", ""))
    value: str | None
    if key == "source.ip":
        ok = lambda vs: _in_cidrs(ctx.src_ip, vs)  # noqa: E731
    elif key == "destination.ip":
        ok = lambda vs: _in_cidrs(ctx.dst_ip, vs)  # noqa: E731
    else:
        if key == "source.namespace":
            value = ctx.namespace
        elif key == "source.principal":
            value = ctx.identity
        elif key == "destination.port":
            value = str(ctx.port)
        elif key.startswith("request.headers[") and ctx.request:
            value = ctx.request.headers.get(key[len("request.headers["):-1].lower())
        else:
            value = None
        ok = lambda vs: any(_smatch(str(x), value) for x in vs)  # noqa: E731
    if cond.get("values") and not ok(cond["values"]):
        return False, f"when {key} in {cond['values']} does not hold"
    if cond.get("notValues") and ok(cond["notValues"]):
        return False, f"when {key} not in {cond['notValues']} does not hold"
    return True, ""


def _strip_l7(rule: dict[str, Any]) -> dict[str, Any] | None:
    """A DENY rule as ztunnel enforces it: HTTP parts removed; None when nothing enforceable is left."""
    out: dict[str, Any] = {}
    frm = [{"source": {k: v for k, v in (f.get("source") or {}).items() if k not in
                       ("requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks")}}
           for f in rule.get("from") or []]
    frm = [f for f in frm if f["source"]]
    to = [{"operation": {k: v for k, v in (t.get("operation") or {}).items() if k in ("ports", "notPorts")}}
          for t in rule.get("to") or []]
    to = [t for t in to if t["operation"]]
    when = [c for c in rule.get("when") or [] if c.get("key") in L4_WHEN_KEYS]
    if frm:
        out["from"] = frm
    if to:
        out["to"] = to
    if when:
        out["when"] = when
    return out or None


def rule_matches(rule: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    """(matches, why not) for one rule."""
    if rule.get("from"):
        fails = []
        for f in rule["from"]:
            ok, why = _source_matches(f.get("source") or {}, ctx)
            if ok:
                break
            fails.append(why)
        else:
            return False, "; ".join(fails)
    if rule.get("to"):
        fails = []
        for t in rule["to"]:
            ok, why = _operation_matches(t.get("operation") or {}, ctx)
            if ok:
                break
            fails.append(why)
        else:
            return False, "; ".join(fails)
    for cond in rule.get("when") or []:
        ok, why = _when_matches(cond, ctx)
        if not ok:
            return False, why
    return True, ""


@dataclass
class _Policy:
    ap: o.AuthorizationPolicy
    rules: list[tuple[int, dict[str, Any]]]  # (index as written, rule as enforced here)
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.ap.meta.key


def _as_enforced(ap: o.AuthorizationPolicy, at_ztunnel: bool) -> _Policy:
    rules = list(enumerate(ap.rules or []))
    if not at_ztunnel:
        return _Policy(ap, rules)
    kept, notes = [], []
    for i, r in rules:
        attrs = l7_attributes(r)
        if not attrs:
            kept.append((i, r))
        elif ap.action == "ALLOW":
            notes.append(f"rule {i} dropped at ztunnel ({', '.join(attrs)} need HTTP)")
        else:
            stripped = _strip_l7(r)
            if stripped is not None:
                kept.append((i, stripped))
                notes.append(f"rule {i} enforced without {', '.join(attrs)} (ztunnel cannot see HTTP)")
            else:
                notes.append(f"rule {i} has only HTTP content: it never fires at ztunnel")
    return _Policy(ap, kept, notes)


def _evaluate(policies: list[_Policy], ctx: _Ctx, where: str) -> tuple[bool, dict[str, Any], list[str], _Policy | None,
                                                                       int | None]:
    reasons: list[str] = []
    real = [p for p in policies if not p.ap.dry_run]
    for p in policies:
        if p.ap.dry_run:
            reasons.append(f"{p.key} is dry-run (istio.io/dry-run): logged, not enforced")
    for p in [p for p in real if p.ap.action == "DENY"]:
        for i, r in p.rules:
            ok, _ = rule_matches(r, ctx)
            if ok:
                reasons.append(f"{where}: DENY policy {p.key} rule {i} matches")
                return False, {"policy": p.key, "rule": i}, reasons, p, i
        reasons.append(f"{where}: DENY policy {p.key} does not match")
    allows = [p for p in real if p.ap.action == "ALLOW"]
    if not allows:
        reasons.append(f"{where}: no ALLOW policy applies, so the request is allowed")
        return True, {"noPolicy": True}, reasons, None, None
    for p in allows:
        for i, r in p.rules:
            ok, why = rule_matches(r, ctx)
            if ok:
                reasons.append(f"{where}: ALLOW policy {p.key} rule {i} matches")
                return True, {"policy": p.key, "rule": i}, reasons, p, i
            reasons.append(f"{where}: {p.key} rule {i} does not match: {why}")
        if not p.rules:
            reasons.append(f"{where}: {p.key} has no rules {'left ' if p.notes else ''}and matches nothing")
    reasons.append(f"{where}: ALLOW policies exist but none matched, so the request is denied")
    return False, {"defaultDeny": [p.key for p in allows]}, reasons, allows[0], None


def _policy_doc(p: _Policy, rule: int | None, enforced_at: str) -> dict[str, Any]:
    return {"namespace": p.ap.meta.namespace, "name": p.ap.meta.name, "action": p.ap.action, "rule": rule,
            "scope": enforced_at, "says": summarize(p.ap), "notes": p.notes, "rules": p.ap.rules or []}


# --------------------------------------------------------------------------------------------------------


def ztunnel_policies(view: MeshView, pod: o.Pod) -> list[_Policy]:
    """What the destination ztunnel enforces for `pod`: namespace, root-namespace (global) and selector
    policies, minus targetRefs/CUSTOM/AUDIT, in ztunnel's L4 form."""
    return view._cached("ztunnel_policies", pod, lambda: _ztunnel_policies(view, pod))


def _ztunnel_policies(view: MeshView, pod: o.Pod) -> list[_Policy]:
    root = view.install.root_namespace
    ns = pod.meta.namespace
    out = []
    for ap in view.cluster.of_kind("AuthorizationPolicy", ns) + (
            view.cluster.of_kind("AuthorizationPolicy", root) if root != ns else []):
        if ap.target_refs or ap.action not in ("ALLOW", "DENY"):
            continue
        if ap.selector is not None and not selects(ap.selector, pod.meta.labels):
            continue
        if ap.selector is None and ap.meta.namespace not in (ns, root):
            continue
        out.append(_as_enforced(ap, at_ztunnel=True))
    return out


def _peer_authn_denies(view: MeshView, pod: o.Pod, port: int) -> str | None:
    pa = effective_peer_authentication(view, pod)
    mode = pa["mode"]
    port_mode = (pa.get("portLevel") or {}).get(str(port))
    effective = port_mode or mode
    if effective == "STRICT":
        if port_mode and mode != "STRICT":
            return f"{pod.meta.namespace}/converted_peer_authentication_{pa['source'].split('/')[-1]}"
        if pa.get("portLevel"):
            return f"{pod.meta.namespace}/converted_peer_authentication_{pa['source'].split('/')[-1]}"
        return f"{view.install.root_namespace}/istio_converted_static_strict"
    return None


def waypoint_policies(view: MeshView, check: Check, service: o.Service | None, pod: o.Pod | None) -> list[_Policy]:
    wp = check.waypoint
    assert wp is not None
    root = view.install.root_namespace
    out = []
    if view.version.experimental and pod is not None:
        return [_as_enforced(ap, False) for ap in view.cluster.of_kind("AuthorizationPolicy", pod.meta.namespace)
                if (ap.selector is not None and selects(ap.selector, pod.meta.labels))
                or (ap.selector is None and not ap.target_refs)]
    for ap in {id(a): a for a in view.cluster.of_kind("AuthorizationPolicy", wp.namespace)
               + (view.cluster.of_kind("AuthorizationPolicy", service.meta.namespace) if service else [])
               + view.cluster.of_kind("AuthorizationPolicy", root)}.values():
        for ref in ap.target_refs:
            ref_ns = ref.namespace or ap.meta.namespace
            if (ref.kind == "Gateway" and f"{ref_ns}/{ref.name}" == wp.key) or (
                    ref.kind == "GatewayClass" and ap.meta.namespace == root and ref.name == wp.gateway.class_name) or (
                    ref.kind == "Service" and service is not None and ref_ns == service.meta.namespace
                    and ref.name == service.meta.name):
                out.append(_as_enforced(ap, False))
                break
    return out


def sidecar_policies(view: MeshView, pod: o.Pod) -> list[_Policy]:
    root = view.install.root_namespace
    out = []
    for ap in view.cluster.of_kind("AuthorizationPolicy", pod.meta.namespace) + (
            view.cluster.of_kind("AuthorizationPolicy", root) if root != pod.meta.namespace else []):
        if ap.target_refs:
            continue
        if ap.selector is not None and not selects(ap.selector, pod.meta.labels):
            continue
        out.append(_as_enforced(ap, False))
    return out


def _ztunnel_log(view: MeshView, decided: dict[str, Any], src_ip: str, dst: str) -> str:
    v = view.version
    if not v.current:
        return f"RBAC rejected conn={src_ip}->{dst}"
    if not v.at_least(1, 24):
        return "connection closed due to policy rejection"
    if "policy" in decided:
        return f"connection closed due to policy rejection: explicitly denied by: {decided['policy']}"
    if "builtin" in decided:
        return f"connection closed due to policy rejection: explicitly denied by: {decided['builtin']}"
    return "connection closed due to policy rejection: allow policies exist, but none allowed"


def decide(view: MeshView, check: Check, src: Party, ep: o.Pod | None, tgt: Target, req: HttpRequest,
           protocol: str) -> Decision:
    principal, ns, sa = _principal(check.peer_identity)
    port = tgt.target_port(ep) if ep is not None else tgt.port
    http = protocol == "http"
    ctx = _Ctx(principal, ns, sa, check.peer_ip or src.ip, ep.ip if ep else tgt.ip, port, req if http else None)
    who = check.peer_identity or "no identity (plaintext)"

    if check.component == "dst-ztunnel":
        assert ep is not None
        where = f"destination ztunnel {check.enforcer}"
        reasons = [f"{where} evaluates L4 policy for {ep.meta.key}:{port}; the peer is {who}"]
        if check.peer_identity is None:
            builtin = _peer_authn_denies(view, ep, port)
            if builtin:
                decided = {"builtin": builtin.split("/", 1)[1]}
                return Decision(False, decided, reasons + [
                    f"{where}: PeerAuthentication is STRICT for port {port}, so istiod's builtin DENY {builtin} "
                    "rejects a peer without identity"], outcome="ztunnel closes the plaintext connection: " + RESET,
                    log=_ztunnel_log(view, {"builtin": builtin}, ctx.src_ip, f"{ep.ip}:{port}"))
        pols = ztunnel_policies(view, ep)
        if view.install.setting("PILOT_AUTO_ALLOW_WAYPOINT_POLICY") and view.version.at_least(1, 23):
            wl = view.workload_waypoint(ep).waypoint or next(
                (b.waypoint for b in (view.service_waypoint(s) for s in view.services_for(ep)) if b.waypoint), None)
            if wl is not None:
                reasons.append(f"PILOT_AUTO_ALLOW_WAYPOINT_POLICY=true: istiod adds "
                               f"{wl.namespace}/istio_allow_waypoint_{wl.namespace}_{wl.name} allowing the waypoint")
                if ctx.identity == f"{view.install.trust_domain}/ns/{wl.namespace}/sa/{wl.service_account}":
                    return Decision(True, {"builtin": f"istio_allow_waypoint_{wl.namespace}_{wl.name}"}, reasons)
        allowed, decided, rs, pol, rule = _evaluate(pols, ctx, where)
        d = Decision(allowed, decided, reasons + rs)
        if pol is not None:
            d.policy = _policy_doc(pol, rule, f"enforced by ztunnel ({'selector' if pol.ap.selector else 'namespace'})")
            if pol.notes:
                d.warnings += [f"{pol.key}: {n}" for n in pol.notes]
        if not allowed:
            d.outcome = ("the CONNECT is answered 401 and " + RESET) if check.peer_identity else (
                "ztunnel closes the plaintext connection: " + RESET)
            d.log = _ztunnel_log(view, decided, ctx.src_ip, f"{ep.ip}:{port}")
        return d

    if check.component in ("waypoint", "sidecar"):
        if check.component == "waypoint":
            pols = waypoint_policies(view, check, tgt.service, ep)
            where = f"waypoint {check.enforcer}"
        else:
            assert ep is not None
            pols = sidecar_policies(view, ep)
            where = f"sidecar of {check.enforcer}"
        reasons = [f"{where} evaluates {'HTTP' if http else 'TCP'} policy; the peer is {who}"]
        custom = [p for p in pols if p.ap.action == "CUSTOM"]
        if custom:
            reasons.append(f"{where}: CUSTOM policy {custom[0].key} asks external authorizer "
                           f"{custom[0].ap.provider or '?'} first — its answer cannot be predicted here")
        pols = [p for p in pols if p.ap.action in ("ALLOW", "DENY")]
        allowed, decided, rs, pol, rule = _evaluate(pols, ctx, where)
        d = Decision(allowed, decided, reasons + rs)
        if custom:
            d.warnings.append(f"CUSTOM policy {custom[0].key} (ext-authz) is consulted first and may deny")
        if pol is not None:
            d.policy = _policy_doc(pol, rule, f"enforced by the {check.component}")
        if not allowed:
            detail = (f"rbac_access_denied_matched_policy[ns[{pol.ap.meta.namespace}]-policy[{pol.ap.meta.name}]-rule"
                      f"[{rule}]]" if "policy" in decided and pol else "rbac_access_denied_matched_policy[none]")
            d.outcome = ("the client gets HTTP 403 with body 'RBAC: access denied'" if http else
                         f"the {check.component} closes the connection: " + RESET)
            d.log = f"response code 403, details {detail}" if http else f"connection closed ({detail})"
        return d
    raise ValueError(check.component)
