"""Join log events from several proxies into connections, say which way each went and how it ended, and compare
that with what `explain` predicted.

How lines of one connection find each other (research/istio.md §2.5-§2.8, ztunnel `src/proxy/metrics.rs`):
- Lines inside ztunnel's connection spans share the span id (`outbound{id=…}` at the source, `inbound{id=…}` at
  the destination: the traceparent trace id of the HBONE request). ≤1.21 logged everything inside those spans.
- 1.22+ access lines are emitted with `parent: None`, so they carry no id. An outbound and an inbound access
  line are the same connection when the CONNECT authority (`dst.hbone_addr`) and the client IP agree and the
  times overlap (bytes, when both sides counted them, must mirror); via a waypoint the inbound line's source is
  the waypoint the outbound line went to, for the same service.
- Waypoint (Envoy) lines join on the upstream `envoy://connect_originate/<ip:port>` = the inbound CONNECT target,
  or on the authority/client address.

Paths use the names of the explain contract: direct-hbone, via-waypoint, plaintext-passthrough,
hairpin-via-waypoint (plus double-hbone and unknown, which explain does not predict).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ambientctl.evidence.errors import ErrorInfo
from ambientctl.evidence.events import (
    AccessEvent,
    DecisionEvent,
    LogEvent,
    PolicyEvent,
    RawLine,
    RouteEvent,
    WaypointAccessEvent,
    addr_ip,
    split_addr,
)

WINDOW_S = 2.0  # clock skew between nodes plus log buffering we tolerate when joining by time

FAILURE_FLAGS = {"UH", "UF", "UO", "NR", "URX", "NC", "UT", "UR", "UC", "LR", "DPE", "UPE", "DF"}


@dataclass
class Connection:
    id: str
    events: list[LogEvent] = field(default_factory=list)
    outbound: AccessEvent | None = None  # the source ztunnel's access line
    inbound: AccessEvent | None = None  # the destination ztunnel's access line
    waypoint: list[WaypointAccessEvent] = field(default_factory=list)
    path: str = "unknown"
    path_detail: str = ""
    verdict: str = "unknown"  # allow | deny | failed | unknown
    enforced_by: str = ""  # dst-ztunnel | src-ztunnel | waypoint
    decided_by: dict[str, Any] | None = None
    error: ErrorInfo | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def trace_ids(self) -> list[str]:
        return sorted({e.trace_id for e in self.events if e.trace_id})

    @property
    def start(self) -> float | None:
        ts = [e.time for e in self.events if e.time is not None]
        return min(ts) if ts else None

    @property
    def sources(self) -> list[str]:
        return sorted({e.source for e in self.events if e.source})

    @property
    def waypoint_workload(self) -> str:
        o = self.outbound
        if o is not None and self.path in ("via-waypoint", "hairpin-via-waypoint"):
            return o.dst_workload
        return ""

    def summary(self) -> dict[str, str]:
        """Who talked to whom, from whichever lines know it."""
        o, i = self.outbound, self.inbound
        src = (o and (o.src_workload or o.src_addr)) or (i and (i.src_workload or i.src_addr)) or ""
        dst = ""
        if i is not None:
            dst = i.dst_workload or i.hbone_addr or i.dst_addr
        elif o is not None:
            dst = o.hbone_addr or o.dst_workload or o.dst_addr
        for e in self.events:
            if not src and e.span_direction == "outbound" and e.proxied_workload:
                src = e.proxied_workload
            if e.span_direction == "inbound":
                sp = e.spans.get("inbound", {})
                src = src or sp.get("peer_id") or sp.get("peer") or sp.get("peer_ip", "")
                dst = dst or e.proxied_workload
            if isinstance(e, RouteEvent):
                src = src or e.src_addr
                dst = dst or e.dst_addr
            elif isinstance(e, DecisionEvent):
                src = src or e.src_identity or e.src_ip
                dst = dst or e.dst_addr
        if not dst and self.waypoint:
            dst = self.waypoint[0].authority or self.waypoint[0].upstream_addr
        service = (o and o.service) or (i and i.service) or (self.waypoint[0].cluster_service if self.waypoint else "")
        out = {"src": src, "dst": dst, "service": service}
        # 1.31 access lines name each side's cluster (multicluster ambient); older lines have none
        for key, attr in (("srcCluster", "src_cluster"), ("dstCluster", "dst_cluster")):
            v = next((getattr(e, attr) for e in (o, i) if e is not None and getattr(e, attr)), "")
            if v:
                out[key] = v
        return out

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, **self.summary(), "path": self.path, "verdict": self.verdict}
        if self.path_detail:
            d["pathDetail"] = self.path_detail
        if self.enforced_by:
            d["enforcedBy"] = self.enforced_by
        if self.decided_by is not None:
            d["decidedBy"] = self.decided_by
        if self.error is not None:
            d["error"] = self.error.to_dict()
        if self.waypoint_workload:
            d["waypoint"] = self.waypoint_workload
        if self.trace_ids:
            d["traceIds"] = self.trace_ids
        if self.sources:
            d["reporters"] = self.sources
        d["reasons"] = self.reasons
        d["evidence"] = [{"source": e.source, "line": e.line_no, "kind": e.kind} for e in self.events]
        return d


# -- grouping -------------------------------------------------------------------------------------------------
@dataclass
class _Leg:
    events: list[LogEvent]
    direction: str  # outbound | inbound | waypoint | ""
    source: str

    @property
    def access(self) -> AccessEvent | None:
        return next((e for e in self.events if isinstance(e, AccessEvent) and e.phase != "opened"),
                    next((e for e in self.events if isinstance(e, AccessEvent)), None))

    @property
    def time(self) -> float | None:
        ts = [e.time for e in self.events if e.time is not None]
        return min(ts) if ts else None

    @property
    def end(self) -> float | None:
        ts = [e.time for e in self.events if e.time is not None]
        return max(ts) if ts else None

    @property
    def trace_ids(self) -> set[str]:
        return {e.trace_id for e in self.events if e.trace_id}


def _start_of(a: AccessEvent) -> float | None:
    if a.time is None:
        return None
    return a.time - (a.duration_ms or 0) / 1000.0


def _close(t1: float | None, t2: float | None, slack: float) -> bool:
    return t1 is None or t2 is None or abs(t1 - t2) <= slack


def _same_source(a: str, b: str) -> bool:
    return not a or not b or a == b


def _legs(events: list[LogEvent], window: float) -> list[_Leg]:
    legs: list[_Leg] = []
    access_legs: list[_Leg] = []
    groups: dict[tuple[str, str], list[LogEvent]] = {}
    loose: list[LogEvent] = []
    for e in events:
        if isinstance(e, AccessEvent) and e.trace_id is None:
            leg = _Leg([e], e.direction, e.source)
            access_legs.append(leg)
        elif e.trace_id:
            groups.setdefault((e.source, e.trace_id), []).append(e)
        else:
            loose.append(e)
    # `connection opened` (debug) joins its `complete` line: same reporter, same addresses.
    merged: list[_Leg] = []
    for leg in access_legs:
        a = leg.events[0]
        assert isinstance(a, AccessEvent)
        if a.phase == "opened":
            mate = next((m for m in access_legs if m is not leg and isinstance(m.events[0], AccessEvent)
                         and m.events[0].phase != "opened" and m.source == leg.source
                         and m.events[0].src_addr == a.src_addr and m.events[0].dst_addr == a.dst_addr), None)
            if mate is not None:
                mate.events.insert(0, a)
                continue
        merged.append(leg)
    legs.extend(merged)
    # Span groups attach to the access line of the same reporter, direction and client, nearest in time.
    for (source, _tid), evs in groups.items():
        direction = next((e.span_direction for e in evs if e.span_direction), "")
        peer = next((e.spans.get("inbound", {}).get("peer") or e.spans.get("inbound", {}).get("peer_ip")
                     for e in evs if "inbound" in e.spans), "") or ""
        wl = next((e.proxied_workload for e in evs if e.proxied_workload), "")
        t0 = min((e.time for e in evs if e.time is not None), default=None)
        best: tuple[float, _Leg] | None = None
        for leg in merged:
            a = leg.access
            if a is None or a.trace_id or not _same_source(leg.source, source) or leg.trace_ids:
                continue
            if direction and a.direction and a.direction != direction:
                continue
            if peer and a.src_addr and addr_ip(peer) != addr_ip(a.src_addr):
                continue
            if wl and "/" in wl and a.direction == "outbound" and a.src_workload:
                ns, pod = wl.split("/", 1)
                if (a.src_namespace and a.src_namespace != ns) or a.src_workload != pod:
                    continue
            start = _start_of(a)
            if t0 is not None and start is not None and not (start - window <= t0 <= (a.time or t0) + window):
                continue
            dist = abs((t0 or 0) - (start or 0)) if t0 is not None and start is not None else window
            if best is None or dist < best[0]:
                best = (dist, leg)
        if best is not None:
            best[1].events.extend(evs)
        else:
            legs.append(_Leg(list(evs), direction, source))
    for e in loose:
        if isinstance(e, WaypointAccessEvent):
            legs.append(_Leg([e], "waypoint", e.source))
        elif isinstance(e, (PolicyEvent, DecisionEvent, RouteEvent)) or e.error is not None:
            legs.append(_Leg([e], e.span_direction or "", e.source))
    return legs


class _Union:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _pair_score(o: AccessEvent, i: AccessEvent, window: float) -> float | None:
    """How well an outbound line and an inbound line describe one connection; None if they cannot."""
    slack = window + max(o.duration_ms or 0, i.duration_ms or 0) / 1000.0
    if not _close(o.time, i.time, slack):
        return None
    score = 0.0
    direct = bool(o.hbone_addr) and addr_ip(o.hbone_addr) == addr_ip(o.dst_addr)
    if direct or not o.hbone_addr:
        target = o.hbone_addr or o.dst_addr
        if not (i.hbone_addr == target or addr_ip(i.dst_addr) == addr_ip(target) or i.dst_addr == target):
            return None
        if o.src_addr and i.src_addr and addr_ip(o.src_addr) != addr_ip(i.src_addr):
            return None
        score += 2
    else:  # via a waypoint: the inbound side sees the waypoint as its client
        if not o.dst_workload or i.src_workload != o.dst_workload:
            return None
        if o.service and i.service and o.service != i.service:
            return None
        score += 1
    if o.bytes_sent is not None and i.bytes_recv is not None:
        score += 1 if (o.bytes_sent, o.bytes_recv) == (i.bytes_recv, i.bytes_sent) else -0.5
    if o.time is not None and i.time is not None:
        score -= abs(o.time - i.time) / (slack or 1)
    return score


def _waypoint_score(w: WaypointAccessEvent, leg_events: list[LogEvent], window: float) -> float | None:
    out = next((e for e in leg_events if isinstance(e, AccessEvent) and e.direction == "outbound"), None)
    inn = next((e for e in leg_events if isinstance(e, AccessEvent) and e.direction == "inbound"), None)
    score = None
    if inn is not None and w.upstream_addr and inn.hbone_addr == w.upstream_addr:
        score = 3.0
    elif out is not None and out.hbone_addr and addr_ip(out.hbone_addr) != addr_ip(out.dst_addr):
        host = (w.authority or "").split(":")[0]
        svc = out.service
        if svc and (w.cluster_service == svc or (host and svc.split(".")[0] == host.split(".")[0])):
            score = 1.0
            if w.downstream_remote_address and out.src_addr and addr_ip(w.downstream_remote_address) == addr_ip(
                    out.src_addr):
                score += 1
    if score is None:
        return None
    ref = (inn or out)
    if ref is not None and not _close(w.time, ref.time, window + (ref.duration_ms or 0) / 1000.0):
        return None
    return score


def correlate(events: list[LogEvent], window: float = WINDOW_S) -> list[Connection]:
    """Group parsed ztunnel and waypoint events (from any number of proxies; set `source` on each so lines of
    different proxies are told apart) into connections, classified. Raw lines are ignored."""
    evs = [e for e in events if not isinstance(e, RawLine)]
    legs = _legs(evs, window)
    uf = _Union(len(legs))
    by_tid: dict[str, int] = {}
    for idx, leg in enumerate(legs):
        for tid in leg.trace_ids:
            if tid in by_tid:
                uf.union(idx, by_tid[tid])
            else:
                by_tid[tid] = idx
    # outbound <-> inbound access lines, best pairs first, each line used once
    outs = [(i, leg.access) for i, leg in enumerate(legs) if leg.access and leg.access.direction == "outbound"]
    ins = [(i, leg.access) for i, leg in enumerate(legs) if leg.access and leg.access.direction == "inbound"]
    cands = []
    for oi, o in outs:
        for ii, i in ins:
            if uf.find(oi) == uf.find(ii) or (legs[oi].source and legs[oi].source == legs[ii].source
                                              and o.dst_workload != i.dst_workload):
                continue
            assert o is not None and i is not None
            s = _pair_score(o, i, window)
            if s is not None:
                cands.append((s, oi, ii))
    used: set[int] = set()
    for _s, oi, ii in sorted(cands, key=lambda c: -c[0]):
        if oi in used or ii in used:
            continue
        used.update((oi, ii))
        uf.union(oi, ii)
    # 1.18-1.21 hairpin: plaintext accepted by the destination ztunnel, then sent by the same ztunnel to the
    # waypoint outside any outbound span (inbound_passthrough.rs calls proxy_to directly).
    def _route(leg: _Leg, kind: str) -> RouteEvent | None:
        return next((e for e in leg.events if isinstance(e, RouteEvent) and e.route_type == kind), None)

    for pi, pleg in enumerate(legs):
        accepted = _route(pleg, "InboundPlaintext")
        if accepted is None:
            continue
        for wi, wleg in enumerate(legs):
            sent = _route(wleg, "ToServerWaypoint")
            if (sent is not None and sent.span_direction != "outbound" and _same_source(pleg.source, wleg.source)
                    and sent.dst_addr == accepted.dst_addr and _close(sent.time, accepted.time, window)):
                uf.union(pi, wi)
                break
    # waypoint lines join the connection whose legs they explain
    for wi, leg in enumerate(legs):
        if leg.direction != "waypoint":
            continue
        w = leg.events[0]
        assert isinstance(w, WaypointAccessEvent)
        best: tuple[float, int] | None = None
        roots: dict[int, list[LogEvent]] = {}
        for j, other in enumerate(legs):
            if other.direction == "waypoint":
                continue
            roots.setdefault(uf.find(j), []).extend(other.events)
        for root, group in roots.items():
            s = _waypoint_score(w, group, window)
            if s is not None and (best is None or s > best[0]):
                best = (s, root)
        if best is not None:
            uf.union(wi, best[1])
    comps: dict[int, list[LogEvent]] = {}
    for idx, leg in enumerate(legs):
        comps.setdefault(uf.find(idx), []).extend(leg.events)
    conns = []
    for group in comps.values():
        group.sort(key=lambda e: (e.time if e.time is not None else float("inf"), e.source, e.line_no))
        conns.append(classify(group))
    conns.sort(key=lambda c: (c.start if c.start is not None else float("inf"), c.events[0].source,
                              c.events[0].line_no))
    for n, c in enumerate(conns, 1):
        c.id = c.trace_ids[0] if c.trace_ids else f"conn-{n}"
    return conns


# -- classification -------------------------------------------------------------------------------------------
def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def classify(events: list[LogEvent]) -> Connection:
    """Path and verdict of one connection from the events that describe it."""
    c = Connection(id="", events=events)
    c.outbound = next((e for e in events if isinstance(e, AccessEvent) and e.direction == "outbound"
                       and e.phase != "opened"), None)
    c.inbound = next((e for e in events if isinstance(e, AccessEvent) and e.direction == "inbound"
                      and e.phase != "opened"), None)
    c.waypoint = [e for e in events if isinstance(e, WaypointAccessEvent)]
    _classify_path(c)
    _classify_verdict(c)
    return c


def _classify_path(c: Connection) -> None:
    routes = [e for e in c.events if isinstance(e, RouteEvent)]
    o, i = c.outbound, c.inbound
    to_wp = next((r for r in routes if r.route_type == "ToServerWaypoint"), None)
    if to_wp is not None:
        plaintext_in = any(r.route_type == "InboundPlaintext" for r in routes)
        if plaintext_in or to_wp.span_direction != "outbound":
            c.path = "hairpin-via-waypoint"
            c.reasons.append(f"plaintext arrived for {to_wp.dst_addr} and the destination ztunnel sent it to its "
                             f"waypoint {to_wp.via} (1.18-1.21 hairpin)")
        else:
            c.path = "via-waypoint"
            c.reasons.append(f"the source ztunnel sent {to_wp.dst_addr} to the waypoint at {to_wp.via}")
        return
    for r in routes:
        if r.route_type in ("Direct", "DirectLocal"):
            c.path = "direct-hbone"
            c.path_detail = "same-node HBONE" if r.route_type == "DirectLocal" else ""
            c.reasons.append(f"HBONE straight to {r.via} for {r.dst_addr} (type {r.route_type})")
            return
        if r.route_type == "NodeLocal":
            c.path, c.path_detail = "direct-hbone", "node-local fast path (no HBONE on the wire)"
            c.reasons.append(f"source and destination on one node: ztunnel handed {r.dst_addr} over locally")
            return
        if r.route_type == "Passthrough":
            c.path = "plaintext-passthrough"
            c.reasons.append(f"plain TCP to {r.dst_addr}: the destination is not in the mesh as ztunnel sees it")
            return
    if o is not None and o.dst_addr:
        if not o.hbone_addr:
            c.path = "plaintext-passthrough"
            c.reasons.append(f"the source ztunnel sent plain TCP to {o.dst_addr} (no HBONE target): the "
                             "destination is outside the mesh or not captured")
        else:
            host, _ = split_addr(o.hbone_addr)
            if not _is_ip(host):
                c.path = "double-hbone"
                c.reasons.append(f"CONNECT to {o.hbone_addr} through {o.dst_addr}: double HBONE via an east-west "
                                 "gateway")
            elif host == addr_ip(o.dst_addr):
                c.path = "direct-hbone"
                c.reasons.append(f"HBONE to {o.dst_addr} carrying {o.hbone_addr}: straight to the destination pod")
            else:
                c.path = "via-waypoint"
                c.reasons.append(f"HBONE to {o.dst_workload or o.dst_addr} ({o.dst_addr}) carrying {o.hbone_addr}: "
                                 "through a waypoint")
        return
    if c.waypoint:
        c.path = "via-waypoint"
        c.reasons.append("a waypoint logged this request")
        return
    if i is not None:
        if not i.hbone_addr and not i.src_identity:
            c.path = "plaintext-passthrough"
            c.reasons.append(f"plaintext from {i.src_addr} arrived at the destination ztunnel (no identity, no "
                             "HBONE): the caller is outside the mesh, host-network, or a sidecar/non-ambient pod")
        elif "waypoint" in (i.src_workload or "") or "waypoint" in (i.src_identity or ""):
            c.path = "via-waypoint"
            c.reasons.append(f"the destination ztunnel's client is {i.src_workload or i.src_identity}, a waypoint "
                             "(source side not seen)")
        else:
            c.path = "direct-hbone"
            c.reasons.append(f"HBONE from {i.src_workload or i.src_addr} arrived at the destination ztunnel (source "
                             "side not seen)")
        return
    for r in routes:
        if r.route_type == "InboundHBONE":
            c.path = "direct-hbone"
            c.reasons.append(f"HBONE CONNECT for {r.dst_addr} from {r.src_addr} (source side not seen)")
            return
        if r.route_type == "InboundPlaintext":
            c.path = "plaintext-passthrough"
            c.reasons.append(f"plaintext from {r.src_addr} to {r.dst_addr} at the destination ztunnel")
            return
    if any(isinstance(e, DecisionEvent) and e.src_identity for e in c.events):
        c.path = "direct-hbone"
        c.path_detail = "inferred: the destination saw a peer identity"
    elif any(e.error is not None and e.error.code.startswith("hbone-status") for e in c.events):
        c.path_detail = "HBONE (the CONNECT got an HTTP status; the next hop was not logged)"


def _classify_verdict(c: Connection) -> None:
    policies = [e for e in c.events if isinstance(e, PolicyEvent) and not e.dry_run]
    deny_pol = next((p for p in policies if p.decision == "deny"), None)
    allow_pol = next((p for p in policies if p.decision == "allow"), None)
    no_match = next((p for p in policies if p.decision == "no-allow-matched"), None)
    errors = [e.error for e in c.events if e.error is not None]
    deny_err = next((x for x in errors if x.verdict == "deny" and x.where == "dst-ztunnel"
                     and x.code != "hbone-status-401"), None) or next((x for x in errors if x.verdict == "deny"), None)
    wp_deny = next((w for w in c.waypoint if w.response_code == 403 and (w.rbac_policy or w.rbac_no_match)), None)

    if deny_err is not None or deny_pol is not None or no_match is not None:
        c.verdict, c.enforced_by = "deny", (deny_err.where if deny_err and deny_err.where else "dst-ztunnel")
        c.error = deny_err
        policy = (deny_pol.policy if deny_pol else "") or (deny_err.policy if deny_err else "")
        if policy:
            c.decided_by = {"policy": policy}
        elif no_match is not None or (deny_err and deny_err.code in ("policy-not-allowed",)):
            c.decided_by = {"defaultDeny": []}
        elif deny_err and deny_err.code == "legacy-bypassed-waypoint":
            c.decided_by = {"builtin": "bypassed-waypoint"}
        c.reasons.append("denied at the destination ztunnel" + (f" by {policy}" if policy else "") +
                         (f": {deny_err.text}" if deny_err else ""))
        if deny_err is not None and deny_err.code == "hbone-status-401" and c.inbound is None:
            c.reasons.append("only the source side was seen: its CONNECT got 401 from the destination ztunnel")
        return
    if wp_deny is not None:
        c.verdict, c.enforced_by = "deny", "waypoint"
        if wp_deny.rbac_policy:
            c.decided_by = {"policy": wp_deny.rbac_policy}
            if wp_deny.rbac_rule is not None:
                c.decided_by["rule"] = wp_deny.rbac_rule
            c.reasons.append(f"the waypoint answered 403: policy {wp_deny.rbac_policy} rule {wp_deny.rbac_rule} "
                             "denied it")
        else:
            c.decided_by = {"defaultDeny": []}
            c.reasons.append("the waypoint answered 403: ALLOW policies exist there and none matched")
        c.error = ErrorInfo("waypoint-rbac-denied", "policy", "an AuthorizationPolicy at the waypoint denied the "
                            "request (HTTP 403, `RBAC: access denied`)", "read the targetRefs policies of the "
                            "destination service/waypoint", wp_deny.response_code_details, verdict="deny",
                            where="waypoint", policy=wp_deny.rbac_policy, http_status=403)
        return
    failure = next((x for x in errors if x.verdict != "deny"), None)
    if failure is not None:
        c.verdict, c.error = "failed", failure
        c.enforced_by = ""
        c.reasons.append(f"failed: {failure.text} ({failure.code})")
        return
    for w in c.waypoint:
        if "FI" in w.response_flags:
            c.verdict = "failed"
            c.error = ErrorInfo("waypoint-fault-abort", "fault", "the waypoint aborted the request by fault "
                                "injection (VirtualService/HTTPRoute fault.abort)", "remove or narrow the fault "
                                "rule if it is not intended", w.response_code_details, where="waypoint",
                                http_status=w.response_code)
            c.reasons.append(f"fault injection at the waypoint answered {w.response_code}")
            return
        failing = [f for f in w.response_flags if f in FAILURE_FLAGS]
        if failing or (w.response_code or 0) >= 500:
            c.verdict = "failed"
            c.error = ErrorInfo(f"waypoint-{(failing[0] if failing else str(w.response_code)).lower()}", "transport",
                                "the waypoint could not complete the request" + (
                                    f": {', '.join(failing)}" if failing else ""),
                                "check the destination endpoints and the waypoint's upstream cluster "
                                f"{w.upstream_cluster or '?'}", w.response_code_details or str(w.response_code),
                                where="waypoint", http_status=w.response_code)
            c.reasons.append(f"the waypoint answered {w.response_code} ({', '.join(w.response_flags) or '-'}, "
                             f"{w.response_code_details or '-'})")
            return
        if "DI" in w.response_flags:
            c.reasons.append("the waypoint delayed the request by fault injection")
    completed = [e for e in c.events if isinstance(e, (AccessEvent, RouteEvent, WaypointAccessEvent))]
    if completed:
        c.verdict = "allow"
        if allow_pol is not None:
            c.enforced_by, c.decided_by = "dst-ztunnel", {"policy": allow_pol.policy}
            c.reasons.append(f"allowed at the destination ztunnel by {allow_pol.policy}")


# -- observed vs predicted ------------------------------------------------------------------------------------
@dataclass
class Disagreement:
    field: str  # path | verdict | enforcedBy | decidedBy | hops
    predicted: Any
    observed: Any
    suggestion: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "predicted": self.predicted, "observed": self.observed,
                "suggestion": self.suggestion}


_PATH_HINTS: dict[tuple[str, str], str] = {
    ("via-waypoint", "direct-hbone"): "the client bypassed the waypoint — is it a sidecar, or was the waypoint not "
    "ready when the connection started? (Also: a pod-IP destination skips a service-only waypoint, and the "
    "source ztunnel may have had no waypoint for the destination — compare its config_dump.)",
    ("direct-hbone", "via-waypoint"): "ztunnel sent the connection through a waypoint the prediction did not "
    "expect: an istio.io/use-waypoint label the snapshot does not have, or a stale snapshot; compare the "
    "destination's waypoint in the ztunnel config_dump.",
    ("direct-hbone", "plaintext-passthrough"): "the traffic left without HBONE: the source is not captured (not "
    "enrolled, or started before istio-cni set it up) or ztunnel sees the destination as TCP, not HBONE "
    "(config_dump protocol) — check enrolment and config_dump drift.",
    ("via-waypoint", "plaintext-passthrough"): "the traffic left without HBONE and skipped the waypoint: the source "
    "is not captured, or ztunnel does not see the destination as an HBONE workload (config_dump drift).",
    ("plaintext-passthrough", "direct-hbone"): "the source is captured although the prediction says it is not: "
    "dataplane-mode labels in the snapshot differ from the live cluster.",
    ("plaintext-passthrough", "via-waypoint"): "the source is captured and uses a waypoint although the prediction "
    "says plaintext: dataplane-mode labels in the snapshot differ from the live cluster.",
    ("hairpin-via-waypoint", "plaintext-passthrough"): "the destination ztunnel did not hairpin the plaintext "
    "through the waypoint: the cluster may be 1.22+ (no hairpin) — check --istio-version.",
    ("hairpin-via-waypoint", "direct-hbone"): "the caller used HBONE directly: it is in the mesh after all "
    "(enrolment differs from the snapshot).",
    ("via-waypoint", "hairpin-via-waypoint"): "the caller did not know the waypoint and the destination ztunnel "
    "hairpinned it: the caller is outside the mesh or its ztunnel lacks the waypoint.",
    ("plaintext-passthrough", "hairpin-via-waypoint"): "the destination ztunnel hairpinned plaintext through its "
    "waypoint (1.18-1.21): the prediction assumed a version without hairpin — check --istio-version.",
}


def _same_path(pred: str, obs: str) -> bool:
    return pred == obs or {pred, obs} <= {"via-waypoint", "double-hbone"}


def compare(conn: Connection, prediction: dict[str, Any]) -> list[Disagreement]:
    """Where an observed connection differs from an explain-style prediction (keys `path`, `verdict`,
    `enforcedBy`, `decidedBy`, `hops`), each with what the difference suggests. Unknown observations are not
    disagreements."""
    out: list[Disagreement] = []
    pp, op = prediction.get("path"), conn.path
    if pp and op != "unknown" and not _same_path(pp, op):
        hint = _PATH_HINTS.get((pp, op), f"predicted {pp}, observed {op}: the snapshot and the live data path "
                                         "differ; compare config_dump drift")
        out.append(Disagreement("path", pp, op, f"predicted {pp}, observed {op}: {hint}"))
    pv, ov = prediction.get("verdict"), conn.verdict
    if pv and ov != "unknown" and pv != ov:
        out.append(Disagreement("verdict", pv, ov, _verdict_hint(pv, conn)))
    pe, oe = prediction.get("enforcedBy"), conn.enforced_by
    if pv == ov == "deny" and pe and oe and pe != oe:
        out.append(Disagreement("enforcedBy", pe, oe, _enforced_hint(pe, oe)))
    pd, od = prediction.get("decidedBy"), conn.decided_by
    if pv == ov == "deny" and pd and od and pe == oe:
        pp_, op_ = pd.get("policy"), od.get("policy")
        if pp_ and op_ and pp_ != op_:
            out.append(Disagreement("decidedBy", pd, od, f"{op_} decided, not {pp_}: the proxy has a policy the "
                                    "prediction did not weigh (stale snapshot, or config_dump policies differ)"))
        elif pp_ and op_ and pd.get("rule") is not None and od.get("rule") is not None and pd["rule"] != od["rule"]:
            out.append(Disagreement("decidedBy", pd, od, f"rule {od['rule']} of {op_} matched, not rule "
                                    f"{pd['rule']}: the request differs from the one explained (method, path, "
                                    "headers?)"))
        elif ("defaultDeny" in pd) != ("defaultDeny" in od) and (pp_ or op_):
            out.append(Disagreement("decidedBy", pd, od, "one side denied by an explicit DENY, the other because "
                                    "no ALLOW matched: the policy set differs between snapshot and proxy"))
    wp = next((h for h in prediction.get("hops") or [] if h.get("component") == "waypoint"), None)
    owp = conn.waypoint_workload
    if wp and owp and op in ("via-waypoint", "hairpin-via-waypoint"):
        pname = str(wp.get("name", "")).split("/")[-1]
        if pname and pname != owp and not owp.startswith(pname) and not pname.startswith(owp):
            out.append(Disagreement("hops", wp.get("name"), owp, f"waypoint {owp} carried the connection, not "
                                    f"{wp.get('name')}: another waypoint is bound (service vs namespace "
                                    "label) or the snapshot is stale"))
    return out


def _verdict_hint(pv: str, conn: Connection) -> str:
    e = conn.error
    if pv == "allow" and conn.verdict == "deny":
        by = conn.decided_by or {}
        who = by.get("policy") or ("no ALLOW rule matched" if "defaultDeny" in by else "an unnamed policy")
        return (f"predicted allow, but {conn.enforced_by or 'a proxy'} denied it ({who}): a policy the prediction "
                "did not weigh — stale snapshot, a policy only the proxy has (config_dump drift), or the proxy saw "
                "another identity (a waypoint's) than predicted")
    if pv == "deny" and conn.verdict == "allow":
        return ("predicted deny, but it was allowed: the denying policy has not reached the proxy (check "
                "config_dump policies), is in dry-run, or the connection started before the policy changed")
    if conn.verdict == "failed" and e is not None:
        return (f"predicted {pv}, but it failed before any verdict: {e.meaning} ({e.code}). Next: {e.next_step}")
    return f"predicted {pv}, observed {conn.verdict}"


def _enforced_hint(pe: str, oe: str) -> str:
    if pe == "waypoint" and oe == "dst-ztunnel":
        return ("the destination ztunnel denied it, not the waypoint: either the caller bypassed the waypoint, or "
                "the destination's ALLOW policies do not admit the waypoint's identity (ztunnel sees the waypoint, "
                "not the client, once a waypoint is in the path)")
    if pe == "dst-ztunnel" and oe == "waypoint":
        return ("the waypoint denied it: a targetRefs policy (or one attached to the waypoint) that the "
                "prediction did not apply, or the traffic went through a waypoint the prediction did not expect")
    return f"predicted enforcement at {pe}, observed at {oe}"
