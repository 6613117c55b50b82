"""`explain SRC DST`: the path a request takes, and who allows or denies it, by which policy and rule.

Composition only: explain/target.py resolves references, explain/path.py lays out hops and enforcement points
per Istio era, explain/routing.py applies the waypoint's L7 routes, explain/decide.py evaluates policy at each
enforcement point. The result is the Explanation body of design.md §2.
"""

from __future__ import annotations

from typing import Any

from ambientctl.explain import findings, wire
from ambientctl.explain.decide import Decision, decide
from ambientctl.explain.path import Party, Plan, plan
from ambientctl.explain.routing import HttpRequest, route_request
from ambientctl.explain.target import Target, resolve_source, resolve_target
from ambientctl.mesh.view import MeshView, WaypointBinding
from ambientctl.model import objects as o


def explain(view: MeshView, src_ref: str, dst_ref: str, *, namespace: str | None = None, port: int | None = None,
            protocol: str = "http", method: str = "GET", path: str = "/",
            headers: dict[str, str] | None = None, resolve: dict[str, str] | None = None) -> dict[str, Any]:
    """`resolve`: HOST -> IP, what the upstream resolver answers for names no ServiceEntry gives an address."""
    if src_ref == "kubelet" and _no_workload(view, src_ref, namespace):
        tgt = resolve_target(view, dst_ref, namespace, port)
        if tgt.endpoints:  # the kubelet of the node the destination runs on
            src_ref = f"node/{tgt.endpoints[0].node_name}"
    src = resolve_source(view, src_ref, namespace)
    tgt = resolve_target(view, dst_ref, namespace, port)
    return explain_resolved(view, src, tgt, protocol=protocol, method=method, path=path, headers=headers,
                            resolve=resolve)


def explain_resolved(view: MeshView, src: Party, tgt: Target, *, protocol: str = "http", method: str = "GET",
                     path: str = "/", headers: dict[str, str] | None = None,
                     resolve: dict[str, str] | None = None, with_findings: bool = True) -> dict[str, Any]:
    """`with_findings=False` skips matching the parties' findings to the flow (explain --matrix: verdicts only)."""
    if tgt.addressed == "external":
        return _explain_external(view, src, tgt, protocol, method, path, headers, resolve or {})
    req = HttpRequest(method.upper(), path, {k.lower(): v for k, v in (headers or {}).items()},
                      host=f"{tgt.service.meta.name}.{tgt.service.meta.namespace}.svc.cluster.local:{tgt.port}"
                      if tgt.service else f"{tgt.ip}:{tgt.port}")
    service = tgt.service if tgt.addressed == "service" else None

    endpoints: list[o.Pod | None] = list(tgt.endpoints) or [None]
    routing = None
    first_ep = endpoints[0]
    first = plan(view, src, first_ep, tgt.ip, tgt.port, tgt.target_port(first_ep) if first_ep else tgt.port, service)
    if first.waypoint is not None and service is not None and protocol == "http":
        routing = route_request(view, service, tgt.port, req)
        if routing is not None:
            routing["appliedBy"] = f"waypoint {first.waypoint.key}"
            chosen = [p for b in routing["backends"] for p in b["pods"]]
            if chosen:
                by_key = {p.meta.key: p for p in view.cluster.pods}
                endpoints = [by_key[k] for k in dict.fromkeys(chosen) if k in by_key] or endpoints

    results = []
    for ep in endpoints:
        if ep is first_ep:
            p = first
        else:
            p = plan(view, src, ep, tgt.ip, tgt.port, tgt.target_port(ep) if ep else tgt.port, service)
        results.append((ep, p, _evaluate(view, p, src, ep, tgt, req, protocol)))

    ep, p, (allowed, enforced_by, decided_by, check_reasons, d) = results[0]
    reasons = list(p.reasons) + check_reasons
    warnings = list(p.warnings)
    if d is not None:
        warnings += [w for w in d.warnings if w not in warnings]
    if not allowed and enforced_by != "networkpolicy":  # (a NetworkPolicy drop marks its own legs: _dropped)
        _mark_unreached(p, enforced_by)
    found: list[Any] = []
    if with_findings:
        found += findings.flow_findings(view, flow_of(src, tgt, ep, p), src.pod, ep, p.waypoint, service)
    found += p.findings + [f for r in results for f in (r[2][4].findings if r[2][4] is not None else [])]
    found += wire.ztunnel_findings(view, p)  # a ztunnel on the path cut off from istiod by a NetworkPolicy
    verdicts = {(r[2][0]) for r in results}
    if len(verdicts) > 1:
        denied = [r[0].meta.key for r in results if r[0] is not None and not r[2][0]]
        allowed_eps = [r[0].meta.key for r in results if r[0] is not None and r[2][0]]
        found.append(findings.flow_finding(
            "endpoints-disagree", "warning",
            f"endpoints disagree: allowed to {', '.join(allowed_eps)}, denied to {', '.join(denied)}; "
            "the verdict shown is for the first endpoint", [findings.ref("Pod", k) for k in allowed_eps + denied]))
    found_docs = findings.as_dicts(found)
    warnings += [x["message"] for x in found_docs if x["message"] not in warnings]
    body = _verdict(src, tgt.as_dict(view), tgt.port, req, protocol, allowed, p, enforced_by, decided_by, reasons,
                    warnings) | {
        "findings": found_docs,
        "routing": routing,
        "endpoint": ep.meta.key if ep is not None else None,
        "waypoint": waypoint_of_destination(view, tgt, ep, p),
    }
    if len(results) > 1:
        body["endpoints"] = [{"pod": r[0].meta.key if r[0] else None, "verdict": "allow" if r[2][0] else "deny",
                              "enforcedBy": r[2][1], "decidedBy": r[2][2]} for r in results]
    body["outcome"] = _allowed_outcome(routing) if allowed else (d.outcome if d else "")
    return _finish(view, body, d, allowed, enforced_by)


def _verdict(src: Party, destination: dict[str, Any], port: int, req: HttpRequest, protocol: str, allowed: bool,
             p: Plan, enforced_by: str, decided_by: dict[str, Any], reasons: list[str],
             warnings: list[str]) -> dict[str, Any]:
    """The head every Explanation shares, in the contract's key order."""
    return {
        "source": src.as_dict(),
        "destination": destination,
        "request": {"port": port, "protocol": protocol}
        | ({"method": req.method, "path": req.path} if protocol == "http" else {}),
        "verdict": "allow" if allowed else "deny",
        "path": p.path,
        "enforcedBy": enforced_by,
        "decidedBy": decided_by,
        "hops": [h.as_dict() for h in p.hops],
        "reasons": reasons,
        "warnings": warnings,
    }


def _finish(view: MeshView, body: dict[str, Any], d: Decision | None, allowed: bool,
            enforced_by: str) -> dict[str, Any]:
    """The tail every Explanation shares: the deciding policy and log line, what the source could not read, the
    behaviour model and where the cluster state came from."""
    body["warnings"] += unread_warnings(view)
    if d is not None:
        if d.policy is not None:
            body["policy"] = d.policy
        if d.network_policy is not None and not allowed:
            body["networkPolicy"] = d.network_policy
        if d.log and not allowed:
            body[d.log_field or ("ztunnelLog" if enforced_by == "dst-ztunnel" else "proxyLog")] = d.log
    body["istioVersion"] = view.version.label
    body["source"]["cluster"] = view.cluster.source
    return body


def unread_warnings(view: MeshView) -> list[str]:
    """What the source could not read (RBAC 403s): the answer is degraded and says so."""
    return [f"{kind} could not be read ({why}): this answer leaves them out and may be wrong"
            for kind, why in sorted(view.cluster.unreadable.items())]


def _no_workload(view: MeshView, ref: str, namespace: str | None) -> bool:
    from ambientctl.errors import NotFound

    try:
        resolve_source(view, ref, namespace)
    except NotFound:
        return True
    return False
def caller_kind(src: Party) -> str:
    """What kind of client opened the flow (findings.CALLERS)."""
    if src.kind == "Node":
        return "node"
    if src.role == "waypoint":
        return "waypoint"
    if src.role == "gateway":
        return "gateway"
    if src.mode == "sidecar":
        return "sidecar"
    return "mesh" if src.captured else "out-of-mesh"


def flow_of(src: Party, tgt: Target, ep: o.Pod | None, p: Plan) -> findings.Flow:
    service = tgt.service if tgt.addressed == "service" else None
    return findings.Flow(
        source=findings.ref("Pod", src.pod.meta.key) if src.pod is not None else None,
        caller=caller_kind(src),
        destination=findings.ref("Pod", ep.meta.key) if ep is not None else None,
        addressed_by={"service": "service", "pod": "pod-ip"}.get(tgt.addressed, "ip"),
        port=tgt.target_port(ep) if ep is not None else tgt.port,
        service=findings.ref("Service", service.meta.key) if service is not None else None,
        waypoint=findings.ref("Gateway", p.waypoint.key) if p.waypoint is not None else None)


def waypoint_of_destination(view: MeshView, tgt: Target, ep: o.Pod | None, p: Plan) -> dict[str, Any]:
    """explain's `waypoint`: the waypoint the destination is bound to for this address (1.22+: the service's for
    its VIP, the workload's for a pod IP; before: the workload's), with the istio.io/WaypointBound condition istiod
    writes for it (MeshView.waypoint_bound); `inPath` says whether this request goes through it; `weighted` lists
    the 1.31 canary split (primary first) when there is one."""
    b = None
    svc = tgt.service if tgt.addressed == "service" else None
    if svc is not None and view.version.current:
        b = view.service_waypoint(svc)
    elif ep is not None:
        b = view.workload_waypoint(ep)
    return binding_doc(view, b, svc, p)


def binding_doc(view: MeshView, b: WaypointBinding | None, svc: o.Service | None, p: Plan) -> dict[str, Any]:
    """`waypoint` for one binding (a Service's, a workload's or — for egress — a ServiceEntry's)."""
    if b is None:
        return {"name": None, "boundBy": None, "requested": None, "reason": None, "message": None, "inPath": False,
                "weighted": []}
    reason, message = view.waypoint_bound(b, svc)
    return {"name": b.waypoint.key if b.waypoint else None, "boundBy": b.bound_by or None,
            "requested": b.requested or (b.waypoint.key if b.waypoint else None), "reason": reason,
            "message": message,
            "inPath": p.waypoint is not None and b.waypoint is not None and p.waypoint.key == b.waypoint.key,
            "weighted": [{"name": n, "weight": w} for n, w in b.weighted]}


def _allowed_outcome(routing: dict[str, Any] | None) -> str:
    if routing and routing.get("fault"):
        f = routing["fault"]
        parts = []
        if "delay" in f:
            parts.append(f"delayed {f['delay']['fixedDelay']} ({f['delay']['percent']:g}% of requests) by fault "
                         "injection at the waypoint")
        if "abort" in f:
            parts.append(f"aborted with HTTP {f['abort']['httpStatus']} ({f['abort']['percent']:g}% of requests) by "
                         "fault injection at the waypoint")
        return "the request reaches the server, " + " and ".join(parts)
    return "the request reaches the server"


def _evaluate(view: MeshView, p: Plan, src, ep: o.Pod | None, tgt: Target, req: HttpRequest,  # type: ignore[no-untyped-def]
              protocol: str) -> tuple[bool, str, dict[str, Any], list[str], Decision | None]:
    """Walk the enforcement points in order; the first denial decides. Returns (allowed, enforcedBy,
    decidedBy, reasons, the deciding Decision)."""
    reasons: list[str] = []
    deciding: Decision | None = None
    if p.failure:  # data-path failures happen before any policy is consulted
        fail = Decision.data_path_failure(p.failure, p.failure_component)
        return False, p.failure_component, fail.decided_by, reasons + fail.reasons, fail
    # Kubernetes NetworkPolicy judges every leg on the wire; a leg dropped before a check decides first.
    legs = wire.legs(view, p, src, ep, tgt.ip, tgt.target_port(ep) if ep is not None else tgt.port)
    drop, verdicts = wire.check_legs(view, legs)
    np_warnings = list(dict.fromkeys(w for _, side in verdicts if side.selected_by for w in wire.cni_warnings(view, side)))
    if not view.version.in_pod_redirection and any(side.selected_by for _, side in verdicts):
        np_warnings.append(wire.NODE_LEVEL_CAVEAT.format(v=view.version))
    for check in p.checks:
        if drop is not None and drop.leg.receiver <= wire.hop_index(p, check.component):
            return _dropped(view, p, drop, reasons, protocol, np_warnings)
        if check.skip_reason:
            reasons.append(f"{check.component} {check.enforcer}: {check.skip_reason}")
            continue
        d = decide(view, check, src, ep, tgt, req, protocol)
        reasons += d.reasons
        if not d.allowed:
            return False, check.component, d.decided_by, reasons, d
        if check.deny_after:
            bypass = Decision.bypassed_waypoint(view, check)
            reasons += bypass.reasons
            return False, check.component, bypass.decided_by, reasons, bypass
        if "noPolicy" not in d.decided_by and deciding is None:
            deciding = d
            deciding_component = check.component
    if drop is not None:
        return _dropped(view, p, drop, reasons, protocol, np_warnings)
    reasons += [side.reason for _, side in verdicts if side.selected_by]
    if deciding is not None:
        if np_warnings:
            deciding.warnings += [w for w in np_warnings if w not in deciding.warnings]
        return True, deciding_component, deciding.decided_by, reasons, deciding
    admitted = next((side for _, side in reversed(verdicts) if side.admitted_by), None)
    if not p.checks:
        reasons.append("no component on this path enforces Istio policy")
    if admitted is not None and admitted.admitted_by is not None:  # no Istio decision: say which rule let it in
        key, rule = admitted.admitted_by
        return True, "networkpolicy", {"networkPolicy": key, "rule": rule}, reasons, Decision(
            True, {}, warnings=np_warnings)
    if p.path == "kubelet-probe-snat" or (src.kind == "Node" and not p.checks):
        return True, "none", {"notEvaluated": wire.not_evaluated(p)}, reasons, Decision(True, {}, warnings=np_warnings)
    return True, "none", {"noPolicy": True}, reasons, Decision(True, {}, warnings=np_warnings) if np_warnings else None


def _mark_unreached(p: Plan, denied_at: str) -> None:
    """Hops after the component that denied (or failed) the connection never see it: `reached: false`."""
    at = next((i for i, h in enumerate(p.hops) if h.component == denied_at), None)
    if at is None:
        return
    for h in p.hops[at + 1:]:
        h.reached = False


def _dropped(view: MeshView, p: Plan, drop: wire.Drop, reasons: list[str], protocol: str,
             np_warnings: list[str]) -> tuple[bool, str, dict[str, Any], list[str], Decision]:
    """A NetworkPolicy dropped a leg: later hops are never reached, and the Istio checks behind it never run."""
    for h in p.hops[drop.leg.receiver:]:
        h.reached = False
    outcome, log, log_field = wire.drop_outcome(view, p, drop, protocol)
    why = wire.drop_reasons(view, p, drop)
    d = Decision(False, wire.decided_by(drop.side), why, warnings=np_warnings, outcome=outcome, log=log,
                 log_field=log_field, findings=wire.drop_findings(view, drop))
    d.warnings += [f["message"] for f in d.findings if f["message"] not in d.warnings]
    d.network_policy = wire.drop_doc(view, drop)
    return False, "networkpolicy", d.decided_by, reasons + why, d


def _explain_external(view: MeshView, src: Party, tgt: Target, protocol: str, method: str, path: str,
                      headers: dict[str, str] | None, resolve: dict[str, str]) -> dict[str, Any]:
    """A hostname or ServiceEntry address: learn the dialed address the way this client would (explain/egress.py);
    an address that turns out to be a Service VIP or pod IP is explained as such, with the DNS step in front."""
    from ambientctl.explain.egress import describe_destination, dialed_address, plan_egress, visible_entries

    host = tgt.host
    if host:
        dialed, dns, entry, dns_reasons = dialed_address(view, src, host, {k.lower(): v for k, v in resolve.items()})
        visible, _ = visible_entries(view, host, src.namespace)
        for_host = visible[0] if visible else None
    else:
        dialed, entry, dns_reasons, for_host = tgt.ip, tgt.entry, [], None
        dns = {"capture": None, "why": "the client dialed the address itself", "answeredBy": None, "address": tgt.ip}
    if dialed and entry is None and (view.cluster.service_with_vip(dialed) or view.cluster.pods_with_ip(dialed)):
        inner = explain_resolved(view, src, resolve_target(view, f"{dialed}:{tgt.port}", None, None),
                                 protocol=protocol, method=method, path=path, headers=headers)
        inner["reasons"] = dns_reasons + inner["reasons"]
        inner["dns"] = dns
        inner["destination"]["host"] = host
        return inner
    e = plan_egress(view, src, host, tgt.port, dialed, entry, dns, dns_reasons, for_host)
    p = e.plan
    req_host = f"{host or dialed}:{tgt.port}"
    req = HttpRequest(method.upper(), path, {k.lower(): v for k, v in (headers or {}).items()}, host=req_host)
    # Istio policy where the path has a check; NetworkPolicy (the client's egress, the egress waypoint's) always
    egress_tgt = Target(tgt.ref, "external", dialed, tgt.port, host=host, entry=entry)
    allowed, enforced_by, decided_by, check_reasons, d = _evaluate(view, p, src, None, egress_tgt, req, protocol)
    if not p.checks and decided_by == {"noPolicy": True} and d is not None and not d.warnings:
        d = None
    warnings = list(p.warnings) + ([w for w in d.warnings if w not in p.warnings] if d else [])
    body = _verdict(src, describe_destination(host, tgt.port, dialed, entry), tgt.port, req, protocol, allowed, p,
                    enforced_by, decided_by, list(p.reasons) + check_reasons, warnings) | {
        "routing": None,
        "endpoint": None,
        "dns": dns,
    }
    body["findings"] = findings.as_dicts(list(e.findings) + list(p.findings) + (d.findings if d else []))
    body["warnings"] += [x["message"] for x in body["findings"] if x["message"] not in body["warnings"]]
    # the entry the client dialed; else the one that names the host (its waypoint bound but skipped: inPath false)
    shown = e.binding if e.binding is not None else (
        view.service_entry_waypoint(for_host.entry) if for_host is not None else None)
    body["waypoint"] = binding_doc(view, shown, None, p)
    body["outcome"] = ("the connection goes out to " + p.hops[-1].name) if allowed else (d.outcome if d else "")
    return _finish(view, body, d, allowed, enforced_by)
