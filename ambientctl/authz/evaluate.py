"""Evaluate a connection against ztunnel policies exactly as the destination ztunnel does, and say why.

Order (istio/ztunnel `src/state.rs::assert_rbac` @62d82653): dry-run DENYs that match are only logged; the first
real DENY that matches rejects (`explicitly denied by: ns/name`); dry-run ALLOWs are logged; no real ALLOW ⇒ allow;
any ALLOW matches ⇒ allow; else reject (`allow policies exist, but none allowed`). Matching (`src/rbac.rs`): a policy
with no rules matches nothing; a rule needs every clause; a clause needs any match (an empty clause matches); a match
with no field is skipped; identity fields never match plaintext but their `not*` forms do; principals are compared
without `spiffe://`; the destination network is ignored. The destination port is the real target port, not 15008.

Speed: policies are translated once and indexed by namespace (`PolicyIndex`); addresses are parsed once per
connection; the untraced path builds no strings, so a 40,000-pair matrix stays cheap.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ambientctl.authz import settings as gates
from ambientctl.authz.settings import AuthzSettings
from ambientctl.authz.ztunnel import (
    ALLOW,
    DENY,
    GLOBAL,
    NAMESPACE,
    STATIC_STRICT,
    WORKLOAD_SELECTOR,
    Authorization,
    Match,
    StringMatch,
    Translation,
    resolve_peer_authentication,
)
from ambientctl.errors import InputError
from ambientctl.mesh.version import DEFAULT, IstioVersion
from ambientctl.model import objects as o


@dataclass(frozen=True, slots=True)
class Identity:
    trust_domain: str
    namespace: str
    service_account: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        """`spiffe://td/ns/<ns>/sa/<sa>` (or without the scheme)."""
        parts = text.removeprefix("spiffe://").split("/")
        if len(parts) != 5 or parts[1] != "ns" or parts[3] != "sa":
            raise InputError(f"not a SPIFFE identity of the form spiffe://<td>/ns/<ns>/sa/<sa>: {text!r}")
        return cls(parts[0], parts[2], parts[4])

    @property
    def principal(self) -> str:
        """As AuthorizationPolicy principals are written: without `spiffe://`."""
        return f"{self.trust_domain}/ns/{self.namespace}/sa/{self.service_account}"

    def __str__(self) -> str:
        return "spiffe://" + self.principal


class Connection:
    """What the destination ztunnel knows: source ip, destination ip and *target* port, peer identity (None for
    plaintext)."""

    __slots__ = ("_dst", "_ns", "_principal", "_src", "dst_ip", "dst_port", "identity", "src_ip", "src_port")

    def __init__(self, src_ip: str, dst_ip: str, dst_port: int, identity: Identity | str | None = None,
                 src_port: int = 0) -> None:
        self.src_ip, self.dst_ip, self.dst_port, self.src_port = src_ip, dst_ip, int(dst_port), src_port
        self.identity = Identity.parse(identity) if isinstance(identity, str) else identity
        try:
            self._src = ipaddress.ip_address(src_ip)
            self._dst = ipaddress.ip_address(dst_ip)
        except ValueError as e:
            raise InputError(f"connection {src_ip} -> {dst_ip}:{dst_port}: {e}") from None
        self._principal = self.identity.principal if self.identity else None
        self._ns = self.identity.namespace if self.identity else ""

    def __str__(self) -> str:  # ztunnel's Connection Display: src(identity|None)->dst
        return f"{self.src_ip}:{self.src_port}({self.identity or 'None'})->{self.dst_ip}:{self.dst_port}"


# --- matching -------------------------------------------------------------------------------------------------

def _principal_ok(sm: StringMatch, principal: str | None) -> bool:
    return principal is not None and sm.matches(principal)  # no identity: strip_prefix("spiffe://") fails


def _field_failures(m: Match, c: Connection, first_only: bool) -> list[str]:
    """Which populated fields of `m` fail for `c` (empty list: the match matches)."""
    out: list[str] = []

    def check(name: str, pos: tuple, neg: tuple, pred: Any, seen: str) -> bool:
        if pos and not any(pred(x) for x in pos):
            out.append(f"{name} [{', '.join(map(str, pos))}] does not include {seen}")
        elif neg and any(pred(x) for x in neg):
            out.append(f"not{name[0].upper()}{name[1:]} [{', '.join(map(str, neg))}] includes {seen}")
        else:
            return True
        return not first_only

    ident = c.identity
    who = c._principal or "no identity (plaintext)"
    (check("destinationIps", m.destination_ips, m.not_destination_ips, lambda n: n.contains(c._dst), c.dst_ip)
     and check("sourceIps", m.source_ips, m.not_source_ips, lambda n: n.contains(c._src), c.src_ip)
     and check("destinationPorts", m.destination_ports, m.not_destination_ports, lambda p: p == c.dst_port,
               str(c.dst_port))
     and check("serviceAccounts", m.service_accounts, m.not_service_accounts,
               lambda s: ident is not None and s.namespace == ident.namespace
               and s.service_account == ident.service_account,
               f"{ident.namespace}/{ident.service_account}" if ident else who)
     and check("principals", m.principals, m.not_principals, lambda s: _principal_ok(s, c._principal), who)
     and check("namespaces", m.namespaces, m.not_namespaces, lambda s: s.matches(c._ns),
               f"namespace {c._ns!r}" if ident else who))
    return out


def match_matches(m: Match, c: Connection) -> bool:
    return not m.empty and not _field_failures(m, c, True)


def policy_matches(p: Authorization, c: Connection) -> int | None:
    """Index of the first rule of `p` that matches `c`, or None (`Authorization::matches`)."""
    for i, rule in enumerate(p.rules):
        if all(not clause or any(match_matches(m, c) for m in clause) for clause in rule):
            return i
    return None


@dataclass(slots=True)
class Step:
    """One line of the evaluation trace: a policy, rule, clause or match and whether it matched, with why."""

    policy: str
    level: str  # policy | rule | clause | match
    matched: bool
    why: str
    rule: int | None = None  # index as written by the user when known
    clause: int | None = None
    match: int | None = None

    def __str__(self) -> str:
        loc = self.policy + "".join(f" {n} {i}" for n, i in (("rule", self.rule), ("clause", self.clause),
                                                               ("match", self.match)) if i is not None)
        return f"{loc}: {'matches' if self.matched else 'does not match'} — {self.why}"


def trace_policy(p: Authorization, c: Connection, rule_index: Sequence[int] | None = None) -> tuple[int | None, list[Step]]:
    """Like `policy_matches`, recording every rule, clause and match (istio/ztunnel#1901: say clause by clause why
    no rule matched). Rule numbers are as the user wrote them when `rule_index` is given."""
    key = p.key
    steps: list[Step] = []
    if not p.rules:
        steps.append(Step(key, "policy", False, "the policy has no rules, so it matches nothing"))
        return None, steps
    for i, rule in enumerate(p.rules):
        ri = rule_index[i] if rule_index is not None and i < len(rule_index) else i
        ok_rule = True
        if not rule:
            steps.append(Step(key, "rule", True, "a rule with no conditions matches every connection", ri))
            return i, steps
        for j, clause in enumerate(rule):
            if not clause:
                steps.append(Step(key, "clause", True, "empty clause: matches", ri, j))
                continue
            clause_ok = False
            for k, m in enumerate(clause):
                if m.empty:
                    steps.append(Step(key, "match", False, "match with no L4 field (e.g. only HTTP attributes "
                                      "were written): ztunnel skips it", ri, j, k))
                    continue
                fails = _field_failures(m, c, False)
                steps.append(Step(key, "match", not fails, "; ".join(fails) or m.describe(), ri, j, k))
                if not fails:
                    clause_ok = True
                    break
            steps.append(Step(key, "clause", clause_ok, "one of its matches holds" if clause_ok else
                              "none of its matches holds", ri, j))
            if not clause_ok:
                ok_rule = False
                break
        steps.append(Step(key, "rule", ok_rule, "every clause holds" if ok_rule else "a clause fails", ri))
        if ok_rule:
            return i, steps
    return None, steps


# --- decisions ------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class ZtunnelDecision:
    """`decided_by` follows the Explanation contract: {policy, rule} | {defaultDeny: [...]} | {noPolicy: True}.
    `rule` is the index as written (when translations were given). `error` is ztunnel's error text for this
    version (None when allowed); `logs` are the dry-run lines ztunnel writes (target `authorization_policy`)."""

    allowed: bool
    decided_by: dict[str, Any]
    error: str | None = None
    reasons: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    trace: list[Step] = field(default_factory=list)
    policy: str | None = None
    rule: int | None = None
    builtin: bool = False  # the deciding policy is istiod-generated (PeerAuthentication, auto-allow waypoint)


def is_builtin(key: str) -> bool:
    name = key.rsplit("/", 1)[-1]
    return name == STATIC_STRICT or name.startswith("converted_peer_authentication_") or \
        name.startswith("istio_allow_waypoint_")


def rejection_text(version: IstioVersion, denied_by: str | None) -> str:
    """ztunnel's error for a rejected connection (src/proxy.rs): 1.24+ names the reason; 1.22/1.23 do not;
    1.18–1.21 log `RBAC rejected` (HBONE gets 401, plaintext is closed)."""
    if gates.ztunnel_legacy_log(version):
        return "RBAC rejected"
    if not gates.ztunnel_error_has_reason(version):
        return "connection closed due to policy rejection"
    reason = f"explicitly denied by: {denied_by}" if denied_by else "allow policies exist, but none allowed"
    return f"connection closed due to policy rejection: {reason}"


def evaluate(policies: Iterable[Authorization], conn: Connection, version: IstioVersion = DEFAULT,
             rule_index: dict[str, Sequence[int]] | None = None, trace: bool = True) -> ZtunnelDecision:
    """`assert_rbac` over the policies that apply to the destination workload, in ztunnel's order
    (namespace, global, workload)."""
    allow: list[Authorization] = []
    deny: list[Authorization] = []
    allow_dry: list[Authorization] = []
    deny_dry: list[Authorization] = []
    for p in policies:
        if p.action == ALLOW:
            (allow_dry if p.dry_run else allow).append(p)
        else:
            (deny_dry if p.dry_run else deny).append(p)
    idx = rule_index or {}
    d = ZtunnelDecision(True, {})
    steps = d.trace

    def run(p: Authorization) -> int | None:
        if not trace:
            return policy_matches(p, conn)
        i, st = trace_policy(p, conn, idx.get(p.key))
        steps.extend(st)
        return i

    def written(p: Authorization, i: int) -> int:
        ri = idx.get(p.key)
        return ri[i] if ri is not None and i < len(ri) else i

    for p in deny_dry:
        if run(p) is not None:
            d.logs.append(f'dry-run: deny policy match policy="{p.key}"')
    for p in deny:
        i = run(p)
        if i is not None:
            d.allowed, d.policy, d.rule, d.builtin = False, p.key, written(p, i), is_builtin(p.key)
            d.decided_by = {"builtin": p.name} if d.builtin else {"policy": p.key, "rule": d.rule}
            d.error = rejection_text(version, p.key)
            d.reasons.append(f"DENY policy {p.key} rule {d.rule} matches {conn}: rejected")
            return d
        if trace:
            d.reasons.append(f"DENY policy {p.key} does not match")
    dry_allow_matched = False
    for p in allow_dry:
        if run(p) is not None:
            dry_allow_matched = True
            d.logs.append(f'dry-run: allow policy match policy="{p.key}"')
    if not allow and allow_dry and not dry_allow_matched:
        d.logs.append("dry-run: no allow policies match")
    if not allow:
        d.decided_by = {"noPolicy": True}
        d.reasons.append("no ALLOW policy applies to the destination, so the connection is allowed")
        return d
    for p in allow:
        i = run(p)
        if i is not None:
            d.policy, d.rule, d.builtin = p.key, written(p, i), is_builtin(p.key)
            d.decided_by = {"builtin": p.name} if d.builtin else {"policy": p.key, "rule": d.rule}
            d.reasons.append(f"ALLOW policy {p.key} rule {d.rule} matches {conn}: allowed")
            return d
        if trace:
            d.reasons.append(f"ALLOW policy {p.key} does not match")
    d.allowed = False
    d.decided_by = {"defaultDeny": [p.key for p in allow]}
    d.error = rejection_text(version, None)
    d.reasons.append("ALLOW policies exist but none matches: rejected")
    return d


# --- which policies apply to a workload -----------------------------------------------------------------------

def auto_allow_waypoint_policy(waypoint_ns: str, waypoint_name: str, service_accounts: Sequence[str],
                               trust_domain: str = "cluster.local") -> Authorization:
    """PILOT_AUTO_ALLOW_WAYPOINT_POLICY (1.23+): istiod's synthetic ALLOW of the waypoint's identities
    (`policies.go::implicitWaypointPolicy` @86c9f01f), referenced by every workload bound to that waypoint."""
    return Authorization(f"istio_allow_waypoint_{waypoint_ns}_{waypoint_name}", waypoint_ns, WORKLOAD_SELECTOR,
                         ALLOW, (((Match(principals=tuple(StringMatch("exact", f"{trust_domain}/ns/{waypoint_ns}/sa/{sa}")
                                                         for sa in service_accounts)),),),))


@dataclass(slots=True)
class _Entry:
    auth: Authorization
    selector: dict[str, str] | None
    translation: Translation | None


class PolicyIndex:
    """Every ztunnel policy of a cluster, translated once and indexed by namespace.

    Build with `PolicyIndex.build(authorization_policies, peer_authentications, settings)`; then
    `for_workload(namespace, labels, waypoint=...)` gives the policies the destination ztunnel evaluates for that
    workload in ztunnel's order, and `evaluate(...)` decides a connection."""

    def __init__(self, settings: AuthzSettings) -> None:
        self.settings = settings
        self.translations: dict[str, Translation] = {}
        self._namespace: dict[str, list[_Entry]] = {}
        self._global: list[_Entry] = []
        self._selector: dict[str, list[_Entry]] = {}
        self._by_key: dict[str, Authorization] = {}
        self._pas: dict[str, list[o.PeerAuthentication]] = {}
        self.rule_index: dict[str, Sequence[int]] = {}
        self._cache: dict[tuple, list[Authorization]] = {}

    @classmethod
    def build(cls, aps: Iterable[o.AuthorizationPolicy], pas: Iterable[o.PeerAuthentication] = (),
              settings: AuthzSettings | None = None) -> PolicyIndex:
        from ambientctl.authz.ztunnel import peer_authentication_policies, translate_policy

        s = settings or AuthzSettings()
        idx = cls(s)
        for ap in sorted(aps, key=lambda a: a.meta.key):
            t = translate_policy(ap, s)
            idx.translations[ap.meta.key] = t
            if t.authorization is not None:
                idx._add(t.authorization, ap.selector, t)
                idx.rule_index[ap.meta.key] = t.rule_index
        pa_list = list(pas)
        for pa in pa_list:
            idx._pas.setdefault(pa.meta.namespace, []).append(pa)
        for a in peer_authentication_policies(pa_list, s.root_namespace):
            idx._by_key[a.key] = a  # referenced by key only (never by scope lookup)
        return idx

    @classmethod
    def from_ztunnel(cls, policies: Iterable[tuple[Authorization, dict[str, str] | None]],
                     settings: AuthzSettings | None = None) -> PolicyIndex:
        """An index of policies already in ztunnel's form (a `/config_dump` or local config): each with the label
        selector that stands for the workloads referencing it (WorkloadSelector scope)."""
        idx = cls(settings or AuthzSettings())
        for a, selector in policies:
            idx._add(a, selector, None)
        return idx

    def _add(self, a: Authorization, selector: dict[str, str] | None, t: Translation | None) -> None:
        e = _Entry(a, selector, t)
        self._by_key[a.key] = a
        if a.scope == GLOBAL:
            self._global.append(e)
        elif a.scope == NAMESPACE:
            self._namespace.setdefault(a.namespace, []).append(e)
        else:
            self._selector.setdefault(a.namespace, []).append(e)

    def get(self, key: str) -> Authorization | None:
        return self._by_key.get(key)

    def for_workload(self, namespace: str, labels: dict[str, str],
                     waypoint: tuple[str, str, Sequence[str]] | None = None) -> list[Authorization]:
        """Namespace policies of `namespace`, global policies, then the workload's own references: selector policies
        of its namespace or the root namespace that select it (sorted by key, `buildWorkloadPolicies`), the
        PeerAuthentication-derived keys, and (1.23+, PILOT_AUTO_ALLOW_WAYPOINT_POLICY) the waypoint allow policy.
        `waypoint`: (namespace, name, service accounts) of the waypoint the workload is bound to."""
        ck = (namespace, tuple(sorted(labels.items())), waypoint and (waypoint[0], waypoint[1], tuple(waypoint[2])))
        hit = self._cache.get(ck)
        if hit is not None:
            return hit
        s = self.settings
        out = [e.auth for e in self._namespace.get(namespace, [])]
        out += [e.auth for e in self._global]
        refs = []
        for ns in dict.fromkeys((namespace, s.root_namespace)):
            for e in self._selector.get(ns, []):
                if e.selector is not None and all(labels.get(k) == v for k, v in e.selector.items()):
                    refs.append(e.auth)
        out += sorted(refs, key=lambda a: a.key)
        pa = resolve_peer_authentication(self._pas.get(namespace, []) + (
            self._pas.get(s.root_namespace, []) if namespace != s.root_namespace else []), labels, namespace,
            s.root_namespace)
        for k in pa.keys:
            a = self._by_key.get(k)
            if a is not None:
                out.append(a)
        if waypoint is not None and s.auto_allow_waypoint and gates.has_auto_allow_waypoint(s.version) and waypoint[2]:
            out.append(auto_allow_waypoint_policy(waypoint[0], waypoint[1], waypoint[2], s.trust_domain))
        self._cache[ck] = out
        return out

    def evaluate(self, namespace: str, labels: dict[str, str], conn: Connection,
                 waypoint: tuple[str, str, Sequence[str]] | None = None, trace: bool = True) -> ZtunnelDecision:
        return evaluate(self.for_workload(namespace, labels, waypoint), conn, self.settings.version,
                        self.rule_index, trace)


__all__ = [
    "ALLOW", "DENY", "Connection", "Identity", "PolicyIndex", "Step", "ZtunnelDecision", "auto_allow_waypoint_policy",
    "evaluate", "match_matches", "policy_matches", "rejection_text", "trace_policy",
]
