"""Lets the rich renderables of ambientctl/output (which name styles like `ok`, `warn`, `deny` from the text
theme) render inside Textual: the theme is pushed while they are turned into lines. This is how the describe
screen reuses the text renderer's sections instead of duplicating them."""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement

from ambientctl.output.console import THEME


class Themed:
    def __init__(self, renderable: Any):
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        console.push_theme(THEME)
        try:
            lines = console.render_lines(self.renderable, options, pad=False, new_lines=True)
        finally:
            console.pop_theme()
        for line in lines:
            yield from line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        console.push_theme(THEME)
        try:
            return Measurement.get(console, options, self.renderable)
        finally:
            console.pop_theme()


class Collector:
    """Stands in for a rich Console for the output renderers: keeps what they print, in order, as
    (section title or None, [renderables]) — `section()` prints a blank line, a `[head]` title, then the body."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def print(self, *objects: Any, **_: Any) -> None:
        self.items.append(objects[0] if objects else "")

    def sections(self, first_title: str) -> list[tuple[str, list[Any]]]:
        """Titled sections in order; what follows a blank line without a title (a footer) gets title ""."""
        from rich.padding import Padding
        from rich.text import Text

        out: list[tuple[str, list[Any]]] = [(first_title, [])]
        items = self.items
        i = 0
        while i < len(items):
            item = items[i]
            nxt = items[i + 1] if i + 1 < len(items) else None
            if item == "" and isinstance(nxt, str) and nxt.startswith("[head]") and nxt.endswith("[/]"):
                out.append((nxt[len("[head]"):-3], []))
                i += 2
                continue
            if item == "":
                out.append(("", []))
            elif isinstance(item, Padding):  # the section body's indent: a border does that job here
                out[-1][1].append(item.renderable)
            else:
                out[-1][1].append(Text.from_markup(item) if isinstance(item, str) else item)
            i += 1
        return [(title, body) for title, body in out if body]
