"""`ambientctl trace` on a terminal: the trace screen on its own (the same screen the interactive app can
push), so a trace opens straight into its story and evidence."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from ambientctl.tui.screens.trace import TraceScreen


class TraceApp(App):
    CSS_PATH = "ambientctl.tcss"
    TITLE = "ambientctl trace"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit")]

    def __init__(self, doc: dict[str, Any]) -> None:
        super().__init__()
        self.doc = doc

    def get_default_screen(self) -> Screen:
        return TraceScreen(self.doc)


def run_trace_app(doc: dict[str, Any]) -> None:
    TraceApp(doc).run()
