"""Join a prediction, decoded captures and proxy log events into one Trace: which hops the request really
crossed, the evidence for each (packet facts, log lines, CONNECT headers, the deciding policy), the observed
verdict, where observation and prediction disagree and what that suggests, and a short story a support engineer
can paste into a ticket.

How the pieces find each other (research/istio.md §2.5-§2.7, observability.md §5.6):
- log lines of one connection: `evidence.correlate`; lines that the time-based join leaves apart (a waypoint's
  start time is before an injected delay, the 1.18-1.21 hairpin's lines) are gathered by what they say about
  this request (client address, CONNECT authority, destination service/pod), then classified together;
- packets <-> log lines: the ztunnel access line's `src.addr`/`dst.addr` is the HBONE flow's 5-tuple; the
  CONNECT `:authority` is `dst.hbone_addr`; the CONNECT `traceparent` trace id is the `outbound{id=…}` /
  `inbound{id=…}` span id; otherwise overlapping time.
In-pod redirection means the HBONE leg leaves from the client pod's own netns, so a capture on the client pod's
eth0 is evidence for the source ztunnel's tunnel, and a capture on the server pod's loopback shows what the
destination ztunnel delivered to the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ambientctl.decode import DecodeResult, Flow, Tunnel
from ambientctl.evidence import (
    AccessEvent,
    DecisionEvent,
    LogEvent,
    PolicyEvent,
    RawLine,
    RouteEvent,
    WaypointAccessEvent,
    compare,
    correlate,
)
from ambientctl.evidence.correlate import Connection, classify
from ambientctl.evidence.events import addr_ip, split_addr
from ambientctl.words import count

WINDOW_S = 2.0


@dataclass
class CaptureEvidence:
    """One capture: where it was taken and what it decoded to (`result` None when it could not be read)."""

    file: str
    pod: str  # ns/name of the pod whose netns was captured
    interface: str = "eth0"
    leg: str = ""  # client-hbone | server-app | ...
    keylog: str | None = None
    result: DecodeResult | None = None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {"file": self.file, "pod": self.pod, "interface": self.interface, "leg": self.leg,
             "keylog": self.keylog}
        if self.result is not None:
            d["packets"] = self.result.packets
            d["flows"] = len(self.result.flows)
        if self.error:
            d["error"] = self.error
        return d


@dataclass
class _Ctx:
    explanation: dict[str, Any]
    captures: list[CaptureEvidence]
    events: list[LogEvent]
    src_ip: str
    dst_ips: set[str]
    notes: list[str] = field(default_factory=list)


def _short(name: str) -> str:
    return name.split("/", 1)[-1]


def _pod_of(ref: dict[str, Any]) -> str:
    return f"{ref.get('namespace')}/{ref.get('name')}" if ref.get("namespace") and ref.get("name") else ""


def _trace_id(traceparent: str | None) -> str:
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 else ""


# -- which log lines are about this request --------------------------------------------------------------------
def _relevant(conn: Connection, ctx: _Ctx, tunnels: list[Tunnel]) -> bool:
    exp = ctx.explanation
    dst = exp.get("destination") or {}
    service = dst.get("host") or ""
    endpoint_pods = {_short(e) for e in [exp.get("endpoint") or ""] if e}
    trace_ids = {_trace_id(s.header("traceparent")) for t in tunnels for s in t.streams} - {""}
    if trace_ids & set(conn.trace_ids):
        return True
    for e in conn.events:
        addrs: list[str] = []
        if isinstance(e, AccessEvent):
            addrs = [e.src_addr, e.dst_addr, e.hbone_addr]
            if e.src_workload and e.src_workload == (exp.get("source") or {}).get("name"):
                return True
            if e.dst_workload in endpoint_pods and e.service == service:
                return True
        elif isinstance(e, RouteEvent):
            addrs = [e.src_addr, e.dst_addr]
        elif isinstance(e, DecisionEvent):
            addrs = [e.src_ip, e.dst_addr]
        elif isinstance(e, WaypointAccessEvent):
            addrs = [e.downstream_remote_address, e.upstream_addr]
            if service and e.cluster_service == service and addr_ip(e.downstream_remote_address) in (
                    ctx.src_ip, ""):
                return True
        if ctx.src_ip and any(addr_ip(a) == ctx.src_ip for a in addrs if a):
            return True
        if any(addr_ip(a) in ctx.dst_ips and split_addr(a)[1] not in (15008, None) for a in addrs if a):
            return True
    return False


# -- packet facts ----------------------------------------------------------------------------------------------
def _flow_fact(f: Flow) -> str:
    close = ", ".join([f"RST by {' + '.join(f.rst_by)}"] if f.rst_by else []) or (
        f"closed by FIN ({' + '.join(f.fin_by)})" if f.fin_by else "still open when the capture ended")
    proto = f.protocol or "tcp"
    extra = ""
    if f.tls is not None:
        extra = f", {f.tls.version or 'TLS'}" + (f", ALPN {f.tls.alpn or '/'.join(f.tls.alpn_offered)}"
                                                  if f.tls.alpn or f.tls.alpn_offered else "")
    if f.http_request:
        extra += f", {f.http_request!r}" + (f" → {f.http_status!r}" if f.http_status else " (no response)")
    dur = f.last_ts - f.first_ts
    return (f"TCP {f.client[0]}:{f.client[1]} → {f.server[0]}:{f.server[1]} ({proto}{extra}): handshake "
            f"{f.handshake}, {f.client_packets}/{f.server_packets} packets, {dur:.3f} s, {close}")


def _tunnel_facts(t: Tunnel) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ids = ""
    if t.client_identities or t.server_identities:
        ids = (f"; certificates: client {', '.join(t.client_identities) or '?'}, server "
               f"{', '.join(t.server_identities) or '?'}")
    if not t.decrypted:
        out.append({"kind": "packet", "flow": t.flow_id,
                    "summary": f"HBONE (TLS to :15008, ALPN h2) {t.client[0]}:{t.client[1]} → {t.server[0]}:"
                               f"{t.server[1]}; encrypted — no key log, so no CONNECT headers{ids}"})
        return out
    for s in t.streams:
        if not s.is_connect:
            continue
        status = s.status if s.status is not None else ("reset (" + (s.rst_code or "?") + ")" if s.rst_code
                                                        else "no answer")
        headers = {k: v for k, v in s.request_headers if not k.startswith(":")}
        out.append({"kind": "connect", "flow": t.flow_id, "stream": s.stream_id, "authority": s.authority,
                    "status": s.status, "headers": headers, "innerRequest": s.inner_request,
                    "innerStatus": s.inner_status,
                    "summary": f"CONNECT {s.authority} → {status} (stream {s.stream_id}, tunnel {t.client[0]}:"
                               f"{t.client[1]} → {t.server[0]}:{t.server[1]}){ids}"})
    return out


def _log_fact(e: LogEvent) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": "log", "source": e.source, "line": e.line_no, "text": e.raw}
    if e.error is not None:
        d["error"] = e.error.code
    if e.trace_id:
        d["traceId"] = e.trace_id
    return d


# -- the trace -------------------------------------------------------------------------------------------------
def build_trace(explanation: dict[str, Any], captures: list[CaptureEvidence], events: list[LogEvent], *,
                log_sources: dict[str, str] | None = None, client: dict[str, Any] | None = None,
                artifacts: dict[str, Any] | None = None, missing: list[str] | None = None,
                notes: list[str] | None = None) -> dict[str, Any]:
    """The Trace body. `log_sources`: every proxy whose log was read -> its role (src-ztunnel, dst-ztunnel,
    waypoint), so an empty log is evidence too; `client`: what the fired request returned (exit, status,
    error, body); `missing`: evidence that could not be obtained, with why."""
    exp = explanation
    src = exp.get("source") or {}
    hops = exp.get("hops") or []
    dst_ips = {h.get("ip") for h in hops if h.get("component") == "server" and h.get("ip")}
    dst_ips |= {ip for ip in [(exp.get("destination") or {}).get("ip")] if ip}
    ctx = _Ctx(exp, captures, [e for e in events if not isinstance(e, RawLine)], src.get("ip") or "",
               {ip for ip in dst_ips if ip})
    missing = list(missing or [])
    tunnels = [t for c in captures if c.result for t in c.result.tunnels]

    conns = [c for c in correlate(ctx.events) if _relevant(c, ctx, tunnels)]
    related = [e for c in conns for e in c.events]
    conn = classify(related) if related else None
    packet = _packet_observation(ctx)

    observed_path = conn.path if conn and conn.path != "unknown" else packet.get("path", "unknown")
    verdict, enforced, decided, reasons = "unknown", "", None, []
    if conn is not None:
        verdict, enforced, decided, reasons = conn.verdict, conn.enforced_by, conn.decided_by, list(conn.reasons)
    if verdict in ("unknown", "allow") and packet.get("verdict") == "deny":
        verdict, enforced = "deny", packet["enforcedBy"]
        decided = decided or {"unknown": True}
        reasons.append(packet["reason"])
    elif verdict == "unknown" and packet.get("verdict"):
        verdict, enforced = packet["verdict"], packet.get("enforcedBy", "")
        reasons.append(packet["reason"])
    if verdict == "unknown" and client:
        verdict = _client_verdict(client)
        if verdict != "unknown":
            reasons.append("only the client's result tells: " + _client_sentence(client))

    probe = conn or Connection(id="", path=observed_path, verdict=verdict, enforced_by=enforced,
                               decided_by=decided)
    probe.path, probe.verdict, probe.enforced_by, probe.decided_by = observed_path, verdict, enforced, decided
    disagreements = [d.to_dict() for d in compare(probe, exp)]

    observed_hops = _observed_hops(ctx, conn, related, packet, verdict, enforced, log_sources or {}, client)
    if not captures:
        missing.append("packets: no capture for this trace")
    if not events and not log_sources:
        missing.append("proxy logs: none were read")
    agreement = "agree" if not disagreements else "disagree"
    if verdict == "unknown":
        agreement = "unknown"
    body: dict[str, Any] = {
        "explanation": exp,
        "observed": {"path": observed_path, "verdict": verdict, "enforcedBy": enforced or None,
                     "decidedBy": decided, "reasons": reasons, "hops": observed_hops,
                     "error": conn.error.to_dict() if conn and conn.error else None,
                     "client": client},
        "agreement": {"result": agreement, "disagreements": disagreements},
        "artifacts": artifacts or {"directory": None, "files": []},
        "missing": missing,
        "notes": list(notes or []),
    }
    body["story"] = _story(body, conn, packet)
    return body


def _client_verdict(client: dict[str, Any]) -> str:
    status = client.get("status")
    if status in (401, 403) or client.get("exit") in (52, 56):
        return "deny"
    if isinstance(status, int) and status < 400:
        return "allow"
    return "unknown"


def _client_sentence(client: dict[str, Any]) -> str:
    if client.get("error"):
        return f"the client saw {client['error']!r} (exit {client.get('exit')})"
    if client.get("status") is not None:
        body = f" {client['body']!r}" if client.get("body") else ""
        return f"the client got HTTP {client['status']}{body}"
    return f"the client exited {client.get('exit')}"


def _packet_observation(ctx: _Ctx) -> dict[str, Any]:
    """What the packets alone say: the HBONE next hop, the CONNECT status, whether the app got anything."""
    out: dict[str, Any] = {}
    hops = ctx.explanation.get("hops") or []
    wp_ips = {h.get("ip") for h in hops if h.get("component") == "src-ztunnel"} if any(
        h.get("component") == "waypoint" for h in hops) else set()
    for c in ctx.captures:
        if c.result is None:
            continue
        for t in c.result.tunnels:
            if ctx.src_ip and t.client[0] != ctx.src_ip:
                continue
            if t.server[0] in wp_ips:
                out["path"] = "via-waypoint"
            elif t.server[0] in ctx.dst_ips:
                out["path"] = "direct-hbone"
            for s in t.streams:
                if s.is_connect and s.status is not None:
                    out["connectStatus"] = s.status
                    if s.status == 401:
                        out.update(verdict="deny", enforcedBy="dst-ztunnel",
                                   reason=f"the CONNECT for {s.authority} was answered 401 by the destination "
                                   "ztunnel (seen in the decrypted capture)")
                    elif s.status == 200 and "verdict" not in out:
                        out.update(verdict="allow", enforcedBy="",
                                   reason=f"the CONNECT for {s.authority} was answered 200 (decrypted capture)")
        if c.leg.startswith("server") or c.pod == ctx.explanation.get("endpoint"):
            app = [f for f in c.result.flows if f.role != "hbone" and f.server[0] in ctx.dst_ips]
            out.setdefault("serverFlows", []).extend(app)
            out["serverCaptured"] = True
        else:
            for f in c.result.flows:
                if f.role != "hbone" and not f.tls and f.client[0] == ctx.src_ip and f.protocol == "http/1.x":
                    out.setdefault("path", "plaintext-passthrough")
    return out


def _matches_hop(source: str, hop: dict[str, Any]) -> bool:
    name = _short(hop.get("name") or "")
    return bool(source) and bool(name) and (source == name or source.startswith(name + "-"))


def _observed_hops(ctx: _Ctx, conn: Connection | None, related: list[LogEvent], packet: dict[str, Any],
                   verdict: str, enforced: str, log_sources: dict[str, str],
                   client: dict[str, Any] | None) -> list[dict[str, Any]]:
    exp = ctx.explanation
    hops = exp.get("hops") or []
    out: list[dict[str, Any]] = []
    decided_at: int | None = None
    if verdict == "deny" and enforced:
        decided_at = next((i for i, h in enumerate(hops) if h["component"] == enforced), None)
    seen_component: set[str] = set()
    for i, h in enumerate(hops):
        comp = h["component"]
        evidence: list[dict[str, Any]] = []
        repeat = comp in seen_component
        seen_component.add(comp)
        if comp == "client":
            if client:
                evidence.append({"kind": "client", "summary": _client_sentence(client), **client})
        elif comp == "src-ztunnel":
            evidence += [_log_fact(e) for e in related if _matches_hop(e.source, h)
                         and (not isinstance(e, AccessEvent) or e.direction == "outbound")]
            for c in ctx.captures:
                if c.result is None or c.leg.startswith("server"):
                    continue
                for t in c.result.tunnels:
                    if not ctx.src_ip or t.client[0] == ctx.src_ip:
                        for f in [c.result.flow(t.flow_id)]:
                            evidence.append({"kind": "packet", "capture": c.file, "flow": f.id,
                                             "summary": f"{c.pod} {c.interface}: {_flow_fact(f)}"})
                        evidence += [dict(x, capture=c.file) for x in _tunnel_facts(t)]
            if not any(x["kind"] in ("log", "packet") for x in evidence):
                quiet = [s for s, role in log_sources.items() if role == "src-ztunnel" and _matches_hop(s, h)]
                if quiet:
                    evidence.append({"kind": "absence", "summary": f"{quiet[0]} logged nothing for this request "
                                     "in the time window"})
        elif comp == "waypoint":
            evidence += [_log_fact(e) for e in related if isinstance(e, WaypointAccessEvent)]
            if not any(x["kind"] == "log" for x in evidence):
                wp_logs = [s for s, role in log_sources.items() if role == "waypoint"]
                if wp_logs:
                    evidence.append({"kind": "absence", "summary": f"{', '.join(wp_logs)} logged nothing for this "
                                     "request in the time window"})
        elif comp == "dst-ztunnel":
            if not repeat:
                evidence += [_log_fact(e) for e in related if _matches_hop(e.source, h) and (
                    not isinstance(e, AccessEvent) or e.direction == "inbound"
                    or isinstance(e, (RouteEvent, PolicyEvent, DecisionEvent)))]
                status = packet.get("connectStatus")
                if status is not None and not any(hh["component"] == "waypoint" for hh in hops):
                    evidence.append({"kind": "packet", "summary": f"answered the CONNECT with {status} (decrypted "
                                     "capture of the HBONE tunnel)"})
            if not any(x["kind"] == "log" for x in evidence):
                quiet = [s for s, role in log_sources.items() if role == "dst-ztunnel" and _matches_hop(s, h)]
                if quiet:
                    evidence.append({"kind": "absence", "summary": f"{quiet[0]} logged nothing for this request "
                                     "in the time window"})
        elif comp == "server":
            for c in ctx.captures:
                if c.result is None or not (c.leg.startswith("server") or c.pod == h.get("name")):
                    continue
                flows = [f for f in c.result.flows if f.server[0] in ctx.dst_ips or f.server[1] == h.get("port")]
                if flows:
                    evidence += [{"kind": "packet", "capture": c.file, "flow": f.id,
                                  "summary": f"{c.pod} {c.interface}: {_flow_fact(f)}"} for f in flows]
                else:
                    evidence.append({"kind": "absence", "capture": c.file,
                                     "summary": f"capture on {c.pod} {c.interface} ({count(c.result.packets, 'packet')}): "
                                     "nothing reached the application"})
        if i == decided_at and exp.get("policy") and exp.get("verdict") == verdict:
            pol = exp["policy"]
            evidence.append({"kind": "policy", "policy": f"{pol.get('namespace')}/{pol.get('name')}",
                             "action": pol.get("action"), "rule": (exp.get("decidedBy") or {}).get("rule"),
                             "says": pol.get("says", []),
                             "summary": f"AuthorizationPolicy {pol.get('namespace')}/{pol.get('name')} "
                                        f"({pol.get('action')}): " + "; ".join(pol.get("says", []))})
        if decided_at is not None and i > decided_at:
            status = "not reached"
        elif decided_at is not None and i == decided_at:
            status = "denied here"
        elif any(x["kind"] in ("log", "packet", "connect", "client") for x in evidence):
            status = "seen"
        elif any(x["kind"] == "absence" for x in evidence):
            status = "nothing seen"
        else:
            status = "no evidence"
        if comp == "waypoint" and conn is not None and conn.path == "direct-hbone":
            status = "skipped"
        out.append({"component": comp, "name": h.get("name"), "node": h.get("node"), "status": status,
                    "evidence": evidence})
    if conn is not None and conn.path in ("via-waypoint", "hairpin-via-waypoint") and not any(
            h["component"] == "waypoint" for h in hops):
        wp = conn.waypoint_workload or next((e.source for e in related if isinstance(e, WaypointAccessEvent)), "")
        out.insert(2, {"component": "waypoint", "name": wp, "node": None, "status": "seen (not predicted)",
                       "evidence": [_log_fact(e) for e in related if isinstance(e, WaypointAccessEvent)]})
    return out


def _who(exp: dict[str, Any], component: str) -> str:
    h = next((h for h in exp.get("hops") or [] if h["component"] == component), None)
    label = {"dst-ztunnel": "the destination ztunnel", "src-ztunnel": "the source ztunnel",
             "waypoint": "the waypoint"}.get(component, component)
    return f"{label} ({h['name']})" if h else label


def _story(body: dict[str, Any], conn: Connection | None, packet: dict[str, Any]) -> list[str]:
    exp = body["explanation"]
    obs = body["observed"]
    s = exp.get("source") or {}
    src = (f"{s['namespace']}/{s['name']}" if s.get("namespace") and s.get("name") else s.get("ip")) or "the client"
    dst = exp.get("destination") or {}
    req = exp.get("request") or {}
    target = f"{dst.get('name') or dst.get('ip')}:{dst.get('port') or req.get('port')}"
    what = f"{req.get('method', '')} {req.get('path', '')}".strip() if req.get("protocol") == "http" else "TCP"
    out: list[str] = []
    verdict = obs["verdict"]
    pol = exp.get("policy") or {}
    pol_name = f"AuthorizationPolicy {pol.get('namespace')}/{pol.get('name')}" if pol else ""
    if verdict == "deny":
        where = _who(exp, obs.get("enforcedBy") or "")
        why = ""
        if pol_name and exp.get("verdict") == "deny" and exp.get("enforcedBy") == obs.get("enforcedBy"):
            says = "; ".join(pol.get("says", []))
            why = f": {pol_name} allows only {says.split(': ', 1)[-1]}" if pol.get("action") == "ALLOW" else \
                f": {pol_name} ({says})"
        out.append(f"{src} → {target} {what}: denied by {where}{why}.")
    elif verdict == "allow":
        out.append(f"{src} → {target} {what}: allowed" + (
            f", decided at {_who(exp, exp.get('enforcedBy'))} by {pol_name}" if pol_name and
            exp.get("verdict") == "allow" and exp.get("enforcedBy") not in (None, "none") else "") + ".")
    elif verdict == "failed":
        err = obs.get("error") or {}
        out.append(f"{src} → {target} {what}: failed before any policy decided — {err.get('meaning', '')}".rstrip(
            " —") + ".")
    else:
        out.append(f"{src} → {target} {what}: no verdict could be observed (see missing evidence).")
    path_words = {"direct-hbone": "straight over HBONE (mTLS, port 15008) from the source ztunnel to the "
                  "destination ztunnel", "via-waypoint": "over HBONE through the waypoint",
                  "hairpin-via-waypoint": "as plaintext to the destination ztunnel, which hairpinned it through "
                  "the waypoint (1.18-1.21)", "plaintext-passthrough": "as plaintext, with no HBONE"}
    if obs["path"] in path_words:
        out.append(f"It travelled {path_words[obs['path']]}" + (
            ", as predicted." if obs["path"] == exp.get("path") else f", where {exp.get('path')} was predicted."))
    facts: list[str] = []
    for h in obs["hops"]:
        for ev in h["evidence"]:
            if ev["kind"] == "connect" and ev.get("status") is not None:
                facts.append(f"{src}'s CONNECT for {ev['authority']} got {ev['status']}")
                break
    err = obs.get("error") or {}
    wp_deny = next((w for w in (conn.waypoint if conn else []) if w.response_code == 403), None)
    if wp_deny is not None:
        facts.append(f"{wp_deny.source or 'the waypoint'} answered 403 ({wp_deny.response_code_details})")
    elif err.get("text"):
        reporter = next((e.source for e in (conn.events if conn else []) if e.error is not None and
                         e.error.code == err.get("code")), "")
        facts.append(f"{reporter or 'the proxy'} logged {err['text']!r}")
    if conn is not None:
        for w in conn.waypoint:
            if "DI" in w.response_flags and w.duration_ms:
                facts.append(f"the waypoint delayed it by fault injection (request took {w.duration_ms / 1000:.1f} s,"
                             f" flag DI) and answered {w.response_code}")
    server = next((h for h in obs["hops"] if h["component"] == "server"), None)
    if server and server["status"] in ("seen",) and verdict == "allow":
        pk = next((e for e in server["evidence"] if e["kind"] == "packet"), None)
        if pk:
            facts.append("the application received the request (capture on the server pod)")
    if facts:
        out.append("Evidence: " + "; ".join(facts) + ".")
    client = obs.get("client")
    if client:
        out.append(_client_sentence(client)[0].upper() + _client_sentence(client)[1:] + ".")
    dis = body["agreement"]["disagreements"]
    if dis:
        out.append("Observation disagrees with the prediction: " + " ".join(d["suggestion"] for d in dis[:2]))
    elif body["agreement"]["result"] == "agree":
        where = f" at {exp['enforcedBy']}" if exp.get("enforcedBy") not in (None, "", "none") else ""
        out.append(f"This matches explain's prediction ({exp.get('verdict')}{where}, path {exp.get('path')}).")
    if body["missing"]:
        out.append("Missing: " + "; ".join(body["missing"]) + ".")
    return out[:6] if len(out) <= 6 else [*out[:5], out[-1]]
