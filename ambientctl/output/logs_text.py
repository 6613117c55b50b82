"""The LogReport document (`ambientctl logs parse`) and its text view: one line per connection (who → whom, path,
verdict), beneath it what decided or broke it, the meaning and the next step; then the files and what in them
was not understood."""

from __future__ import annotations

from typing import Any, TextIO

from rich.markup import escape

from ambientctl.output.console import text_output
from ambientctl.words import count

VERDICT_STYLE = {"allow": "allow", "deny": "deny", "failed": "error", "unknown": "dim"}


def log_report(files: list[tuple[str, list[Any]]], conns: list[Any], with_events: bool,
               skipped: dict[str, list[int]] | None = None) -> dict[str, Any]:
    """`skipped`: per file, the lines left out because they hold NUL bytes."""
    body: dict[str, Any] = {"files": [], "connections": [c.to_dict() for c in conns]}
    for label, evs in files:
        kinds: dict[str, int] = {}
        for e in evs:
            if e.kind == "raw" and not e.raw.strip():
                continue
            kinds[e.kind] = kinds.get(e.kind, 0) + 1
        unknown = [e.line_no for e in evs if e.kind == "raw" and e.raw.strip() and not e.raw.lstrip().startswith("#")]
        entry: dict[str, Any] = {"name": label, "lines": len(evs), "kinds": kinds, "unrecognisedLines": unknown,
                                 "skippedLines": (skipped or {}).get(label, [])}
        if with_events:
            entry["events"] = [e.to_dict() for e in evs if e.kind != "raw"]
        body["files"].append(entry)
    verdicts: dict[str, int] = {}
    for c in conns:
        verdicts[c.verdict] = verdicts.get(c.verdict, 0) + 1
    body["summary"] = {"connections": len(conns), "verdicts": verdicts}
    return body


def render_logs(doc: dict[str, Any], out: TextIO) -> None:
    with text_output(out) as c:
        s = doc["summary"]
        counts = ", ".join(f"{n} {v}" for v, n in sorted(s["verdicts"].items())) or "none"
        c.print(f"[head]{count(s['connections'], 'connection')}[/]  [dim]{counts}[/]")
        for conn in doc["connections"]:
            _connection(c, conn)
        c.print()
        c.print("[head]Files[/]")
        for f in doc["files"]:
            kinds = ", ".join(count(n, f"{k} line") for k, n in sorted(f["kinds"].items()))
            about = f"{count(f['lines'], 'line')}: {kinds}" if kinds else count(f["lines"], "line")
            c.print(f"  {escape(f['name'])}  [dim]{escape(about)}[/]", soft_wrap=True)
            if f.get("skippedLines"):
                shown = ", ".join(str(n) for n in f["skippedLines"][:20])
                more = " …" if len(f["skippedLines"]) > 20 else ""
                c.print(f"    [warn]skipped {count(len(f['skippedLines']), 'line')} holding NUL bytes: line "
                        f"{shown}{more}[/]", soft_wrap=True)
            if f["unrecognisedLines"]:
                shown = ", ".join(str(n) for n in f["unrecognisedLines"][:20])
                more = " …" if len(f["unrecognisedLines"]) > 20 else ""
                word = "line" if len(f["unrecognisedLines"]) == 1 else "lines"
                c.print(f"    [warn]not recognised: {word} {shown}{more}[/]", soft_wrap=True)
            for e in f.get("events") or []:
                c.print(f"    [dim]{e.get('lineNo')}[/] {escape(e.get('kind', ''))} "
                        f"{escape(e.get('message', ''))}", soft_wrap=True)


def _connection(c: Any, conn: dict[str, Any]) -> None:
    v = conn["verdict"]
    src = conn.get("src") or "?"
    dst = conn.get("dst") or "?"
    if conn.get("srcCluster") and conn.get("srcCluster") != conn.get("dstCluster"):  # 1.31: cross-cluster
        src, dst = f"{src} [{conn['srcCluster']}]", f"{dst} [{conn.get('dstCluster') or '?'}]"
    svc = f" ({conn['service']})" if conn.get("service") else ""
    path = conn["path"] + (f", {conn['pathDetail']}" if conn.get("pathDetail") else "")
    c.print()
    c.print(f"[name]{escape(src)}[/] → [name]{escape(dst)}[/]{escape(svc)}  [dim]{escape(path)}[/]  "
            f"[{VERDICT_STYLE.get(v, 'dim')}]{v}[/]", soft_wrap=True)
    if conn.get("enforcedBy") or conn.get("decidedBy"):
        by = conn.get("decidedBy") or {}
        what = by.get("policy") or ("no ALLOW rule matched" if "defaultDeny" in by else by.get("builtin", ""))
        rule = f" rule {by['rule']}" if "rule" in by else ""
        c.print(f"  decided at {escape(conn.get('enforcedBy') or '?')}" + (f" by {escape(what)}{rule}" if what else ""),
                soft_wrap=True)
    e = conn.get("error")
    if e:
        c.print(f"  [{'deny' if e['verdict'] == 'deny' else 'error'}]{escape(e['code'])}[/]: {escape(e['meaning'])}",
                soft_wrap=True)
        c.print(f"  [dim]text:[/] {escape(e['text'])}", soft_wrap=True)
        c.print(f"  [info]next:[/] {escape(e['nextStep'])}", soft_wrap=True)
        if e.get("versions"):
            c.print(f"  [dim]{escape(e['versions'])}[/]", soft_wrap=True)
    for r in conn.get("reasons", []):
        c.print(f"  [dim]· {escape(r)}[/]", soft_wrap=True)
    ev = ", ".join(f"{x['source']}:{x['line']}" for x in conn.get("evidence", []))
    if ev:
        c.print(f"  [dim]lines: {escape(ev)}[/]", soft_wrap=True)
