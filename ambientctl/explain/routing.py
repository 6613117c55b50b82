"""L7 routing at the waypoint: which route a request matches and what it does to it (backends and weights,
fault injection, timeout, retries).

Only a waypoint applies routes; ztunnel balances connections round-robin and ignores them. Semantics:
VirtualService http routes are tried in order and the first match wins (a route without `match` matches
everything; match entries are ORed, fields within one ANDed); a single destination gets weight 100.
HTTPRoute picks the most specific matching rule across all rules (Gateway API precedence: exact path, then
longest prefix, then method, then most headers, then most query params), default match `PathPrefix /`,
backend weight 1. Istio's default retry policy for VirtualService routes is 2 attempts (retryOn
connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ambientctl.mesh.routes import routes_for
from ambientctl.mesh.view import MeshView
from ambientctl.model import objects as o


@dataclass
class HttpRequest:
    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    host: str = ""


def _string_match(spec: dict[str, Any] | None, value: str | None, ignore_case: bool = False) -> bool:
    if not spec:
        return True
    if value is None:
        return False
    v = value.lower() if ignore_case else value
    for kind, want in spec.items():
        w = str(want).lower() if ignore_case else str(want)
        if kind == "exact" and v != w:
            return False
        if kind == "prefix" and not v.startswith(w):
            return False
        if kind == "regex" and not re.fullmatch(str(want), value):
            return False
    return True


def _vs_match(m: dict[str, Any], req: HttpRequest, port: int) -> bool:
    path = req.path.split("?", 1)[0]
    if not _string_match(m.get("uri"), path, bool(m.get("ignoreUriCase"))):
        return False
    if not _string_match(m.get("method"), req.method):
        return False
    if m.get("port") and int(m["port"]) != port:
        return False
    if not _string_match(m.get("authority"), req.host):
        return False
    for name, spec in (m.get("headers") or {}).items():
        if not _string_match(spec, req.headers.get(name.lower())):
            return False
    for name, spec in (m.get("withoutHeaders") or {}).items():
        if _string_match(spec, req.headers.get(name.lower())) and name.lower() in req.headers:
            return False
    query = dict(p.partition("=")[::2] for p in req.path.partition("?")[2].split("&") if p)
    return all(_string_match(spec, query.get(name)) for name, spec in (m.get("queryParams") or {}).items())


def _describe_vs_match(m: dict[str, Any]) -> str:
    parts = []
    for key in ("uri", "method", "authority"):
        if m.get(key):
            k, v = next(iter(m[key].items()))
            parts.append(f"{key} {k} {v}")
    for name, spec in (m.get("headers") or {}).items():
        k, v = next(iter(spec.items()))
        parts.append(f"header {name} {k} {v}")
    return ", ".join(parts) or "everything"


def _subset_pods(view: MeshView, svc: o.Service | None, host: str, subset: str) -> tuple[list[str], str]:
    """Pods of a DestinationRule subset of the destination service, and a note when it is undefined."""
    if svc is None:
        return [], ""
    pods = view.pods_for(svc)
    if not subset:
        return [p.meta.key for p in pods], ""
    from ambientctl.mesh.routes import host_matches

    for dr in view.cluster.destination_rules:
        if dr.host and host_matches(dr.host, svc, dr.meta.namespace):
            for s in dr.subsets:
                if s.get("name") == subset:
                    labels = s.get("labels") or {}
                    return [p.meta.key for p in pods if all(p.meta.labels.get(k) == v for k, v in labels.items())], ""
    return [], f"subset {subset!r} of {host} is defined by no DestinationRule: requests to it fail with 503 (NR)"


def _resolve_host(view: MeshView, host: str, ns: str) -> o.Service | None:
    from ambientctl.mesh.refs import resolve_service

    return resolve_service(view.cluster, host, ns)


def route_request(view: MeshView, svc: o.Service, port: int, req: HttpRequest) -> dict[str, Any] | None:
    """What the service's routes do to `req`, or None when no route attaches (default: route to the service)."""
    attached = routes_for(view.cluster, svc)
    http_routes = [r for r in attached if r.kind in ("HTTPRoute", "GRPCRoute")]
    vss = [r for r in attached if r.kind == "VirtualService"]
    if http_routes:
        return _httproute(view, svc, port, req, [r.obj for r in http_routes], vss)
    if vss:
        vs = sorted((r.obj for r in vss), key=lambda v: (v.meta.created or "~", v.meta.name))[0]
        out = _virtual_service(view, svc, port, req, vs)
        if len(vss) > 1:
            out.setdefault("warnings", []).append(
                f"{len(vss)} VirtualServices claim {svc.meta.name}; only the oldest ({vs.meta.key}) is used here")
        return out
    return None


def _virtual_service(view: MeshView, svc: o.Service, port: int, req: HttpRequest, vs: o.VirtualService) -> dict:
    for i, rule in enumerate(vs.http):
        matches = rule.get("match") or [{}]
        hit = next((m for m in matches if _vs_match(m, req, port)), None)
        if hit is None:
            continue
        dests = rule.get("route") or []
        total = sum(int(d.get("weight", 0)) for d in dests) if len(dests) > 1 else 100
        backends = []
        warnings = []
        for d in dests:
            dest = d.get("destination") or {}
            host = str(dest.get("host", ""))
            weight = int(d.get("weight", 100 if len(dests) == 1 else 0))
            target = _resolve_host(view, host, vs.meta.namespace)
            pods, note = _subset_pods(view, target, host, str(dest.get("subset", "")))
            if note:
                warnings.append(note)
            backends.append({
                "host": host,
                "subset": dest.get("subset"),
                "port": (dest.get("port") or {}).get("number"),
                "weight": weight,
                "percent": round(100 * weight / total, 1) if total else 0,
                "pods": pods,
            })
        out: dict[str, Any] = {
            "route": {"kind": "VirtualService", "namespace": vs.meta.namespace, "name": vs.meta.name,
                      "rule": i, "ruleName": rule.get("name"), "match": _describe_vs_match(hit)},
            "backends": backends,
            "fault": _vs_fault(rule.get("fault")),
            "timeout": rule.get("timeout"),
            "retries": rule.get("retries") or {"attempts": 2, "retryOn": "connect-failure,refused-stream,unavailable,"
                                               "cancelled,retriable-status-codes", "default": True},
        }
        if rule.get("directResponse"):
            out["directResponse"] = rule["directResponse"]
        if rule.get("redirect"):
            out["redirect"] = rule["redirect"]
        if warnings:
            out["warnings"] = warnings
        return out
    return {"route": {"kind": "VirtualService", "namespace": vs.meta.namespace, "name": vs.meta.name, "rule": None,
                      "match": "no rule matches"},
            "backends": [], "fault": None, "timeout": None, "retries": None,
            "warnings": [f"no http rule of VirtualService {vs.meta.key} matches {req.method} {req.path}: the "
                         "waypoint answers 404 (NR)"]}


def _vs_fault(f: dict[str, Any] | None) -> dict[str, Any] | None:
    if not f:
        return None
    out: dict[str, Any] = {}
    if "delay" in f:
        d = f["delay"]
        out["delay"] = {"fixedDelay": d.get("fixedDelay"),
                        "percent": _percent(d)}
    if "abort" in f:
        a = f["abort"]
        out["abort"] = {"httpStatus": a.get("httpStatus"), "grpcStatus": a.get("grpcStatus"), "percent": _percent(a)}
    return out


def _percent(spec: dict[str, Any]) -> float:
    if "percentage" in spec:
        return float((spec["percentage"] or {}).get("value", 0))
    if "percent" in spec:  # deprecated integer form
        return float(spec["percent"])
    return 100.0


def _httproute_match(m: dict[str, Any], req: HttpRequest) -> tuple[bool, tuple]:
    path = req.path.split("?", 1)[0]
    pm = m.get("path") or {"type": "PathPrefix", "value": "/"}
    ptype, pval = pm.get("type", "PathPrefix"), str(pm.get("value", "/"))
    if ptype == "Exact" and path != pval:
        return False, ()
    if ptype == "PathPrefix":
        pre = pval.rstrip("/") or "/"
        if not (path == pre or path.startswith(pre if pre.endswith("/") else pre + "/") or pre == "/"):
            return False, ()
    if ptype == "RegularExpression" and not re.fullmatch(pval, path):
        return False, ()
    if m.get("method") and m["method"] != req.method:
        return False, ()
    for h in m.get("headers") or []:
        got = req.headers.get(str(h.get("name", "")).lower())
        if got is None or (h.get("type", "Exact") == "Exact" and got != h.get("value")) or (
                h.get("type") == "RegularExpression" and not re.fullmatch(str(h.get("value")), got)):
            return False, ()
    rank = (ptype == "Exact", len(pval) if ptype == "PathPrefix" else 0, bool(m.get("method")),
            len(m.get("headers") or []), len(m.get("queryParams") or []))
    return True, rank


def _httproute(view: MeshView, svc: o.Service, port: int, req: HttpRequest, routes: list[o.HTTPRoute],
               vss: list[Any]) -> dict:
    best = None
    for r in sorted(routes, key=lambda r: (r.meta.created or "~", r.meta.key)):
        for i, rule in enumerate(r.rules):
            for m in rule.get("matches") or [{}]:
                ok, rank = _httproute_match(m, req)
                if ok and (best is None or rank > best[0]):
                    best = (rank, r, i, rule, m)
    warnings = []
    if vss:
        warnings.append("both HTTPRoute and VirtualService target this service; mixing them is unsupported and the "
                        "HTTPRoute is used")
    if best is None:
        return {"route": {"kind": routes[0].meta.kind, "namespace": routes[0].meta.namespace,
                          "name": routes[0].meta.name, "rule": None, "match": "no rule matches"},
                "backends": [], "fault": None, "timeout": None, "retries": None,
                "warnings": warnings + [f"no rule matches {req.method} {req.path}: the waypoint answers 404"]}
    _, r, i, rule, m = best
    refs = rule.get("backendRefs") or []
    total = sum(int(b.get("weight", 1)) for b in refs)
    backends = []
    for b in refs:
        target = _resolve_host(view, str(b.get("name", "")), str(b.get("namespace") or r.meta.namespace))
        backends.append({"host": b.get("name"), "subset": None, "port": b.get("port"),
                         "weight": int(b.get("weight", 1)),
                         "percent": round(100 * int(b.get("weight", 1)) / total, 1) if total else 0,
                         "pods": [p.meta.key for p in view.pods_for(target)] if target else []})
    match = m.get("path") or {"type": "PathPrefix", "value": "/"}
    desc = f"path {match.get('type')} {match.get('value')}" + (f", method {m['method']}" if m.get("method") else "")
    return {
        "route": {"kind": r.meta.kind, "namespace": r.meta.namespace, "name": r.meta.name, "rule": i,
                  "ruleName": rule.get("name"), "match": desc},
        "backends": backends,
        "fault": None,
        "timeout": (rule.get("timeouts") or {}).get("request"),
        "retries": rule.get("retry"),
        **({"warnings": warnings} if warnings else {}),
    }
