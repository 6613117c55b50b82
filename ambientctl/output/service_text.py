"""Text views of a ServiceDescription and a WaypointDescription: what binds and why first (with istiod's
WaypointBound condition), then what the waypoint enforces and routes, then findings — as describe pod shows them."""

from __future__ import annotations

from typing import Any, TextIO

from rich.markup import escape
from rich.table import Table

from ambientctl.output.console import section, text_output
from ambientctl.output.pod_text import _kv, _ready, _routes_and_findings


def _condition(c: dict[str, Any] | None) -> str:
    if not c:
        return "[dim]no WaypointBound condition (no waypoint asked for)[/]"
    style = "ok" if c["status"] else "warn"
    reason = c["reason"] or "—"
    return f"[{style}]{escape(reason)}[/]" + (f"  [dim]{escape(c['message'])}[/]" if c.get("message") else "")


def _policies(c: Any, pols: list[dict[str, Any]], empty: str) -> None:
    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True)
    t.add_column(overflow="fold")
    for p in pols:
        astyle = {"ALLOW": "allow", "DENY": "deny"}.get(p["action"], "warn")
        dry = " [warn](dry-run)[/]" if p.get("dryRun") else ""
        t.add_row(f"[{astyle}]{p['action']:<5}[/]", f"[name]{p['namespace']}/{p['name']}[/]{dry}  [dim]"
                                                    f"({escape(p['why'])})[/]")
        for line in p["says"]:
            t.add_row("", f"[dim]{escape(line)}[/]")
    section(c, "Authorization policies", t if pols else f"[dim]{empty}[/]")


def render_service(doc: dict[str, Any], out: TextIO) -> None:
    with text_output(out) as c:
        s = doc["service"]
        head = _kv()
        head.add_row("Service", f"[name]{escape(s['name'])}[/]  [dim]namespace[/] {escape(s['namespace'])}")
        head.add_row("IPs", ", ".join(s["clusterIPs"]) or "headless")
        head.add_row("Ports", ", ".join(f"{p['port']}/{p['protocol']}" + (f"→{p['targetPort']}" if p["targetPort"] !=
                                                                         p["port"] else "") for p in s["ports"]))
        c.print(head)

        t = _kv()
        b = doc["bindings"]["service"]
        wp = doc.get("waypoint")
        if wp:
            t.add_row("Waypoint", f"[name]{wp['namespace']}/{wp['name']}[/] {_ready(wp['ready'])} — "
                                  f"{escape(b['scope'])}")
            t.add_row("Identity", f"{escape(wp['identity'])}  [dim](what the destination ztunnel sees)[/]")
        elif b["requested"]:
            t.add_row("Waypoint", f"[warn]{escape(b['requested'])} asked for, not bound[/]")
        else:
            t.add_row("Waypoint", "[dim]none: L4 only[/]")
        if b["boundBy"]:
            t.add_row("Bound by", escape(b["boundBy"]))
        t.add_row("Condition", _condition(b["condition"]))
        t.add_row("Ingress", ("[ok]gateways use the waypoint[/]" if doc["ingress"]["useWaypoint"] else
                              "gateways send to the pods directly") + f"  [dim]({escape(doc['ingress']['why'])})[/]")
        for cn in doc["canaries"]:
            t.add_row("Canary", f"{escape(cn['name'])} {cn['weight']}%")
        section(c, "Waypoint (service traffic)", t)

        wl = doc["bindings"]["workload"]
        if wl:
            t = Table.grid(padding=(0, 2))
            t.add_column(no_wrap=True)
            t.add_column(overflow="fold")
            for x in wl:
                what = (f"waypoint {x['waypoint']}" if x["waypoint"] else
                        f"[warn]{escape(x['requested'])} not bound[/]" if x["requested"] else "[dim]no waypoint[/]")
                t.add_row(f"[name]{escape(x['pod'])}[/]", what + (f"  [dim]{escape(x['boundBy'])}[/]"
                                                                 if x["boundBy"] else ""))
            section(c, "Waypoint (pod-IP traffic, per endpoint)", t)
        elif not doc["endpoints"]:
            section(c, "Endpoints", "[dim]none[/]")
        _policies(c, doc["policies"], "none on its waypoint target this service" if wp else
                  "no waypoint: nothing enforces targetRefs policies for it")
        _routes_and_findings(c, doc, "this service")


def render_waypoint(doc: dict[str, Any], out: TextIO) -> None:
    with text_output(out) as c:
        w = doc["waypoint"]
        head = _kv()
        head.add_row("Waypoint", f"[name]{escape(w['name'])}[/]  [dim]namespace[/] {escape(w['namespace'])}  "
                                 f"[dim]class[/] {escape(w['gatewayClass'])}")
        head.add_row("Ready", f"{_ready(w['ready'])}  [dim]{escape(w['readyWhy'])}[/]"
                     + (f"  [dim]address {', '.join(w['addresses'])}[/]" if w["addresses"] else ""))
        head.add_row("Traffic", f"{w['trafficType']}  [dim]({escape(w['trafficTypeWhy'])})[/]")
        head.add_row("Identity", f"{escape(w['identity'])}  [dim](what destination ztunnels see)[/]")
        if w.get("servesServiceAccount"):
            head.add_row("Serves", f"service account {escape(w['servesServiceAccount'])}")
        pods = ", ".join(f"{p['name']} ({p['ip'] or 'no IP'}, {'ready' if p['ready'] else 'not ready'})"
                         for p in w["pods"])
        head.add_row("Pods", escape(pods) if pods else "[warn]none in this snapshot[/]")
        c.print(head)

        t = Table.grid(padding=(0, 2))
        t.add_column(no_wrap=True)
        t.add_column(overflow="fold")
        for s in doc["binds"]["service"]:
            t.add_row(f"service [name]{escape(s['service'])}[/]", f"[dim]{escape(s['boundBy'] or '')}[/]")
        for p in doc["binds"]["workload"]:
            t.add_row(f"workload [name]{escape(p['pod'])}[/]", f"[dim]{escape(p['boundBy'] or '')}[/]")
        for r in doc["binds"]["refused"]:
            t.add_row(f"[warn]✗ {escape(r['object'])}[/]", _condition(r["condition"]))
        if not (doc["binds"]["service"] or doc["binds"]["workload"] or doc["binds"]["refused"]):
            t = "[dim]nothing binds to it[/]"
        section(c, "Binds", t)
        for cn in doc["canaries"]:
            section(c, "Canary", f"{escape(cn['service'])}: {cn['role']} of "
                    + ", ".join(f"{x['name']} {x['weight']}%" for x in cn["weighted"]))
        _policies(c, doc["policies"], "none: every request through it is allowed")
        for p in doc["ignoredPolicies"]:
            c.print(f"  [warn]ignored[/] {escape(p['why'])}")
        _routes_and_findings(c, doc, "this waypoint")
