"""The packet list of the trace screen as virtual rows: it keeps the PacketRows (or the filtered subset) in a
plain list and renders only the lines on screen, so a million packets cost a list append each, not a widget
row each (DataTable spends ~0.2 ms per added row, minutes for a big capture)."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ambientctl.trace.packets import PacketRow
from ambientctl.unicode import visible

# (title, width): the info column takes what is left
COLUMNS: tuple[tuple[str, int], ...] = (("no.", 6), ("capture", 12), ("time", 9), ("source", 21),
                                        ("destination", 21), ("len", 5), ("info", 60))


def _fit(text: str, width: int) -> str:
    return text[: width - 1] + "…" if len(text) > width else text.ljust(width)


def row_text(row: PacketRow, t0: float) -> str:
    info = row.info if row.proto in ("TCP", "") else f"{row.proto} {row.info}".strip()
    cells = (str(row.number), row.capture, f"{row.time - t0:.6f}", row.src, row.dst, str(row.length), info)
    return visible(" ".join(_fit(c, w) for c, (_t, w) in zip(cells, COLUMNS, strict=True)))


HEADER = " ".join(_fit(t, w) for t, w in COLUMNS)
WIDTH = len(HEADER)


class PacketTable(ScrollView, can_focus=True):
    """Rows of packets with a cursor (↑↓ j k, pgup/pgdn, g/home, G/end); the header is the first line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("left,h", "sideways(-8)", "Left", show=False),
        Binding("right,l", "sideways(8)", "Right", show=False),
    ]
    DEFAULT_CSS = """
    PacketTable { background: $surface; }
    """
    cursor: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[PacketRow] = []
        self.t0 = 0.0

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def set_rows(self, rows: list[PacketRow], t0: float | None = None) -> None:
        """Show `rows` (the list is kept, not copied: appending to it and calling grow() shows more)."""
        self.rows = rows
        if t0 is not None:
            self.t0 = t0
        self.cursor = min(self.cursor, max(len(rows) - 1, 0))
        self.grow()

    def grow(self) -> None:
        self.virtual_size = Size(WIDTH, len(self.rows) + 1)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:  # the header stays put
            return Strip([Segment(HEADER, base + Style(bold=True, underline=True))]).crop_extend(
                scroll_x, scroll_x + width, base)
        index = scroll_y + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, base)
        style = base
        if index == self.cursor:
            style = base + Style(reverse=True, bold=self.has_focus)
        elif "hbone" in self.rows[index].info:
            style = base + Style(color="cyan")
        return Strip([Segment(row_text(self.rows[index], self.t0), style)]).crop_extend(scroll_x, scroll_x + width,
                                                                                        style)

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh()

    def _show_cursor(self) -> None:
        top = self.scroll_offset.y
        visible = max(self.scrollable_content_region.height - 1, 1)  # minus the header (and any scrollbar)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def action_move(self, delta: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))
            self._show_cursor()

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(self.scrollable_content_region.height - 2, 1))

    def action_jump(self, where: int) -> None:
        if self.rows:
            self.cursor = len(self.rows) - 1 if where < 0 else 0
            self._show_cursor()

    def action_sideways(self, delta: int) -> None:
        self.scroll_to(x=max(0, self.scroll_offset.x + delta), animate=False)
