"""Text view of a PodDescription: sections a person reads in seconds, most important first (is it in the
mesh, what enforces what), with the reason next to every fact."""

from __future__ import annotations

from typing import Any, TextIO

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ambientctl.output.console import section, text_output

MODE_STYLE = {"ambient": "ok", "sidecar": "info", "none": "warn"}
SEV_MARK = {"error": ("✖", "error"), "warning": ("▲", "warn"), "info": ("●", "info")}


def _kv() -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="key", no_wrap=True)
    t.add_column(overflow="fold")
    return t


def _ready(ok: bool) -> str:
    return "[ok]ready[/]" if ok else "[bad]NOT READY[/]"


def render_pod(doc: dict[str, Any], out: TextIO) -> None:
    with text_output(out) as c:
        _render(c, doc)


def _render(c: Any, doc: dict[str, Any]) -> None:
    p = doc["pod"]
    mesh = doc["mesh"]

    head = _kv()
    head.add_row("Pod", f"[name]{escape(p['name'])}[/]  [dim]namespace[/] {escape(p['namespace'])}")
    wl = p["workload"]
    state = f"{p['phase'] or 'phase unknown'}, {'Ready' if p['ready'] else 'not Ready'}"
    head.add_row("Workload", f"{wl['kind'].lower()}/{escape(wl['name'])}  [dim]·[/] {state}")
    zt = doc.get("ztunnel")
    node = escape(p["node"] or "(not scheduled)")
    if zt:
        node += f"  [dim]· ztunnel[/] {escape(zt['namespace'])}/{escape(zt['name'])} ({zt['ip']}, {_ready(zt['ready'])})"
    head.add_row("Node", node)
    head.add_row("IP", ", ".join(p["ips"]) or "(none)")
    if doc["identity"]:
        head.add_row("Identity", escape(doc["identity"]) + f"  [dim](service account {escape(p['serviceAccount'])})[/]")
    else:
        head.add_row("Identity", f"[dim]none — not in the mesh, so its connections carry no identity (service "
                                 f"account {escape(p['serviceAccount'])})[/]")
    style = MODE_STYLE.get(mesh["mode"], "warn")
    line = f"[{style}]{mesh['mode'].upper()}[/] — {escape(mesh['reason'])}"
    if mesh["mode"] == "ambient":
        red = mesh.get("redirection")
        line += f"  [dim](ambient.istio.io/redirection={red or 'absent'})[/]"
    if mesh.get("role") not in (None, "workload"):
        line += f"  [dim]role:[/] {mesh['role']}"
    head.add_row("Mesh", line)
    d = mesh.get("dnsCapture")
    if d and (not d["on"] or doc.get("serviceEntriesExist")):  # only where it changes where names resolve
        head.add_row("DNS", ("captured by ztunnel" if d["on"] else "not captured: kube-dns answers, ServiceEntry "
                             "hosts resolve to their public addresses") + f"  [dim]({escape(d['why'])})[/]")
    c.print(head)

    if doc.get("waypointFor"):
        wf = doc["waypointFor"]
        t = _kv()
        t.add_row("Gateway", f"{wf['gateway']} ({wf['gatewayClass']}), {_ready(wf['ready'])}, "
                             f"traffic type {wf['trafficType']}")
        if wf.get("servesServiceAccount"):
            t.add_row("Serves", f"service account {wf['servesServiceAccount']}")
        t.add_row("Services", ", ".join(wf["services"]) or "[dim](none)[/]")
        if wf["workloads"]:
            t.add_row("Workloads", ", ".join(wf["workloads"]))
        section(c, "Waypoint for", t)

    if doc["services"]:
        t = Table.grid(padding=(0, 2))
        for _ in range(4):
            t.add_column(overflow="fold")
        for s in doc["services"]:
            ports = ", ".join(
                f"{x['port']}/{x['protocol']}" + (f"→{x['targetPort']}" if x["targetPort"] != x["port"] else "")
                + (f" ({x['name']})" if x["name"] else "")
                for x in s["ports"]
            )
            wp = s.get("waypoint")
            if wp:
                wtxt = f"waypoint {wp['namespace']}/{wp['name']} {_ready(wp['ready'])}"
            elif s.get("waypointProblem"):
                wtxt = f"[warn]waypoint {s['waypointProblem']['requested']} not used[/]"
            else:
                wtxt = "[dim]no waypoint[/]"
            t.add_row(f"[name]{escape(s['name'])}[/]", ", ".join(s["clusterIPs"]) or "headless", ports, wtxt)
        section(c, "Services", t)

    if mesh["mode"] == "ambient":
        wp = doc.get("waypoint")
        t = _kv()
        if wp:
            t.add_row("Waypoint", f"[name]{wp['namespace']}/{wp['name']}[/] {_ready(wp['ready'])} — {escape(wp['for'])}")
            t.add_row("Bound by", escape(wp["boundBy"]))
            t.add_row("Identity", f"{escape(wp['identity'])}  [dim](what the destination ztunnel sees)[/]")
        else:
            t.add_row("Waypoint", "[dim]none: L4 only — the destination ztunnel enforces policy, no L7 processing[/]")
        section(c, "L7", t)

    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True)
    t.add_column(overflow="fold")
    for pol in doc["policies"]:
        action = pol["action"]
        astyle = {"ALLOW": "allow", "DENY": "deny"}.get(action, "warn")
        enforcer = pol["enforcedBy"] + (f" {pol['enforcer']}" if pol.get("enforcer") else "")
        estyle = "bad" if pol["enforcedBy"] == "none" else "head"
        dry = " [warn](dry-run)[/]" if pol.get("dryRun") else ""
        t.add_row(f"[{astyle}]{action:<5}[/]", f"[name]{pol['namespace']}/{pol['name']}[/]{dry}  → [{estyle}]"
                  f"{escape(enforcer)}[/]  [dim]({escape(pol['scope'])})[/]")
        for line in pol["says"]:
            t.add_row("", f"[dim]{escape(line)}[/]")
        for note in pol.get("notes", []):
            t.add_row("", f"[warn]{escape(note)}[/]")
    meshed = mesh["mode"] in ("ambient", "sidecar") or mesh.get("role") == "waypoint"
    if not doc["policies"]:
        t = ("[dim]none apply: every connection is allowed (subject to PeerAuthentication)[/]" if meshed else
             "[dim]not in the mesh: no Istio policy is enforced for this pod[/]")
    section(c, "Authorization policies", t)
    if not meshed:
        _routes_and_findings(c, doc)
        return

    pa = doc["peerAuthentication"]
    t = _kv()
    t.add_row("Mode", f"[head]{pa['mode']}[/]  [dim]({escape(pa['source'])})[/]")
    if pa.get("portLevel"):
        t.add_row("Ports", ", ".join(f"{k}: {v}" for k, v in pa["portLevel"].items()))
    if pa.get("note"):
        t.add_row("", f"[dim]{escape(pa['note'])}[/]")
    section(c, "PeerAuthentication", t)

    _routes_and_findings(c, doc)


def _routes_and_findings(c: Any, doc: dict[str, Any], subject: str = "this pod") -> None:
    if doc["routes"]:
        t = Table.grid(padding=(0, 2))
        t.add_column(no_wrap=True)
        t.add_column(overflow="fold")
        for r in doc["routes"]:
            applied = f"applied by {r['appliedBy']}" if r["appliedBy"] else "[warn]not applied (no waypoint)[/]"
            if r["kind"] == "DestinationRule" and r["appliedBy"]:
                applied = f"used by {r['appliedBy']}"
            t.add_row(f"{r['kind']} [name]{r['namespace']}/{r['name']}[/]", f"{escape(r['summary'])}  [dim]·[/] {applied}")
        section(c, "Routes", t)

    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True)
    t.add_column(overflow="fold")
    for fd in doc["findings"]:
        mark, style = SEV_MARK.get(fd["severity"], ("●", "info"))
        t.add_row(f"[{style}]{mark}[/]", f"[{style}]{fd['id']}[/]  {escape(fd['message'])}")
    if not doc["findings"]:
        t.add_row("[ok]✓[/]", f"no misconfigurations found for {subject}")
    section(c, "Findings", t)

    c.print()
    foot = Text(f"Istio {doc['istioVersion']} ({doc['istioVersionSource']}) · {doc['source']}", style="dim")
    c.print(foot)
    for note in doc.get("notes", []):
        c.print(f"[warn]note:[/] {escape(note)}")
