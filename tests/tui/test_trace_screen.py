"""The trace screen at 130x40: SVG snapshots of a trace of each verdict (allow through the waypoint, L4 deny at
the destination ztunnel, L7 deny at the waypoint, the 1.20 hairpin), and pilot tests of the packet table
(loaded by its worker, filtered with /) and of the evidence pane following the hop cursor."""

from __future__ import annotations

import asyncio
import json

import pytest

from ambientctl.cli.main import main
from tests.tui.tuikit import SIZE, settle

TRACES = {
    "allow": ["--demo"],
    "deny_l4": ["notsleep", "productpage:9080", "--demo", "bookinfo-l4"],
    "deny_l7": ["sleep", "productpage:9080", "--demo", "--method", "DELETE"],
    "hairpin": ["--demo", "hairpin-1.20"],
}


def trace_doc(argv, capsys) -> dict:  # type: ignore[no-untyped-def]
    main(["trace", *argv, "-o", "json"])
    return json.loads(capsys.readouterr().out)


def _app(doc):  # type: ignore[no-untyped-def]
    from ambientctl.tui.trace_app import TraceApp

    return TraceApp(doc)


async def _settled(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)


@pytest.mark.parametrize("name", sorted(TRACES))
def test_trace_snapshot(name, snap_compare, capsys):
    assert snap_compare(_app(trace_doc(TRACES[name], capsys)), terminal_size=SIZE, run_before=_settled)


def test_packet_table_loads_and_filters(capsys):
    asyncio.run(_packet_table(trace_doc(TRACES["deny_l4"], capsys)))


async def _packet_table(doc) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import DataTable

    from ambientctl.tui.widgets.packets import PacketTable

    app = _app(doc)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#packets", PacketTable)
        assert screen.loaded and table.row_count == 18 == len(screen.rows)
        await pilot.press("slash", *"fin", "enter")
        await settle(pilot)
        assert table.row_count == 2  # the FIN of each side
        assert "2 of 18" in str(table.border_title)
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"192.168.13.108:15008 syn", "enter")
        await settle(pilot)
        assert table.row_count == 2  # SYN (to) and SYN-ACK (from) the HBONE port
        await pilot.press("slash", "ctrl+a", "ctrl+k", "enter")
        await settle(pilot)
        assert table.row_count == 18
        # virtual rows: end goes to the last packet, the cursor row is drawn highlighted
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor == 17
        await pilot.press("k", "home")
        assert table.cursor == 0
        # the evidence pane follows the hop cursor: it starts on the denying hop
        assert screen.evidence_index == 2 and "denied here" in _text(doc, 2)
        hops = screen.query_one("#hop-table", DataTable)
        hops.focus()
        hops.move_cursor(row=1)
        await pilot.pause()
        assert screen.evidence_index == 1 and "CONNECT" in _text(doc, 1)


def _text(doc, index: int) -> str:  # type: ignore[no-untyped-def]
    from rich.console import Console

    from ambientctl.tui.screens.trace import evidence_renderable

    c = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    c.print(evidence_renderable(doc, index))
    return c.export_text()


def test_missing_capture_file_is_reported_not_fatal(capsys, tmp_path):
    doc = trace_doc(TRACES["deny_l4"], capsys)
    doc["artifacts"]["directory"] = str(tmp_path)
    asyncio.run(_missing(doc))


async def _missing(doc) -> None:  # type: ignore[no-untyped-def]
    from ambientctl.tui.widgets.packets import PacketTable

    app = _app(doc)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.loaded and app.screen.query_one("#packets", PacketTable).row_count == 0
