"""Text views for `ambientctl capture`: the plan (one block per capture point: where, which interface, which
filter, and the sentence saying why), and the summary of a finished capture (files, packets, bytes, problems)."""

from __future__ import annotations

from typing import Any, TextIO

from rich.markup import escape
from rich.padding import Padding
from rich.text import Text

from ambientctl.output.console import text_output
from ambientctl.words import count


def render_plan(doc: dict[str, Any], out: TextIO) -> None:
    with text_output(out) as c:
        path = f" · path {doc['path']}" if doc.get("path") else ""
        c.print(f"[head]Capture plan[/] {escape(doc['target'])}  [dim]Istio {doc['istioVersion']} · "
                f"{doc['redirection']} redirection{path}[/]")
        for p in doc["points"]:
            c.print()
            c.print(f"  [key]{escape(p['role'])}[/]  [name]{escape(p['namespace'])}/{escape(p['pod'])}[/]"
                    f"  [dim]node {escape(p['node'] or '?')}[/]", soft_wrap=True)
            c.print(f"    interface [info]{escape(p['interface'])}[/]  filter [info]{escape(p['filter'] or '(none)')}[/]"
                    f"  [dim]sees {', '.join(p['sees'])}[/]", soft_wrap=True)
            c.print(Padding(Text(p["why"], style="dim"), (0, 0, 0, 4)))
        for n in doc.get("notes") or []:
            c.print()
            c.print(Padding(Text.assemble(("note: ", "warn"), n), (0, 0, 0, 2)))


def render_result(doc: dict[str, Any], out: TextIO) -> None:
    with text_output(out) as c:
        for p in doc["points"]:
            where = p.get("file") or "-"
            line = (f"{escape(p['name'])}: {count(p['packets'], 'packet')}, {_size(p['bytes'])} → {escape(where)}"
                    if p.get("file") is not None or p["packets"] else f"{escape(p['name'])}: no capture")
            c.print(line, soft_wrap=True)
            if p.get("dropped"):
                c.print(f"  [dim]{count(p['dropped'], 'byte')} of a partial last packet left out (the file stays valid)[/]")
            if p.get("error"):
                c.print(f"  [error]{escape(p['error'])}[/]", soft_wrap=True)
        for n in doc.get("notes") or []:
            c.print(f"[warn]note:[/] {escape(n)}", soft_wrap=True)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def progress_line(states: list[Any], elapsed: float) -> str:
    """One status line while streaming: packets and bytes per capture point."""
    parts = []
    for s in states:
        mark = " done" if s.done else ""
        parts.append(f"{s.name}: {s.writer.packets} pkts {_size(s.writer.bytes)}{mark}")
    return f"capturing {elapsed:.0f}s · " + " · ".join(parts)
