"""ztunnel's own policy form (`istio.security.Authorization`) and istiod's translation into it.

ztunnel never sees an AuthorizationPolicy: istiod converts each one (and each port-level PeerAuthentication) into an
L4-only `Authorization` whose rules are nested three deep — rule (OR) → clause (AND) → match (OR) — and whatever
istiod drops on the way (HTTP attributes, CUSTOM/AUDIT, targetRefs, dry-run) is invisible at ztunnel. `explain` and
`describe` must reason about this translated form, so it is modelled here once, with the notes and the status
text istiod writes, and parsed back from ztunnel's `/config_dump` and local-config files for comparison.

Behaviour follows istio/istio `pilot/pkg/serviceregistry/ambient/authorization.go` @86c9f01f (master) and the
per-tag variants named in `ambientctl.authz.settings`; matching follows istio/ztunnel `src/rbac.rs` @62d82653.
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from ambientctl.authz import settings as gates
from ambientctl.authz.settings import AuthzSettings
from ambientctl.errors import InputError
from ambientctl.model import objects as o

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

STATIC_STRICT = "istio_converted_static_strict"
PA_PREFIX = "converted_peer_authentication_"
L4_WHEN_KEYS = frozenset({"source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port"})
L7_OPERATION_FIELDS = ("hosts", "notHosts", "methods", "notMethods", "paths", "notPaths")
L7_SOURCE_FIELDS = ("remoteIpBlocks", "notRemoteIpBlocks", "requestPrincipals", "notRequestPrincipals")

GLOBAL, NAMESPACE, WORKLOAD_SELECTOR = "Global", "Namespace", "WorkloadSelector"
ALLOW, DENY = "Allow", "Deny"


# --- the ztunnel data model ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StringMatch:
    """exact | prefix | suffix | presence, as ztunnel compares (`StringMatch::matches`): presence needs a non-empty
    string; `foo` in any form never matches the empty string (src/rbac.rs `string_match` tests)."""

    kind: str
    value: str = ""

    @classmethod
    def from_pattern(cls, pattern: str) -> StringMatch:
        """istiod `stringToMatch`: `*` presence, `*x` suffix, `x*` prefix, else exact."""
        if pattern == "*":
            return cls("presence")
        if pattern.startswith("*"):
            return cls("suffix", pattern[1:])
        if pattern.endswith("*"):
            return cls("prefix", pattern[:-1])
        return cls("exact", pattern)

    def matches(self, s: str) -> bool:
        k = self.kind
        if k == "exact":
            return s == self.value
        if k == "prefix":
            return s.startswith(self.value)
        if k == "suffix":
            return s.endswith(self.value)
        return s != ""

    def __str__(self) -> str:
        return {"exact": self.value, "prefix": self.value + "*", "suffix": "*" + self.value}.get(self.kind, "*")


@dataclass(frozen=True, slots=True)
class ServiceAccountMatch:
    namespace: str
    service_account: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.service_account}"


@dataclass(frozen=True, slots=True)
class Cidr:
    """An address and prefix length as istiod sends them (host bits kept, like ipnet's IpNet)."""

    address: str
    length: int
    network: IpNetwork = field(compare=False, repr=False, hash=False)

    @classmethod
    def make(cls, address: str, length: int) -> Cidr:
        return cls(address, length, ipaddress.ip_network(f"{address}/{length}", strict=False))

    @classmethod
    def parse(cls, text: str) -> Cidr:
        addr, _, bits = text.partition("/")
        ip = ipaddress.ip_address(addr)
        return cls.make(str(ip), int(bits) if bits else ip.max_prefixlen)

    def contains(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return ip.version == self.network.version and ip in self.network

    def __str__(self) -> str:
        return f"{self.address}/{self.length}"


MATCH_FIELDS = (
    "namespaces", "not_namespaces", "service_accounts", "not_service_accounts", "principals", "not_principals",
    "source_ips", "not_source_ips", "destination_ips", "not_destination_ips", "destination_ports",
    "not_destination_ports",
)
CAMEL = {f: f.split("_")[0] + "".join(p.title() for p in f.split("_")[1:]) for f in MATCH_FIELDS}


@dataclass(frozen=True, slots=True)
class Match:
    """One `Match`: every populated field must pass; positive lists OR, negative lists must not contain the value.
    A match with no field at all is skipped by ztunnel (it never matches)."""

    namespaces: tuple[StringMatch, ...] = ()
    not_namespaces: tuple[StringMatch, ...] = ()
    service_accounts: tuple[ServiceAccountMatch, ...] = ()
    not_service_accounts: tuple[ServiceAccountMatch, ...] = ()
    principals: tuple[StringMatch, ...] = ()
    not_principals: tuple[StringMatch, ...] = ()
    source_ips: tuple[Cidr, ...] = ()
    not_source_ips: tuple[Cidr, ...] = ()
    destination_ips: tuple[Cidr, ...] = ()
    not_destination_ips: tuple[Cidr, ...] = ()
    destination_ports: tuple[int, ...] = ()
    not_destination_ports: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f) for f in MATCH_FIELDS)

    def describe(self) -> str:
        parts = [f"{CAMEL[f]} [{', '.join(map(str, getattr(self, f)))}]" for f in MATCH_FIELDS if getattr(self, f)]
        return "; ".join(parts) if parts else "{} (empty: skipped by ztunnel)"


Clause = tuple[Match, ...]
Rule = tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class Authorization:
    """ztunnel `rbac::Authorization`. `rules`: rule = all its clauses; clause = any of its matches."""

    name: str
    namespace: str
    scope: str  # Global | Namespace | WorkloadSelector
    action: str  # Allow | Deny
    rules: tuple[Rule, ...] = ()
    dry_run: bool = False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class StatusMessage:
    """The `ZtunnelAccepted` condition istiod writes (reason `UnsupportedValue`); None means `Accepted`."""

    reason: str
    message: str


@dataclass(slots=True)
class Translation:
    """What istiod makes of one AuthorizationPolicy for ztunnel.

    `rule_index[i]` is the index, in the policy as written, of translated rule i (ALLOW rules with HTTP attributes
    disappear, so positions shift). `effect`: '' (as written), 'not-sent', 'deny-all' (ALLOW left without rules),
    'narrower' (ALLOW lost some rules), 'broader' (DENY enforced without its HTTP parts), 'no-effect' (DENY left
    with nothing enforceable), 'enforced-dry-run' (old istiod ignores the dry-run annotation), 'enforced-by-old-ztunnel'
    (istiod 1.29+ sends dryRun to a ztunnel < 1.29, which ignores it), 'dry-run'."""

    source: o.AuthorizationPolicy
    authorization: Authorization | None
    status: StatusMessage | None = None
    notes: list[str] = field(default_factory=list)
    rule_index: tuple[int, ...] = ()
    effect: str = ""
    l7_attributes: tuple[str, ...] = ()


# --- istiod's translation ---------------------------------------------------------------------------------------

def _ports(values: Any) -> tuple[int, ...]:
    """istiod `stringToPort`: unparsable or > 65535 values are dropped silently."""
    out = []
    for v in values or []:
        try:
            p = int(str(v), 10)
        except ValueError:
            continue
        if 0 <= p <= 65535:
            out.append(p)
    return tuple(out)


def _cidrs(values: Any) -> tuple[Cidr, ...]:
    """istiod `stringToIP`: invalid entries are dropped silently; a bare address gets its full length."""
    out = []
    for v in values or []:
        try:
            out.append(Cidr.parse(str(v)))
        except ValueError:
            continue
    return tuple(out)


def _strings(values: Any) -> tuple[StringMatch, ...]:
    return tuple(StringMatch.from_pattern(str(v)) for v in values or [])


def _service_accounts(values: Any, ns: str) -> tuple[ServiceAccountMatch, ...]:
    out = []
    for v in values or []:
        a, sep, b = str(v).partition("/")
        out.append(ServiceAccountMatch(a, b) if sep else ServiceAccountMatch(ns, a))
    return tuple(out)


def _when_match(cond: dict[str, Any]) -> Match:
    key = cond.get("key")
    vals, nots = cond.get("values"), cond.get("notValues")
    if key == "source.namespace":
        return Match(namespaces=_strings(vals), not_namespaces=_strings(nots))
    if key == "source.principal":
        return Match(principals=_strings(vals), not_principals=_strings(nots))
    if key == "source.ip":
        return Match(source_ips=_cidrs(vals), not_source_ips=_cidrs(nots))
    if key == "destination.port":
        return Match(destination_ports=_ports(vals), not_destination_ports=_ports(nots))
    if key == "destination.ip":
        return Match(destination_ips=_cidrs(vals), not_destination_ips=_cidrs(nots))
    return Match()


def _translate_rule(rule: dict[str, Any], ns: str, service_accounts: bool) -> tuple[Rule, list[str]]:
    """istiod `handleRule`: one clause for all `to` entries, one for all `from` entries, one per `when`."""
    l7: list[str] = []
    to_matches, from_matches = [], []
    for to in rule.get("to") or []:
        op = (to or {}).get("operation") or {}
        l7 += [f for f in L7_OPERATION_FIELDS if op.get(f)]
        to_matches.append(Match(destination_ports=_ports(op.get("ports")), not_destination_ports=_ports(op.get("notPorts"))))
    for frm in rule.get("from") or []:
        src = (frm or {}).get("source") or {}
        l7 += [f for f in L7_SOURCE_FIELDS if src.get(f)]
        from_matches.append(Match(
            source_ips=_cidrs(src.get("ipBlocks")), not_source_ips=_cidrs(src.get("notIpBlocks")),
            namespaces=_strings(src.get("namespaces")), not_namespaces=_strings(src.get("notNamespaces")),
            service_accounts=_service_accounts(src.get("serviceAccounts"), ns) if service_accounts else (),
            not_service_accounts=_service_accounts(src.get("notServiceAccounts"), ns) if service_accounts else (),
            principals=_strings(src.get("principals")), not_principals=_strings(src.get("notPrincipals")),
        ))
    clauses: list[Clause] = []
    if to_matches:
        clauses.append(tuple(to_matches))
    if from_matches:
        clauses.append(tuple(from_matches))
    for cond in rule.get("when") or []:
        cond = cond or {}
        if cond.get("key") not in L4_WHEN_KEYS:
            l7.append(str(cond.get("key")))
        clauses.append((_when_match(cond),))
    return tuple(clauses), l7


def rule_is_effective(rule: Rule) -> bool:
    """istiod `hasEffectiveRules` for one rule: every clause has a non-empty match (a rule without clauses
    matches everything)."""
    return all(any(not m.empty for m in clause) for clause in rule)


def _status_text(v: Any, action: str, found: str, no_effect: bool) -> str:
    if not gates._ge(v, 1, 25):  # 1.24 wording (kube/controller/ambient/authorization.go @1.24.0)
        tail = ("Deny rules with HTTP attributes will be enforced without their HTTP components. This is more "
                "restrictive than intended." if action == DENY else
                "Allow rules with HTTP attributes will be empty and never match. This is more restrictive than "
                "requested.")
        return (f"ztunnel does not support HTTP rules ({found} require HTTP parsing), in ambient mode you must use "
                f"waypoint proxy to enforce HTTP rules. {tail}")
    if action == DENY and no_effect and gates._ge(v, 1, 31):  # istio/istio#61166 (master after 1.30)
        tail = ("After omitting unsupported HTTP attributes, this DENY policy has no enforceable rules at ztunnel "
                "and will have no effect. Deploy a waypoint proxy and use a targetRef to enforce this policy.")
    elif action == DENY:
        tail = "DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more restrictive than requested."
    else:
        tail = "Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested."
    return (f"ztunnel does not support HTTP attributes (found: {found}). In ambient mode you must use a waypoint "
            f"proxy to enforce HTTP rules. {tail}")


def translate_policy(ap: o.AuthorizationPolicy, settings: AuthzSettings | None = None) -> Translation:
    """An AuthorizationPolicy as istiod sends it to ztunnel (`convertAuthorizationPolicy`), per version."""
    s = settings or AuthzSettings()
    v = s.version
    status_ok = gates.writes_ztunnel_status(v)
    dry = ap.dry_run
    mode = gates.dry_run_handling(v)
    if dry and mode == "skip":
        return Translation(ap, None, None, [
            f"istiod {v} does not send dry-run policies to ztunnel (istio/istio#55414): ztunnel neither enforces "
            "nor logs it"], effect="not-sent")
    if dry and mode == "setting" and not s.dry_run_enabled:
        msg = (f'found policy "{ap.meta.namespace}/{ap.meta.name}" using dry-run annotation, but support for '
               "ambient dry-run authorizationPolicies isn't enabled")
        return Translation(ap, None, StatusMessage("UnsupportedValue", msg), [
            msg + f" ({gates.DRY_RUN}=true on istiod enables it): ztunnel neither enforces nor logs it"],
            effect="not-sent")
    if ap.target_refs and gates.ztunnel_skips_target_refs(v):
        return Translation(ap, None, None, ["has targetRefs: istiod sends it to waypoints only, never to ztunnel"],
                           effect="not-sent")
    notes: list[str] = []
    if ap.target_refs:
        notes.append(f"istiod {v} ignores targetRefs when translating for ztunnel: ztunnel enforces this policy "
                     "too, as a " + ("selector" if ap.selector is not None else "namespace") + " policy")
    if ap.action not in ("ALLOW", "DENY"):
        msg = f"ztunnel does not support the {ap.action} action"
        return Translation(ap, None, StatusMessage("UnsupportedValue", msg) if status_ok else None,
                           notes + [msg + ": istiod does not send this policy to ztunnel, nothing enforces it there"],
                           effect="not-sent")
    if ap.selector is not None:
        scope = WORKLOAD_SELECTOR
    elif ap.meta.namespace == s.root_namespace:
        scope = GLOBAL
    else:
        scope = NAMESPACE
    action = ALLOW if ap.action == "ALLOW" else DENY
    effect = ""
    dry_run_flag = False
    if dry and mode == "enforce":
        notes.append(f"istiod {v} ignores the istio.io/dry-run annotation for ztunnel: this policy is ENFORCED, "
                     "not just logged (dry-run for ambient needs 1.29+)")
        effect = "enforced-dry-run"
    elif dry and s.ztunnel_version is not None and not gates.ztunnel_honours_dry_run(s.ztunnel_version):
        notes.append(f"istiod {v} sends this policy with dryRun=true, but the ztunnels are {s.ztunnel_version} "
                     "(< 1.29): they do not know the field and ENFORCE the policy for real")
        effect = "enforced-by-old-ztunnel"
    elif dry:
        dry_run_flag = True
        effect = "dry-run"
        notes.append("dry-run: ztunnel (1.29+) only logs whether it matches; it never decides the connection")
    sa_ok = gates.translates_service_accounts(v)
    rules: list[Rule] = []
    index: list[int] = []
    found: set[str] = set()
    l7_rules: list[int] = []
    for i, raw in enumerate(ap.rules or []):
        raw = raw or {}
        if not sa_ok and any(((f or {}).get("source") or {}).get(k) for f in raw.get("from") or []
                             for k in ("serviceAccounts", "notServiceAccounts")):
            notes.append(f"rule {i}: serviceAccounts/notServiceAccounts exist only from Istio 1.25; istiod {v} "
                         "ignores them (the source entry keeps only its other fields)")
        td = [k for f in raw.get("from") or [] for k in ("trustDomains", "notTrustDomains")
              if ((f or {}).get("source") or {}).get(k)]
        if td:
            # istiod handleRule builds ztunnel's Match without them and reports nothing (authorization.go @86c9f01f)
            notes.append(f"rule {i}: {', '.join(dict.fromkeys(td))} are enforced by waypoints only: istiod does not "
                         "send them to ztunnel, which matches the source entry on its other fields (an entry with "
                         "nothing else matches nothing)")
        rule, l7 = _translate_rule(raw, ap.meta.namespace, sa_ok)
        if l7:
            found.update(l7)
            l7_rules.append(i)
            if action == ALLOW:
                notes.append(f"rule {i} uses {', '.join(dict.fromkeys(l7))}: ztunnel cannot see HTTP, so istiod "
                             "drops the whole rule from this ALLOW policy")
                continue
            notes.append(f"rule {i} uses {', '.join(dict.fromkeys(l7))}: ztunnel enforces this DENY rule without "
                         "those parts" + ("" if rule_is_effective(rule) else " — nothing is left, it never fires"))
        rules.append(rule)
        index.append(i)
    auth = Authorization(ap.meta.name, ap.meta.namespace, scope, action, tuple(rules), dry_run_flag)
    status = None
    if found:
        listed = ", ".join(sorted(found))
        no_effect = action == DENY and not any(rule_is_effective(r) for r in rules)
        if status_ok:
            status = StatusMessage("UnsupportedValue", _status_text(v, action, listed, no_effect))
        if action == ALLOW:
            if not rules:
                effect = effect or "deny-all"
                notes.append("every rule was dropped: the policy matches nothing, and because an ALLOW policy "
                             "exists, ALL traffic to the selected workloads is denied (fails safe as deny-all)")
            else:
                effect = effect or "narrower"
                notes.append("the remaining rules allow less than written")
        elif no_effect:
            effect = effect or "no-effect"
            notes.append("nothing enforceable remains at ztunnel: this DENY has no effect there (use a waypoint "
                         "and targetRefs)")
        else:
            effect = effect or "broader"
            notes.append(f"it denies more than written ({listed} ignored)")
    if not ap.rules:
        notes.append("no rules: matches nothing" + (", so with it ALL traffic is denied (deny-all)"
                                                    if action == ALLOW else " (no effect)"))
    return Translation(ap, auth, status, notes, tuple(index), effect, tuple(sorted(found)))


# --- PeerAuthentication ----------------------------------------------------------------------------------------

def _mode(pa: o.PeerAuthentication | None) -> str:
    return (pa.mode or "UNSET") if pa is not None else "UNSET"


def _port_mode(m: str) -> str:
    return m or "UNSET"


def static_strict_policy(root_namespace: str = "istio-system") -> Authorization:
    """The DENY istiod always sends: no peer identity ⇒ deny (`notPrincipals: [presence]`)."""
    return Authorization(STATIC_STRICT, root_namespace, GLOBAL, DENY,
                         (((Match(not_principals=(StringMatch("presence"),)),),),))


def convert_peer_authentication(pa: o.PeerAuthentication, ns_pa: o.PeerAuthentication | None,
                                root_pa: o.PeerAuthentication | None,
                                root_namespace: str = "istio-system") -> Authorization | None:
    """istiod `convertPeerAuthentication` (master): a workload-selector PA with port-level mTLS ⇒ a DENY policy
    `<ns>/converted_peer_authentication_<name>`; anything else ⇒ None. The conditions are istiod's, quirks
    included (e.g. a PERMISSIVE port under an UNSET workload and UNSET namespace is ignored even when the mesh is
    STRICT)."""
    mode = _mode(pa)
    if pa.meta.namespace == root_namespace or pa.selector is None or not pa.port_level:
        return None
    ns_mode, root_mode = _mode(ns_pa), _mode(root_pa)
    presence = (StringMatch("presence"),)
    rules: list[Clause] = []
    groups: list[Rule] = []
    if mode == "STRICT":
        rules.append((Match(not_principals=presence),))
    found_non_strict = False
    for port in sorted(pa.port_level):
        pm = _port_mode(pa.port_level[port])
        if pm == "STRICT":
            if (mode == "STRICT" or (mode == "UNSET" and ns_pa is not None and ns_mode == "STRICT")
                    or ((ns_pa is None or ns_mode == "UNSET") and root_pa is not None and root_mode == "STRICT")):
                continue
            groups.append(((Match(not_principals=presence, destination_ports=(port,)),),))
        elif pm in ("PERMISSIVE", "DISABLE"):
            if mode in ("PERMISSIVE", "DISABLE"):
                continue
            if mode == "UNSET" and ((ns_pa is not None and ns_mode != "STRICT")
                                    or (ns_pa is None and root_pa is not None and root_mode != "STRICT")
                                    or (ns_pa is None and root_pa is None)):
                continue
            found_non_strict = True
            rules.append((Match(not_destination_ports=(port,)),))
    if mode == "STRICT" and not found_non_strict:
        return None
    if not rules and not groups:
        return None
    merge = (root_pa is not None and root_mode == "STRICT" and (ns_pa is None or ns_mode in ("UNSET", "STRICT"))) \
        or (ns_pa is not None and ns_mode == "STRICT")
    if merge and found_non_strict:
        rules.append((Match(not_principals=presence),))
    if rules:
        groups.append(tuple(rules))
    return Authorization(PA_PREFIX + pa.meta.name, pa.meta.namespace, WORKLOAD_SELECTOR, DENY, tuple(groups))


def _oldest(items: list[o.PeerAuthentication]) -> o.PeerAuthentication | None:
    # Go's CreationTimestamp.Before keeps the first seen on ties; objects without a timestamp sort first
    best = None
    for p in items:
        if best is None or (p.meta.created or "") < (best.meta.created or ""):
            best = p
    return best


@dataclass(slots=True)
class PeerAuthnResolution:
    """The PeerAuthentication-derived policy keys a workload references, and why."""

    keys: list[str]
    mode: str  # effective top-level mode: STRICT | PERMISSIVE (DISABLE counts as PERMISSIVE in ambient)
    mesh: o.PeerAuthentication | None
    namespace: o.PeerAuthentication | None
    workload: o.PeerAuthentication | None
    notes: list[str] = field(default_factory=list)


def resolve_peer_authentication(candidates: list[o.PeerAuthentication], labels: dict[str, str], namespace: str,
                                root_namespace: str = "istio-system") -> PeerAuthnResolution:
    """istiod `convertedSelectorPeerAuthentications` for one workload. `candidates`: the PeerAuthentications of the
    workload's namespace and the root namespace (others are ignored)."""
    mesh = _oldest([p for p in candidates if p.meta.namespace == root_namespace and not p.selector])
    nsp = _oldest([p for p in candidates if p.meta.namespace == namespace != root_namespace and not p.selector])
    wl = _oldest([p for p in candidates if p.meta.namespace == namespace != root_namespace and p.selector
                  and all(labels.get(k) == v for k, v in p.selector.items())])
    notes = []
    strict = mesh is not None and mesh.mode == "STRICT"
    if nsp is not None and _mode(nsp) != "UNSET":
        strict = nsp.mode == "STRICT"
    port_key = ""
    if wl is not None:
        wm = _mode(wl)
        if wm == "STRICT":
            strict = True
        if wm in ("PERMISSIVE", "DISABLE"):
            strict = False
        ports = [_port_mode(m) for m in wl.port_level.values()]
        if wl.port_level:
            pk = f"{wl.meta.namespace}/{PA_PREFIX}{wl.meta.name}"
            if wm == "STRICT":
                if any(m in ("PERMISSIVE", "DISABLE") for m in ports):
                    port_key, strict = pk, False
            elif wm in ("PERMISSIVE", "DISABLE"):
                if "STRICT" in ports:
                    port_key = pk
            elif strict:
                if "PERMISSIVE" in ports:
                    port_key, strict = pk, False
            elif "STRICT" in ports:
                port_key = pk
    keys = sorted(({f"{root_namespace}/{STATIC_STRICT}"} if strict else set()) | ({port_key} if port_key else set()))
    for level, p in (("mesh", mesh), ("namespace", nsp), ("workload", wl)):
        if p is not None and p.mode == "DISABLE":
            notes.append(f"{level} PeerAuthentication {p.meta.key} is DISABLE: ignored in ambient (HBONE is always "
                         "mTLS, plaintext is accepted as under PERMISSIVE)")
    eff = "STRICT" if strict else "PERMISSIVE"
    return PeerAuthnResolution(keys, eff, mesh, nsp, wl, notes)


def peer_authentication_policies(pas: list[o.PeerAuthentication],
                                 root_namespace: str = "istio-system") -> list[Authorization]:
    """Every ztunnel policy istiod derives from PeerAuthentications: the static STRICT DENY plus one converted
    policy per workload PA with port-level mTLS (each merged with its namespace's and the mesh's PA)."""
    out = [static_strict_policy(root_namespace)]
    mesh = _oldest([p for p in pas if p.meta.namespace == root_namespace and not p.selector])
    for pa in pas:
        if pa.selector is None or pa.meta.namespace == root_namespace:
            continue
        nsp = _oldest([p for p in pas if p.meta.namespace == pa.meta.namespace and not p.selector])
        conv = convert_peer_authentication(pa, nsp, mesh, root_namespace)
        if conv is not None:
            out.append(conv)
    return out


# --- reading ztunnel's and istiod's serialized forms -----------------------------------------------------------

_SCOPES = {"GLOBAL": GLOBAL, "NAMESPACE": NAMESPACE, "WORKLOAD_SELECTOR": WORKLOAD_SELECTOR,
           "Global": GLOBAL, "Namespace": NAMESPACE, "WorkloadSelector": WORKLOAD_SELECTOR}
_ACTIONS = {"ALLOW": ALLOW, "DENY": DENY, "Allow": ALLOW, "Deny": DENY}
_SNAKE = {v: k for k, v in CAMEL.items()}


def _string_match(d: Any, where: str) -> StringMatch:
    if isinstance(d, dict) and len(d) == 1:
        (k, v), = d.items()
        kind = k.lower() if isinstance(k, str) else ""
        if kind in ("exact", "prefix", "suffix"):
            return StringMatch(kind, str(v))
        if kind == "presence":
            return StringMatch("presence")
    raise InputError(f"{where}: not a string match (expected one of Exact/Prefix/Suffix/Presence): {d!r:.80}")


def _cidr(d: Any, where: str) -> Cidr:
    try:
        if isinstance(d, dict):  # istiod proto YAML: base64 bytes + length
            raw = base64.b64decode(d.get("address", ""))
            ip = ipaddress.ip_address(raw)
            return Cidr.make(str(ip), int(d.get("length", ip.max_prefixlen)))
        return Cidr.parse(str(d))  # ztunnel: "10.0.0.0/8"
    except (ValueError, TypeError, OverflowError) as e:
        raise InputError(f"{where}: not an IP range: {d!r:.80} ({e})") from None


def _match(d: Any, where: str) -> Match:
    if not isinstance(d, dict):
        raise InputError(f"{where}: a match must be a mapping, not {type(d).__name__}")
    kw: dict[str, Any] = {}
    for k, v in d.items():
        f = _SNAKE.get(k, k if k in MATCH_FIELDS else None)
        if f is None:
            raise InputError(f"{where}: unknown match field {k!r}")
        vals = v or []
        w = f"{where}.{k}"
        if not isinstance(vals, list):
            raise InputError(f"{w}: must be a list, not {type(vals).__name__}")
        if f.endswith("namespaces") or f.endswith("principals"):
            kw[f] = tuple(_string_match(x, w) for x in vals)
        elif f.endswith("service_accounts"):
            if not all(isinstance(x, dict) for x in vals):
                raise InputError(f"{w}: each entry must be a mapping with namespace and serviceAccount")
            kw[f] = tuple(ServiceAccountMatch(str(x.get("namespace", "")), str(x.get("serviceAccount",
                          x.get("service_account", "")))) for x in vals)
        elif f.endswith("_ips"):
            kw[f] = tuple(_cidr(x, w) for x in vals)
        else:
            if not all(type(x) is int and 0 <= x <= 65535 for x in vals):
                raise InputError(f"{w}: ports must be integers between 0 and 65535: {vals!r:.80}")
            kw[f] = tuple(vals)
    return Match(**kw)


def _seq(v: Any, where: str) -> list[Any]:
    """A list field of a serialized policy (null: empty)."""
    if v is None:
        return []
    if not isinstance(v, list):
        raise InputError(f"{where}: must be a list, not {type(v).__name__}")
    return v


def _map(v: Any, where: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise InputError(f"{where}: must be a mapping, not {type(v).__name__}")
    return v


def parse_authorization(d: Any, where: str = "policy") -> Authorization:
    """One policy in any serialized form: ztunnel `/config_dump` `policies[]` (camelCase, `rules`), ztunnel
    local-config (also the 2023 `groups` and snake_case forms), or istiod's proto YAML (`groups[].rules[].matches`,
    base64 addresses, `WORKLOAD_SELECTOR`; action absent = ALLOW, scope absent = GLOBAL as proto defaults)."""
    if not isinstance(d, dict):
        raise InputError(f"{where}: a policy must be a mapping, not {type(d).__name__}")
    name = str(d.get("name", ""))
    w = f"{where} ({d.get('namespace', '')}/{name})"
    rules: list[Rule] = []
    groups = d.get("rules") if "rules" in d else d.get("groups")
    for i, g in enumerate(_seq(groups, f"{w}.rules")):
        if isinstance(g, dict):  # istiod: {rules: [{matches: [...]}]}
            clauses = tuple(tuple(_match(m, f"{w}.groups[{i}].rules[{j}].matches[{k}]")
                                  for k, m in enumerate(_seq(_map(c, f"{w}.groups[{i}].rules[{j}]").get("matches"),
                                                             f"{w}.groups[{i}].rules[{j}].matches")))
                            for j, c in enumerate(_seq(g.get("rules"), f"{w}.groups[{i}].rules")))
        else:  # ztunnel: [[match, ...], ...]
            clauses = tuple(tuple(_match(m, f"{w}.rules[{i}][{j}][{k}]")
                                  for k, m in enumerate(_seq(c, f"{w}.rules[{i}][{j}]")))
                            for j, c in enumerate(_seq(g, f"{w}.rules[{i}]")))
        rules.append(clauses)
    scope = _SCOPES.get(str(d.get("scope", "GLOBAL")))
    action = _ACTIONS.get(str(d.get("action", "ALLOW")))
    if scope is None or action is None:
        raise InputError(f"{w}: unknown scope {d.get('scope')!r} or action {d.get('action')!r}")
    return Authorization(name, str(d.get("namespace", "")), scope, action, tuple(rules),
                         bool(d.get("dryRun", d.get("dry_run", False))))


def parse_policies(value: Any, where: str = "policies") -> list[Authorization]:
    """`policies` of a config dump or local config: a list (current), a map keyed by name (2023 dumps), or
    null/absent (no policies)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [parse_authorization(v, f"{where}[{k}]") for k, v in value.items()]
    if isinstance(value, list):
        return [parse_authorization(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise InputError(f"{where}: expected a list or a map of policies, not {type(value).__name__}")
