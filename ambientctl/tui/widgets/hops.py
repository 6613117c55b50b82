"""The hop diagram: client → src ztunnel → waypoint → dst ztunnel → server as boxes with the protocol and port
of each leg, the node under each box, and the component that decided the verdict drawn in the verdict's colour.
Wide terminals get boxes side by side; narrow ones a vertical list, so nothing is ever cut off mid-name."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

LABEL = {
    "client": "client",
    "src-ztunnel": "ztunnel (src)",
    "waypoint": "waypoint",
    "dst-ztunnel": "ztunnel (dst)",
    "server": "server",
    "sidecar": "sidecar",
}
CONNECTOR = 10  # columns between boxes: "──hbone──▶"
MIN_BOX = 14
MAX_BOX = 30


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _dropped(doc: dict[str, Any], hop: dict[str, Any]) -> bool:
    """A hop the connection never reached because a NetworkPolicy dropped it on the wire (explain's `reached`)."""
    return doc.get("enforcedBy") == "networkpolicy" and hop.get("reached") is False


def _short(name: str) -> str:
    return name.split("/", 1)[1] if "/" in name else name


class HopDiagram(Widget):
    """Renders the `hops` of an Explanation; `doc` is the whole Explanation body (verdict, enforcedBy)."""

    doc: reactive[dict[str, Any] | None] = reactive(None, layout=True)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        hops = (self.doc or {}).get("hops") or []
        if not hops:
            return 1
        notes = sum(1 for h in hops if h.get("note"))
        if self._box_width(width, len(hops)):
            return 6 + notes
        return 3 * len(hops) - 2 + notes

    def _box_width(self, width: int, n: int) -> int:
        w = (width - CONNECTOR * (n - 1)) // max(n, 1)
        return min(w, MAX_BOX) if w >= MIN_BOX else 0

    def render(self) -> Text:
        doc = self.doc
        if not doc or not doc.get("hops"):
            return Text("no path", style="dim")
        width = self.content_region.width or self.size.width
        box = self._box_width(width, len(doc["hops"]))
        return self._horizontal(doc, box) if box else self._vertical(doc)

    def _decider_style(self, doc: dict[str, Any], hop: dict[str, Any]) -> str:
        if _dropped(doc, hop):
            return "red"
        if hop["component"] == doc.get("enforcedBy"):
            return "bold green" if doc.get("verdict") == "allow" else "bold red"
        return "dim"

    def _horizontal(self, doc: dict[str, Any], box: int) -> Text:
        hops = doc["hops"]
        inner = box - 2
        rows = [Text() for _ in range(6)]
        for i, h in enumerate(hops):
            bs = self._decider_style(doc, h)
            deciding = h["component"] == doc.get("enforcedBy")
            rows[0].append("╭" + "─" * inner + "╮", bs)
            rows[1].append("│", bs).append(_fit(LABEL.get(h["component"], h["component"]), inner).center(inner),
                                           "bold").append("│", bs)
            rows[2].append("│", bs).append(_fit(_short(h["name"]), inner).center(inner)).append("│", bs)
            rows[3].append("│", bs).append(_fit(h.get("node") or "", inner).center(inner), "dim").append("│", bs)
            rows[4].append("╰" + "─" * inner + "╯", bs)
            mark = ""
            if deciding:
                mark = "✔ allows here" if doc.get("verdict") == "allow" else "✖ denies here"
            elif _dropped(doc, h):
                mark = "✕ not reached"
            elif h["component"] == "server":
                mark = f"listens :{h['port']}"
            rows[5].append(_fit(mark, box).center(box), bs if deciding or _dropped(doc, h) else "dim")
            if i < len(hops) - 1:
                proto = _fit(str(h.get("protocol") or ""), CONNECTOR - 2)
                port = _fit(f":{h['port']}", CONNECTOR - 2)
                rows[0].append(" " * CONNECTOR)
                rows[1].append(proto.center(CONNECTOR), "cyan")
                rows[2].append("─" * (CONNECTOR - 1) + "▶", "cyan")
                rows[3].append(port.center(CONNECTOR), "dim")
                rows[4].append(" " * CONNECTOR)
                rows[5].append(" " * CONNECTOR)
        out = Text("\n").join(rows)
        for n, note in enumerate(h["note"] for h in hops if h.get("note")):
            out.append(f"\n{'*' * (n + 1)} {note}", "yellow")
        return out

    def _vertical(self, doc: dict[str, Any]) -> Text:
        out = Text()
        hops = doc["hops"]
        for i, h in enumerate(hops):
            bs = self._decider_style(doc, h)
            deciding = h["component"] == doc.get("enforcedBy")
            out.append("● " if deciding else "○ ", bs)
            out.append(f"{LABEL.get(h['component'], h['component'])}  ", "bold")
            out.append(h["name"])
            if h.get("node"):
                out.append(f"  {h['node']}", "dim")
            if deciding:
                out.append("  ✔ allows here" if doc.get("verdict") == "allow" else "  ✖ denies here", bs)
            elif _dropped(doc, h):
                out.append("  ✕ not reached (dropped on the wire)", bs)
            if h.get("note"):
                out.append(f"\n  {h['note']}", "yellow")
            if i < len(hops) - 1:
                out.append(f"\n│ {h.get('protocol')} :{h['port']}\n", "cyan")
                out.append("▼\n", "cyan")
        return out
