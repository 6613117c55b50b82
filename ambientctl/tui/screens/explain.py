"""The explain screen: for a (SRC, DST[:port]) pair, the verdict, the hop diagram with the deciding component
highlighted, the reasons as sentences, L7 routing, warnings, and the evidence (the deciding policy's YAML with
its rule marked). The engine runs in a worker; this screen only renders the Explanation it returns."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ambientctl.output.explain_text import decided_sentence
from ambientctl.tui.messages import ExplanationReady
from ambientctl.tui.widgets.evidence import EvidencePane
from ambientctl.tui.widgets.hops import HopDiagram


def _party(p: dict[str, Any]) -> str:
    if p.get("namespace") and p.get("name"):
        return f"{p['namespace']}/{p['name']}"
    return str(p.get("ip") or p.get("ref") or "?")


def verdict_renderable(doc: dict[str, Any]) -> Text:
    allow = doc["verdict"] == "allow"
    style = "bold green" if allow else "bold red"
    req = doc.get("request") or {}
    port = req.get("port") or (doc.get("destination") or {}).get("port")
    what = (f"{req.get('method', '')} {req.get('path', '')}".strip() if req.get("protocol", "http") == "http"
            else "TCP")
    t = Text.assemble((f" {doc['verdict'].upper()} ", f"reverse {style}"), "  ",
                      (_party(doc["source"]), "bold"), " → ",
                      (_party(doc["destination"]) + (f":{port}" if port else ""), "bold"),
                      (f"  {what}" if what else "", "dim"), ("  · path ", "dim"), (doc["path"], "bold cyan"))
    t.append("\n")
    t.append(decided_sentence(doc), style)
    if doc.get("outcome"):
        t.append(f"\nclient sees: {doc['outcome']}", "dim")
    return t


def why_renderable(doc: dict[str, Any]) -> Group:
    from rich.table import Table

    reasons = Table.grid(padding=(0, 1))
    reasons.add_column(no_wrap=True, style="dim", justify="right")
    reasons.add_column()
    for i, r in enumerate(doc.get("reasons") or [], 1):
        reasons.add_row(f"{i}.", r)
    parts: list[Any] = [Text("Why", "bold underline"), reasons]
    routing = doc.get("routing")
    if routing:
        parts += [Text(""), Text("L7 routing", "bold underline")]
        rt = routing.get("route") or {}
        if rt:
            rule = f"rule {rt['rule']}" if rt.get("rule") is not None else "no rule"
            parts.append(Text.assemble(("route    ", "bold cyan"),
                                       f"{rt.get('kind', '')} {rt.get('namespace', '')}/{rt.get('name', '')}, {rule}"
                                       + (f" (matches {rt['match']})" if rt.get("match") else ""),
                                       (f"  {routing.get('appliedBy', '')}", "dim")))
        for b in routing.get("backends") or []:
            subset = f" subset {b['subset']}" if b.get("subset") else ""
            parts.append(Text.assemble(("backend  ", "bold cyan"), (f"{b['percent']:g}%", "bold"),
                                       f" → {b['host']}{subset}  ", (", ".join(b.get("pods") or []), "dim")))
        fault = routing.get("fault") or {}
        if "delay" in fault:
            parts.append(Text.assemble(("fault    ", "bold cyan"), (f"delay {fault['delay']['fixedDelay']} on "
                                                                    f"{fault['delay']['percent']:g}% of requests",
                                                                    "yellow")))
        if "abort" in fault:
            parts.append(Text.assemble(("fault    ", "bold cyan"), (f"abort HTTP {fault['abort']['httpStatus']} on "
                                                                    f"{fault['abort']['percent']:g}% of requests",
                                                                    "yellow")))
        if routing.get("timeout"):
            parts.append(Text.assemble(("timeout  ", "bold cyan"), str(routing["timeout"])))
        if routing.get("retries"):
            rr = routing["retries"]
            parts.append(Text.assemble(("retries  ", "bold cyan"), f"{rr.get('attempts')} attempts"
                                       + (" (Istio default)" if rr.get("default") else "")))
    if doc.get("warnings"):
        parts += [Text(""), Text("Warnings", "bold underline yellow")]
        found = doc.get("findings") or []
        said = {x["message"] for x in found}
        parts += [Text.assemble(("▲ ", "red" if x["severity"] == "error" else "yellow"), (f"{x['id']}  ", "yellow"),
                                x["message"]) for x in found]
        parts += [Text.assemble(("▲ ", "yellow"), w) for w in doc["warnings"] if w not in said]
    if doc.get("endpoints"):
        parts += [Text(""), Text("Endpoints", "bold underline")]
        for e in doc["endpoints"]:
            parts.append(Text.assemble((f"{e['verdict']:<5} ", "green" if e["verdict"] == "allow" else "red"),
                                       str(e.get("pod")), (f"  at {e.get('enforcedBy')}", "dim")))
    parts += [Text(""), Text(f"Istio {doc.get('istioVersion', '?')} behaviour · "
                             f"{(doc.get('source') or {}).get('cluster', '')}", "dim")]
    return Group(*parts)


class ExplainScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("p", "next_target", "Next DST address/port"),
        Binding("P", "next_target(-1)", "Previous", show=False),
        Binding("r", "swap", "Reverse SRC↔DST"),
    ]

    def __init__(self, src_key: str, dst_key: str, targets: list[str]) -> None:
        super().__init__()
        self.src_key = src_key
        self.dst_key = dst_key
        self.targets = targets
        self.target = 0

    @property
    def src_ref(self) -> str:
        ns, _, name = self.src_key.partition("/")
        return f"pod/{name}.{ns}"

    def compose(self) -> ComposeResult:
        yield Static("", id="info")
        yield Static("", id="verdict")
        with Vertical(id="hop-box"):
            yield HopDiagram(id="hops")
        with Horizontal(id="explain-panes"):
            yield VerticalScroll(Static("", id="why-text"), id="why")
            yield VerticalScroll(EvidencePane("", id="evidence-text"), id="evidence")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#why").border_title = "why"
        self.query_one("#evidence").border_title = "evidence"
        self.query_one("#hop-box").border_title = "path"
        self.run_explain()

    def _update_info(self) -> None:
        t = Text.assemble(("explain ", "bold"), (self.src_key, "bold cyan"), " → ",
                          (self.targets[self.target], "bold cyan"))
        if len(self.targets) > 1:
            t.append(f"   address {self.target + 1} of {len(self.targets)} (p: next)", "dim")
        self.query_one("#info", Static).update(t)

    def run_explain(self) -> None:
        self._update_info()
        self.query_one("#explain-panes").loading = True
        self.explain(self.targets[self.target])

    @work(thread=True, exclusive=True, group="explain")
    def explain(self, dst_ref: str) -> None:
        from ambientctl.errors import AmbientctlError
        from ambientctl.tui.facts import policy_evidence

        try:
            fn = self.app.explainer()
        except ImportError as e:
            self.post_message(ExplanationReady(dst_ref, None, [], f"explain engine not available ({e}); the "
                                                                  "explain screen needs ambientctl/explain/engine.py"))
            return
        try:
            doc = fn(self.app.view, self.src_ref, dst_ref)
        except AmbientctlError as e:
            self.post_message(ExplanationReady(dst_ref, None, [], str(e)))
            return
        evidence = policy_evidence(self.app.view, doc.get("decidedBy") or {})
        self.post_message(ExplanationReady(dst_ref, doc, evidence))

    def on_explanation_ready(self, msg: ExplanationReady) -> None:
        if msg.dst_ref != self.targets[self.target]:
            return
        self.query_one("#explain-panes").loading = False
        self.show(msg.doc, msg.evidence, msg.error)

    def show(self, doc: dict[str, Any] | None, evidence: list[Any], error: str = "") -> None:
        verdict = self.query_one("#verdict", Static)
        hops = self.query_one(HopDiagram)
        box = self.query_one("#hop-box")
        if doc is None:
            verdict.update(Text.assemble((" NO ANSWER ", "reverse bold yellow"), "  ", (error, "bold yellow")))
            verdict.set_classes("")
            hops.doc = None
            self.query_one("#why-text", Static).update("")
            self.query_one(EvidencePane).update("")
            return
        verdict.update(verdict_renderable(doc))
        verdict.set_classes(doc["verdict"])
        box.border_title = f"path: {doc['path']}"
        box.set_classes(doc["verdict"])
        hops.doc = doc
        self.query_one("#why-text", Static).update(why_renderable(doc))
        self.query_one(EvidencePane).show(doc, evidence)

    def action_next_target(self, step: int = 1) -> None:
        self.target = (self.target + step) % len(self.targets)
        self.run_explain()

    def action_swap(self) -> None:
        self.app.explain_pair(self.dst_key, self.src_key, replace=True)
