"""Text view of a Trace: the story first (what a support engineer pastes), then predicted vs observed per hop
side by side, the evidence under each hop, the disagreements, what is missing, and the files."""

from __future__ import annotations

from typing import Any, TextIO

from rich.markup import escape
from rich.table import Table

from ambientctl.output.console import section, text_output
from ambientctl.output.explain_text import COMPONENT_LABEL

STATUS_STYLE = {"denied here": "deny", "seen": "ok", "not reached": "dim", "nothing seen": "warn",
                "no evidence": "dim", "skipped": "warn", "seen (not predicted)": "warn"}
KIND_MARK = {"log": "log", "packet": "pkt", "connect": "h2", "policy": "pol", "client": "cli", "absence": "---"}


def render_trace(doc: dict[str, Any], out: TextIO) -> None:
    with text_output(out) as c:
        _render(c, doc)


def _render(c: Any, doc: dict[str, Any]) -> None:
    obs, exp = doc["observed"], doc["explanation"]
    verdict = obs["verdict"]
    style = {"allow": "allow", "deny": "deny"}.get(verdict, "warn")
    agree = doc["agreement"]["result"]
    c.print(f"[{style}]{verdict.upper()}[/]  [dim]observed · prediction: {exp['verdict']} · {agree}[/]")
    for sentence in doc.get("story") or []:
        c.print(escape(sentence))

    t = Table(box=None, show_header=True, header_style="head", pad_edge=False, padding=(0, 2, 0, 0))
    t.add_column("#", style="dim", justify="right")
    t.add_column("hop")
    t.add_column("name")
    t.add_column("predicted")
    t.add_column("observed")
    predicted = {i: h for i, h in enumerate(exp.get("hops") or [])}
    for i, h in enumerate(obs["hops"]):
        p = predicted.get(i) if h["component"] == (predicted.get(i) or {}).get("component") else None
        pred = "—"
        if p is not None:
            pred = "decides" if p["component"] == exp.get("enforcedBy") else "passes"
            if exp.get("verdict") == "deny" and p["component"] == exp.get("enforcedBy"):
                pred = "denies"
        st = h["status"]
        t.add_row(str(i + 1), COMPONENT_LABEL.get(h["component"], h["component"]), escape(str(h.get("name") or "")),
                  pred, f"[{STATUS_STYLE.get(st, 'dim')}]{st}[/]")
    section(c, f"Hops  (predicted path {exp.get('path')}, observed {obs.get('path')})", t)

    ev = Table.grid(padding=(0, 1))
    ev.add_column(style="dim", no_wrap=True)
    ev.add_column()
    for i, h in enumerate(obs["hops"]):
        if not h["evidence"]:
            continue
        ev.add_row(f"{i + 1}.", f"[head]{COMPONENT_LABEL.get(h['component'], h['component'])}[/] "
                   f"{escape(str(h.get('name') or ''))}")
        for e in h["evidence"]:
            ev.add_row(KIND_MARK.get(e["kind"], e["kind"]), escape(_evidence_text(e)))
    if ev.row_count:
        section(c, "Evidence", ev)
    dis = doc["agreement"]["disagreements"]
    if dis:
        d = Table.grid(padding=(0, 1))
        d.add_column(style="warn", no_wrap=True)
        d.add_column()
        for x in dis:
            d.add_row(x["field"], escape(f"predicted {x['predicted']}, observed {x['observed']}: {x['suggestion']}"))
        section(c, "Disagreements", d)
    if doc.get("missing"):
        section(c, "Missing evidence", "\n".join(f"- {escape(m)}" for m in doc["missing"]))
    if doc.get("notes"):
        section(c, "Notes", "\n".join(f"- {escape(n)}" for n in doc["notes"]))
    arts = doc.get("artifacts") or {}
    if arts.get("files"):
        lines = [f"{a['kind']:<7} {a['file']}" + (f"  ({a['pod']} {a['interface']})" if a.get("pod") else "")
                 + (f"  ({a['source']})" if a.get("source") else "") for a in arts["files"]]
        where = f"in {arts['directory']}" if arts.get("directory") else "not kept (--keep DIR saves them)"
        section(c, f"Artifacts  {where}", escape("\n".join(lines)))
    c.print()
    c.print(f"[dim]Istio {exp.get('istioVersion', '?')} behaviour · {(exp.get('source') or {}).get('cluster', '')}[/]")


def _evidence_text(e: dict[str, Any]) -> str:
    if e["kind"] == "log":
        return f"{e['source']}: {e['text']}"
    if e["kind"] == "connect":
        hdrs = "; ".join(f"{k}: {v}" for k, v in (e.get("headers") or {}).items())
        return e["summary"] + (f"\n{hdrs}" if hdrs else "")
    return str(e.get("summary", ""))
