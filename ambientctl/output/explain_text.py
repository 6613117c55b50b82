"""Text view of an Explanation: the verdict first, then the path as a hop line, then why — each reason a
sentence — and the deciding policy quoted with its rule marked."""

from __future__ import annotations

from typing import Any, TextIO

from rich.markup import escape
from rich.table import Table

from ambientctl.output.console import section, text_output
from ambientctl.output.pod_text import SEV_MARK

COMPONENT_LABEL = {
    "client": "client",
    "src-ztunnel": "src ztunnel",
    "waypoint": "waypoint",
    "dst-ztunnel": "dst ztunnel",
    "server": "server",
}


def decided_sentence(doc: dict[str, Any]) -> str:
    """The verdict line under the headline, one sentence per decidedBy/enforcedBy combination (shared by the text
    view and the TUI): who decided, where, and by what —

        allowed by AuthorizationPolicy default/productpage-viewer (rule 0) at the waypoint
        denied at the dst ztunnel: ALLOW policies exist but none matched (default/productpage-viewer)
        denied at the dst ztunnel by bypassed-waypoint, a rule istiod generates
        fails at the dst ztunnel: <failure>
        allowed: no AuthorizationPolicy applies to this request
    """
    decided = doc.get("decidedBy") or {}
    verb = "allowed" if doc.get("verdict") == "allow" else "denied"
    enforced = doc.get("enforcedBy") or "none"
    at = "" if enforced == "none" else f" at the {COMPONENT_LABEL.get(enforced, enforced)}"
    if "policy" in decided:
        rule = f" (rule {decided['rule']})" if decided.get("rule") is not None else ""
        return f"{verb} by AuthorizationPolicy {decided['policy']}{rule}{at}"
    if "defaultDeny" in decided:
        return f"denied{at}: ALLOW policies exist but none matched ({', '.join(decided['defaultDeny'])})"
    if "builtin" in decided:
        return f"{verb}{at} by {decided['builtin']}, a rule istiod generates"
    if "failure" in decided:
        return f"fails{at}: {decided['failure']}"
    if "networkPolicy" in decided:
        np = decided["networkPolicy"]
        names = np if isinstance(np, str) else ", ".join(np)
        if decided.get("rule") is not None:
            return f"{verb} by NetworkPolicy {names} (rule {decided['rule']}), enforced by the CNI"
        return f"{verb} by NetworkPolicy {names}, enforced by the CNI: it selects the pod and no rule admits this connection"
    if "notEvaluated" in decided:
        return f"{verb}: not evaluated by Istio ({decided['notEvaluated']})"
    return f"{verb}{at}: no AuthorizationPolicy applies to this request"


def render_explanation(doc: dict[str, Any], out: TextIO) -> None:
    with text_output(out) as c:
        _render(c, doc)


def _party(p: dict[str, Any]) -> str:
    if p.get("kind") == "Node":
        return f"node/{p.get('name')}"
    if p.get("kind") in ("Host", "ServiceEntry") and p.get("host"):
        return str(p["host"])
    name = f"{p.get('namespace')}/{p.get('name')}" if p.get("name") else p.get("ip") or p.get("ref")
    return str(name)


def _render(c: Any, doc: dict[str, Any]) -> None:
    verdict = doc["verdict"]
    style = "allow" if verdict == "allow" else "deny"
    src, dst = doc["source"], doc["destination"]
    req = doc["request"]
    what = f"{req.get('method', '')} {req.get('path', '')} ".strip() if req["protocol"] == "http" else "TCP"
    dst_txt = _party(dst) + f":{req['port']}"
    c.print(f"[{style}]{verdict.upper()}[/]  {escape(_party(src))} → {escape(dst_txt)}  [dim]{escape(what)} · path "
            f"{doc['path']}[/]")
    enforced = doc["enforcedBy"]
    c.print(f"[head]{escape(decided_sentence(doc))}[/]")
    if doc.get("outcome"):
        c.print(f"[dim]outcome[/]    {escape(doc['outcome'])}")
    dns = doc.get("dns")
    if dns:
        host = doc["destination"].get("host") or ""
        answer = dns.get("address") or "its public address (unknown offline: --resolve HOST=IP)"
        by = f" by {dns['answeredBy']}" if dns.get("answeredBy") else ""
        capture = {True: "on", False: "off"}.get(dns.get("capture"), "n/a")
        c.print(f"[dim]dns[/]        {escape(host + ' → ' if host else '')}{escape(answer)}{escape(by)}  "
                f"[dim]capture {capture}: {escape(dns.get('why', ''))}[/]")
        if dns.get("caveat"):
            c.print(f"[dim]           {escape(dns['caveat'])}[/]")

    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True, style="dim")
    t.add_column(no_wrap=True)
    t.add_column(overflow="fold")
    for i, h in enumerate(doc["hops"]):
        mark = "●" if h["component"] == enforced else "○"
        mstyle = style if h["component"] == enforced else "dim"
        onward = "" if h["component"] == "server" else f"→ {h['protocol']}:{h['port']}"
        if h["component"] == "server":
            onward = f"listens :{h['port']}"
        node = f"  [dim]{escape(h['node'])}[/]" if h.get("node") else ""
        note = f"  [warn]{escape(h['note'])}[/]" if h.get("note") else ""
        if h.get("reached") is False:
            mark, mstyle = "✕", "deny"
            note += ("  [deny]not reached: dropped on the wire[/]" if enforced == "networkpolicy" else
                     f"  [deny]not reached: denied at the {COMPONENT_LABEL.get(enforced, enforced)}[/]")
        t.add_row(f"{i + 1}.", f"[{mstyle}]{mark}[/] {COMPONENT_LABEL.get(h['component'], h['component'])}",
                  f"[name]{escape(h['name'])}[/]{node}  [dim]{escape(onward)}[/]{note}")
    section(c, "Path", t)

    wp = doc.get("waypoint") or {}
    if wp.get("name") or wp.get("requested"):
        t = Table.grid(padding=(0, 2))
        t.add_column(style="key", no_wrap=True)
        t.add_column(overflow="fold")
        if wp.get("name"):
            used = "in this path" if wp.get("inPath") else "[warn]not in this path[/]"
            t.add_row("Bound", f"[name]{escape(wp['name'])}[/] ({used})"
                      + (f"  [dim]{escape(wp['boundBy'])}[/]" if wp.get("boundBy") else ""))
        else:
            t.add_row("Asked", f"[warn]{escape(wp['requested'])} is asked for but not bound[/]"
                      + (f"  [dim]{escape(wp['boundBy'])}[/]" if wp.get("boundBy") else ""))
        if wp.get("reason") or wp.get("message"):
            t.add_row("Condition", f"{escape(wp.get('reason') or '')}"
                      + (f"  [dim]{escape(wp['message'])}[/]" if wp.get("message") else ""))
        for w in wp.get("weighted") or []:
            t.add_row("Weighted", f"{escape(w['name'])} {w['weight']}%")
        section(c, "Waypoint of the destination", t)

    if doc.get("routing"):
        r = doc["routing"]
        t = Table.grid(padding=(0, 2))
        t.add_column(style="key", no_wrap=True)
        t.add_column(overflow="fold")
        rt = r["route"]
        rule = f"rule {rt['rule']}" if rt.get("rule") is not None else "no rule"
        t.add_row("Route", f"{rt['kind']} {rt['namespace']}/{rt['name']}, {rule} (matches {escape(rt['match'])}) "
                           f"[dim]applied by {escape(r.get('appliedBy', ''))}[/]")
        for b in r["backends"]:
            subset = f" subset {b['subset']}" if b.get("subset") else ""
            t.add_row("Backend", f"{b['percent']:g}% → {escape(str(b['host']))}{subset}  [dim]"
                                 f"{escape(', '.join(b['pods']) or 'no pods')}[/]")
        if r.get("fault"):
            f = r["fault"]
            if "delay" in f:
                t.add_row("Fault", f"[warn]delay {f['delay']['fixedDelay']} on {f['delay']['percent']:g}% of "
                                   "requests[/]")
            if "abort" in f:
                t.add_row("Fault", f"[warn]abort HTTP {f['abort']['httpStatus']} on {f['abort']['percent']:g}% "
                                   "of requests[/]")
        if r.get("timeout"):
            t.add_row("Timeout", str(r["timeout"]))
        if r.get("retries"):
            rr = r["retries"]
            t.add_row("Retries", f"{rr.get('attempts')} attempts" + (" (Istio default)" if rr.get("default") else ""))
        for w in r.get("warnings", []):
            t.add_row("", f"[warn]{escape(w)}[/]")
        section(c, "L7 routing", t)

    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True)
    t.add_column(overflow="fold")
    for i, r in enumerate(doc["reasons"], 1):
        t.add_row(f"{i}.", escape(r))
    section(c, "Why", t)

    if doc.get("policy"):
        pol = doc["policy"]
        t = Table.grid(padding=(0, 1))
        t.add_column(no_wrap=True)
        t.add_column(overflow="fold")
        t.add_row("", f"[name]{escape(pol['namespace'])}/{escape(pol['name'])}[/] {pol['action']}"
                      f"  [dim]{escape(pol.get('scope', ''))}[/]")
        for line in pol.get("says", []):
            marked = pol.get("rule") is not None and line.startswith(f"rule {pol['rule']}:")
            t.add_row("[deny]▶[/]" if marked else " ", f"[head]{escape(line)}[/]" if marked else f"[dim]{escape(line)}[/]")
        for note in pol.get("notes", []):
            t.add_row("", f"[warn]{escape(note)}[/]")
        section(c, "Deciding policy", t)

    if doc.get("ztunnelLog") or doc.get("proxyLog"):
        section(c, "Expected log", f"[dim]{escape(doc.get('ztunnelLog') or doc.get('proxyLog'))}[/]")

    found = doc.get("findings") or []
    said = {x["message"] for x in found}
    plain = [w for w in doc["warnings"] if w not in said]
    if found or plain:
        t = Table.grid(padding=(0, 1))
        t.add_column(no_wrap=True)
        t.add_column(overflow="fold")
        for x in found:  # findings first, as describe shows them
            mark, style = SEV_MARK.get(x["severity"], ("▲", "warn"))
            t.add_row(f"[{style}]{mark}[/]", f"[{style}]{escape(x['id'])}[/]  {escape(x['message'])}")
        for w in plain:
            t.add_row("[warn]▲[/]", escape(w))
        section(c, "Warnings", t)
    c.print()
    c.print(f"[dim]Istio {doc['istioVersion']} behaviour · {escape(doc['source'].get('cluster', ''))}[/]")


def render_matrix(doc: dict[str, Any], out: TextIO) -> None:
    with text_output(out) as c:
        dsts = doc["destinations"]
        verdicts = {(x["source"], x["destination"]): x for x in doc["cells"]}
        req = doc["request"]
        what = f"{req['method']} {req['path']}" if req["protocol"] == "http" else "TCP"
        c.print(f"[head]namespace {escape(doc['namespace'])}[/]  {doc['summary']['allow']} allowed, "
                f"[deny]{doc['summary']['deny']} denied[/]  [dim]({escape(what)}, Istio {doc['istioVersion']})[/]")
        t = Table(box=None, padding=(0, 1), show_edge=False)
        t.add_column("source \\ destination", no_wrap=True)
        for i, _ in enumerate(dsts, 1):
            t.add_column(str(i), justify="center")
        for src in doc["sources"]:
            row = [escape(src)]
            for d in dsts:
                x = verdicts[(src, d)]
                row.append("[allow]✓[/]" if x["verdict"] == "allow" else "[deny]✗[/]")
            t.add_row(*row)
        section(c, "Verdicts", t)
        legend = Table.grid(padding=(0, 1))
        legend.add_column(justify="right")
        legend.add_column()
        for i, d in enumerate(dsts, 1):
            legend.add_row(f"{i}", escape(d))
        section(c, "Destinations", legend)
        why: dict[str, list[str]] = {}
        for x in doc["cells"]:
            if x["verdict"] == "deny":
                dec = x["decidedBy"]
                key = (f"{x['enforcedBy']}: " + (f"{dec['policy']} rule {dec['rule']}" if "policy" in dec else
                       f"default deny ({', '.join(dec['defaultDeny'])})" if "defaultDeny" in dec else
                       decided_sentence(x) if "networkPolicy" in dec else
                       str(dec.get("builtin") or dec.get("failure"))) + f" → {x['destination']}")
                why.setdefault(key, []).append(x["source"])
        if why:
            w = Table.grid(padding=(0, 1))
            w.add_column(overflow="fold")
            for key, srcs in sorted(why.items()):
                w.add_row(f"[deny]✗[/] {escape(key)}  [dim]from {escape(', '.join(srcs))}[/]")
            section(c, "Denied by", w)
        if doc.get("notes"):
            n = Table.grid()
            n.add_column(overflow="fold")
            for note in doc["notes"]:
                n.add_row(f"[dim]{escape(note)}[/]")
            section(c, "Left out", n)
