"""The trace screen: the story on top, the predicted path as a hop diagram, a hop table with predicted vs
observed per hop, the evidence of the selected hop (log lines, CONNECT headers, the deciding policy as YAML
with its rule marked), and the packets of every capture in a table filled by a worker in batches — so a
1M-packet capture loads while the screen keeps answering keys. `/` filters the packets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from ambientctl.trace.packets import PacketRow
from ambientctl.tui.screens.home import VimTable
from ambientctl.tui.widgets.hops import LABEL, HopDiagram
from ambientctl.tui.widgets.packets import PacketTable

STATUS_STYLE = {"denied here": "bold red", "seen": "green", "not reached": "dim", "nothing seen": "yellow",
                "no evidence": "dim", "skipped": "yellow", "seen (not predicted)": "yellow"}


@dataclass
class PacketsLoaded(Message):
    """A batch of packet rows (`done` on the last one, `error` if a capture could not be read)."""

    rows: list[PacketRow]
    done: bool = False
    error: str = ""


@dataclass
class PacketsFiltered(Message):
    needle: str
    rows: list[PacketRow]


def story_renderable(doc: dict[str, Any]) -> Text:
    obs, exp = doc["observed"], doc["explanation"]
    verdict = obs["verdict"]
    style = {"allow": "bold green", "deny": "bold red"}.get(verdict, "bold yellow")
    t = Text.assemble((f" {verdict.upper()} ", f"reverse {style}"), "  ",
                      (f"observed · predicted {exp['verdict']} · {doc['agreement']['result']}", "dim"))
    for sentence in doc.get("story") or []:
        t.append("\n" + sentence)
    return t


def hop_cells(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    exp, obs = doc["explanation"], doc["observed"]
    pred = exp.get("hops") or []
    rows = []
    for i, h in enumerate(obs["hops"]):
        p = pred[i] if i < len(pred) and pred[i]["component"] == h["component"] else None
        predicted = "—"
        if p is not None:
            deciding = p["component"] == exp.get("enforcedBy")
            predicted = ("denies" if exp.get("verdict") == "deny" else "decides") if deciding else "passes"
        rows.append((str(i + 1), LABEL.get(h["component"], h["component"]), str(h.get("name") or "").split("/")[-1],
                     predicted,
                     h["status"], str(len(h["evidence"]))))
    return rows


def policy_yaml(policy: dict[str, Any], rule: int | None) -> tuple[list[str], tuple[int, int] | None]:
    """The policy's spec as YAML lines and the line range of the deciding rule."""
    import yaml

    head = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
            "metadata": {"name": policy.get("name"), "namespace": policy.get("namespace")},
            "spec": {"action": policy.get("action")}}
    lines = yaml.safe_dump(head, sort_keys=False).rstrip().split("\n") + ["  rules:"]
    marked = None
    for i, r in enumerate(policy.get("rules") or []):
        chunk = yaml.safe_dump([r], sort_keys=False).rstrip().split("\n")
        start = len(lines)
        lines += ["  " + c for c in chunk]
        if rule is not None and i == rule:
            marked = (start, len(lines) - 1)
    return lines, marked


def evidence_renderable(doc: dict[str, Any], index: int) -> Group:
    hops = doc["observed"]["hops"]
    if not hops:
        return Group(Text("no hops", style="dim"))
    h = hops[min(index, len(hops) - 1)]
    parts: list[Any] = [Text.assemble((LABEL.get(h["component"], h["component"]) + " ", "bold"),
                                      (str(h.get("name") or ""), "bold"), "  ",
                                      (h["status"], STATUS_STYLE.get(h["status"], "dim")))]
    if not h["evidence"]:
        parts.append(Text("no evidence for this hop", "dim"))
    verdict = doc["observed"]["verdict"]
    for e in h["evidence"]:
        kind = e["kind"]
        if kind == "log":
            parts += [Text(f"log · {e['source']}", "bold cyan"), Text(e["text"], "dim")]
        elif kind == "connect":
            parts.append(Text(f"CONNECT · {e['summary']}", "bold cyan"))
            for k, v in (e.get("headers") or {}).items():
                parts.append(Text.assemble((f"  {k}: ", "cyan"), v))
            if e.get("innerRequest"):
                parts.append(Text(f"  inner: {e['innerRequest']} → {e.get('innerStatus') or 'no answer'}"))
        elif kind == "policy":
            pol = doc["explanation"].get("policy") or {}
            parts.append(Text(f"policy · {e['summary']}", "bold cyan"))
            lines, marked = policy_yaml(pol, e.get("rule"))
            highlighted = Syntax("\n".join(lines), "yaml", theme="ansi_dark").highlight("\n".join(lines))
            mark = "bold red" if verdict == "deny" else "bold green"
            for i, line in enumerate(highlighted.split("\n")[: len(lines)]):
                inside = marked is not None and marked[0] <= i <= marked[1]
                parts.append(Text.assemble(("▶ " if inside else "  ", mark), line))
            if marked is None and "defaultDeny" in (doc["explanation"].get("decidedBy") or {}):
                parts.append(Text("no rule matched: default deny", mark))
        else:
            parts.append(Text.assemble((f"{kind} · ", "bold cyan"), str(e.get("summary", ""))))
    return Group(*parts)


class TraceScreen(Screen):
    DEFAULT_CSS = """
#story {
    height: auto;
    padding: 0 1;
    margin: 1 0 0 0;
}

#trace-panes {
    height: 1fr;
}

#trace-left {
    width: 3fr;
}

#hop-table {
    height: auto;
    max-height: 9;
    border: round $primary-darken-2;
    border-title-color: $accent;
}

#packets {
    height: 1fr;
    border: round $primary-darken-2;
    border-title-color: $accent;
}

#hop-table:focus, #packets:focus, #trace-evidence:focus {
    border: round $accent;
}

#trace-evidence {
    width: 2fr;
    border: round $primary-darken-2;
    border-title-color: $accent;
    border-title-style: bold;
    padding: 0 1;
}

#packet-filter {
    dock: bottom;
    height: 3;
    margin-bottom: 1;
    border: round $warning;
}
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("slash", "filter", "Filter packets", key_display="/"),
        Binding("tab", "app.focus_next", "Next pane", show=False),
        Binding("shift+tab", "app.focus_previous", "Previous pane", show=False),
    ]

    def __init__(self, doc: dict[str, Any], base: str | None = None) -> None:
        """`doc` is a Trace document; packets are read from its artifacts (relative to `base` if given)."""
        super().__init__()
        from ambientctl.unicode import visible_doc

        self.doc = visible_doc(doc)  # log lines and names are shown, never acted on by the terminal
        arts = doc.get("artifacts") or {}  # file names as written: they are opened
        self.base = Path(base or arts.get("directory") or ".")
        self.pcaps = [a for a in arts.get("files") or [] if a.get("kind") == "pcap"]
        self.rows: list[PacketRow] = []
        self.loaded = False
        self.needle = ""
        self.evidence_index = 0

    def compose(self) -> ComposeResult:
        yield Static(story_renderable(self.doc), id="story")
        with Vertical(id="hop-box"):
            yield HopDiagram(id="hops")
        with Horizontal(id="trace-panes"):
            with Vertical(id="trace-left"):
                yield VimTable(id="hop-table", cursor_type="row", zebra_stripes=False)
                yield PacketTable(id="packets")
            yield VerticalScroll(Static("", id="evidence-text"), id="trace-evidence")
        yield Input(placeholder="filter packets (address, port, flag, hbone …)", id="packet-filter")
        yield Footer()

    def on_mount(self) -> None:
        exp = self.doc["explanation"]
        box = self.query_one("#hop-box")
        box.border_title = f"predicted path: {exp.get('path')} · observed: {self.doc['observed']['path']}"
        box.set_classes(self.doc["observed"]["verdict"])
        self.query_one(HopDiagram).doc = exp
        hops = self.query_one("#hop-table", DataTable)
        hops.border_title = "hops: predicted vs observed"
        hops.add_columns("#", "hop", "name", "predicted", "observed", "evidence")
        for cells in hop_cells(self.doc):
            hops.add_row(*cells[:4], Text(cells[4], STATUS_STYLE.get(cells[4], "dim")), cells[5])
        packets = self.query_one("#packets", PacketTable)
        packets.border_title = "packets: loading…" if self.pcaps else "packets: no capture"
        self.query_one("#trace-evidence").border_title = "evidence"
        self.query_one("#packet-filter").display = False
        self.show_evidence(self._first_interesting())
        hops.move_cursor(row=self._first_interesting())
        hops.focus()
        if self.pcaps:
            self.load_packets()

    def _first_interesting(self) -> int:
        hops = self.doc["observed"]["hops"]
        return next((i for i, h in enumerate(hops) if h["status"] == "denied here"),
                    next((i for i, h in enumerate(hops) if h["component"] == self.doc["explanation"].get(
                        "enforcedBy")), 0))

    def show_evidence(self, index: int) -> None:
        self.evidence_index = index
        self.query_one("#evidence-text", Static).update(evidence_renderable(self.doc, index))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "hop-table":
            self.show_evidence(event.cursor_row)

    # -- packets ---------------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="packets")
    def load_packets(self) -> None:
        import gc

        from ambientctl.trace.packets import iter_packet_rows

        for a in self.pcaps:
            try:
                for n, batch in enumerate(iter_packet_rows(str(self.base / a["file"]), a.get("leg") or a["file"])):
                    self.post_message(PacketsLoaded(batch))
                    if n % 20 == 19:
                        # rows live as long as the screen: out of the collector's young generations, or every
                        # older-generation collection walks all of them while the UI waits (230 ms at 1M packets)
                        gc.freeze()
            except Exception as e:  # a damaged or missing capture: say which, keep the others
                self.post_message(PacketsLoaded([], error=f"{a['file']}: {e}"))
        self.post_message(PacketsLoaded([], done=True))

    def on_packets_loaded(self, msg: PacketsLoaded) -> None:
        table = self.query_one("#packets", PacketTable)
        if msg.error:
            self.notify(msg.error, severity="error")
        if msg.rows:
            first = not self.rows
            self.rows.extend(msg.rows)
            if first and not self.needle:
                table.set_rows(self.rows, t0=self.rows[0].time)
            elif not self.needle:
                table.grow()
        if msg.done:
            self.loaded = True
        self._title()

    def _title(self) -> None:
        table = self.query_one("#packets", PacketTable)
        state = "" if self.loaded else " (loading…)"
        shown = f"{table.row_count} of {len(self.rows)}" if self.needle else f"{len(self.rows)}"
        table.border_title = f"packets: {shown}{state}" + (f" · filter {self.needle!r}" if self.needle else "")

    def action_filter(self) -> None:
        box = self.query_one("#packet-filter", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.needle = event.value.strip().lower()
        event.input.display = False
        self.query_one("#packets", PacketTable).focus()
        self.filter_packets(self.needle, list(self.rows))

    # description given: Textual would otherwise describe the worker by repr() of its arguments — a million rows
    @work(thread=True, exclusive=True, group="filter", description="filter packets")
    def filter_packets(self, needle: str, rows: list[PacketRow]) -> None:
        terms = needle.split()
        picked = [r for r in rows if all(t in r.text() for t in terms)] if terms else rows
        self.post_message(PacketsFiltered(needle, picked))

    def on_packets_filtered(self, msg: PacketsFiltered) -> None:
        if msg.needle != self.needle:
            return
        table = self.query_one("#packets", PacketTable)
        table.set_rows(msg.rows if msg.needle else self.rows, t0=self.rows[0].time if self.rows else 0.0)
        self._title()

    def action_back(self) -> None:
        box = self.query_one("#packet-filter", Input)
        if box.display:
            box.display = False
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()
