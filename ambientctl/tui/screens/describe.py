"""The describe screen: one pod's PodDescription, section by section, with the same facts and words as
`ambientctl describe pod` (its sections come from the text renderer) and the findings called out on top."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ambientctl.tui.messages import DescriptionReady
from ambientctl.tui.widgets.themed import Collector, Themed

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
SEVERITY_MARK = {"error": "✖", "warning": "▲", "info": "●"}


def description_sections(doc: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """The text renderer's sections, as (title, renderables)."""
    from ambientctl.output import pod_text

    c = Collector()
    pod_text._render(c, doc)
    return c.sections("Pod")


class DescribeScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "mark(0)", "Mark as SRC"),
        Binding("D", "mark(1)", "Mark as DST"),
        Binding("j", "scroll(1)", "Down", show=False),
        Binding("k", "scroll(-1)", "Up", show=False),
    ]

    def __init__(self, pod_key: str) -> None:
        super().__init__()
        self.pod_key = pod_key

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("describe pod ", "bold"), (self.pod_key, "bold cyan")), id="info")
        yield Static(Text("…", "dim"), id="summary")
        yield VerticalScroll(id="sections")
        yield Footer()

    def on_mount(self) -> None:
        box = self.query_one("#sections", VerticalScroll)
        box.loading = True
        box.focus()
        self.describe()

    @work(thread=True, exclusive=True, group="describe")
    def describe(self) -> None:
        from ambientctl.errors import AmbientctlError
        from ambientctl.tui.facts import describe

        view = self.app.view
        pod = next((p for p in view.cluster.pods if p.meta.key == self.pod_key), None)
        if pod is None:
            self.post_message(DescriptionReady(self.pod_key, None, f"pod {self.pod_key} is not in the cluster state"))
            return
        try:
            doc = describe(view, pod)
        except AmbientctlError as e:
            self.post_message(DescriptionReady(self.pod_key, None, str(e)))
            return
        self.post_message(DescriptionReady(self.pod_key, doc))

    async def on_description_ready(self, msg: DescriptionReady) -> None:
        box = self.query_one("#sections", VerticalScroll)
        box.loading = False
        summary = self.query_one("#summary", Static)
        if msg.doc is None:
            summary.update(Text(msg.error, "bold red"))
            return
        summary.update(self._summary(msg.doc))
        widgets = []
        sections = description_sections(msg.doc)
        if msg.doc["findings"]:  # what is wrong comes right after who the pod is
            sections.sort(key=lambda s: 0 if s[0] == "Pod" else 1 if s[0] == "Findings" else 2)
        for title, body in sections:
            from rich.console import Group

            w = Static(Themed(Group(*body)), classes="section" if title else "footnote")
            w.border_title = title
            if title == "Findings":
                sev = {f["severity"] for f in msg.doc["findings"]}
                w.add_class("error" if "error" in sev else "warning" if "warning" in sev else "clean")
            widgets.append(w)
        await box.mount_all(widgets)

    @staticmethod
    def _summary(doc: dict[str, Any]) -> Text:
        mesh = doc["mesh"]
        style = {"ambient": "bold green", "sidecar": "bold cyan"}.get(mesh["mode"], "bold yellow")
        t = Text.assemble((f" {mesh['mode'].upper()} ", f"reverse {style}"), "  ")
        findings = doc["findings"]
        if not findings:
            t.append("✓ no findings", "green")
        for f in findings:
            sev = f["severity"]
            t.append(f"{SEVERITY_MARK.get(sev, '●')} {f['id']}  ", SEVERITY_STYLE.get(sev, ""))
        return t

    def action_scroll(self, lines: int) -> None:
        self.query_one("#sections", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_mark(self, index: int) -> None:
        self.app.mark(index, self.pod_key)
