"""The `?` screen: every key, grouped by screen, in the words k9s users already know."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Everywhere", [
        ("?", "this help"),
        (": or ctrl+p", "command palette: describe pod…, switch namespace…, explain SRC → DST…"),
        ("esc", "back (or clear the filter / the marks)"),
        ("q", "quit"),
    ]),
    ("Pods", [
        ("↑ ↓  j k", "move"),
        ("g G", "first / last pod"),
        ("enter  d", "describe the pod"),
        ("space", "mark the pod as SRC, then another as DST (again: unmark)"),
        ("t  x", "explain SRC → DST (or SRC → the pod under the cursor)"),
        ("T", "trace SRC → DST: live (attach, capture, curl, logs) or the demo's recording; asks before attaching"),
        ("/", "filter by name, node, IP, mode or waypoint; enter keeps it, esc clears it"),
        ("n", "go to the namespace list (enter comes back)"),
        ("0", "all namespaces"),
    ]),
    ("Describe", [
        ("s  D", "mark this pod as SRC / DST"),
        ("↑ ↓  j k  pgup pgdn", "scroll"),
    ]),
    ("Trace", [
        ("/", "filter the packets"),
        ("tab", "next pane (hops, packets, evidence)"),
    ]),
    ("Explain", [
        ("p  P", "next / previous way to address DST (service port, pod IP)"),
        ("r", "reverse: DST → SRC"),
    ]),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "app.pop_screen", "Close"),
    ]

    def compose(self) -> ComposeResult:
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold cyan", no_wrap=True, min_width=18)
        t.add_column()
        for group, keys in KEYS:
            t.add_row(Text(group, "bold underline"), "")
            for key, what in keys:
                t.add_row(key, what)
            t.add_row("", "")
        t.add_row(Text("esc closes this help", "dim"), "")
        box = VerticalScroll(Static(t), id="help-box")
        box.border_title = "keys"
        yield box
