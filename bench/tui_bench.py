#!/usr/bin/env python3
"""TUI budget (design.md §6: no frame over 100 ms), measured with timers in a Pilot-driven run on the synthetic
5,000-pod snapshot (bench/gen_snapshot.py), against a baseline measured in the same run: a bare Textual app
showing a DataTable with the same number of rows and no ambientctl data.

Reported: time to first paint of the pod rows (app start -> rows on screen, including reading the snapshot),
the longest UI stall (the largest gap between ticks of a 10 ms interval timer, minus 10 ms) while the
snapshot loads and findings are counted, and the same for switching to all namespaces (5,000 rows).

usage: bench/tui_bench.py        (generates bench/out/synth.json if missing)
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
TICK = 0.01
SIZE = (160, 50)


class StallMeter:
    """Records the largest gap between ticks of an interval timer running on the app's event loop."""

    def __init__(self) -> None:
        self.last = 0.0
        self.worst = 0.0

    def start(self, app) -> None:  # type: ignore[no-untyped-def]
        self.last = time.perf_counter()
        app.set_interval(TICK, self.tick)

    def tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last - TICK)
        self.last = now

    def reset(self) -> None:
        self.last, self.worst = time.perf_counter(), 0.0


async def until(pilot, cond, timeout: float = 600.0) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    while not cond():
        if time.perf_counter() - t0 > timeout:
            raise SystemExit("timed out")
        await pilot.pause(0.005)
    return time.perf_counter() - t0


async def ambientctl_run(snap: Path) -> dict[str, float]:
    from ambientctl.mesh import MeshView
    from ambientctl.sources.files import load_snapshot
    from ambientctl.tui.app import AmbientApp

    app = AmbientApp(lambda: MeshView(load_snapshot(snap)), f"snapshot {snap}")
    meter = StallMeter()
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        meter.start(app)
        home = app.home
        await until(pilot, lambda: bool(home.shown))
        await pilot.pause()
        out["first paint (s)"] = time.perf_counter() - t0
        first = set(home.order)
        await until(pilot, lambda: first <= set(home.findings))
        out["findings of the first namespace (s)"] = time.perf_counter() - t0
        out["worst stall while loading (ms)"] = meter.worst * 1000
        meter.reset()
        t1 = time.perf_counter()
        await pilot.press("0")
        await until(pilot, lambda: len(home.shown) >= 5000)
        await pilot.pause()
        out["all namespaces: rows on screen (s)"] = time.perf_counter() - t1
        await asyncio.sleep(5)  # findings of 5,000 pods keep arriving in batches meanwhile
        out["all namespaces: findings counted in 5 s"] = len(home.findings)
        out["worst stall, 5,000 rows + findings (ms)"] = meter.worst * 1000
        await pilot.press("j", "j", "j")
        t2 = time.perf_counter()
        await pilot.press("j")
        await pilot.pause()
        out["keypress to repaint, 5,000 rows (ms)"] = (time.perf_counter() - t2) * 1000
    return out


async def baseline_run(rows: int) -> dict[str, float]:
    from textual.app import App
    from textual.widgets import DataTable

    class Bare(App):
        def compose(self):  # type: ignore[no-untyped-def]
            yield DataTable(cursor_type="row")

    app = Bare()
    meter = StallMeter()
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        meter.start(app)
        table = app.query_one(DataTable)
        for c in ("NAME", "MODE", "FINDINGS", "ZTUNNEL", "WAYPOINT", "IP", "NODE"):
            table.add_column(c)
        table.add_rows([(f"app-{i:05d}-5d7f8c9b6-x2k4q", "ambient", "✓", "ready", "waypoint (service)",
                         f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", f"node-{i % 20:03d}") for i in range(rows)])
        await pilot.pause()
        out["first paint (s)"] = time.perf_counter() - t0
        out["worst stall (ms)"] = meter.worst * 1000
        await pilot.press("j", "j", "j")
        t2 = time.perf_counter()
        await pilot.press("down")
        await pilot.pause()
        out["keypress to repaint (ms)"] = (time.perf_counter() - t2) * 1000
    return out


def main() -> int:
    import gc

    from ambientctl.cli.main import GC_THRESHOLDS

    gc.set_threshold(*GC_THRESHOLDS)  # as `ambientctl` runs the app
    snap = HERE / "out" / "synth.json"
    if not snap.exists():
        snap.parent.mkdir(exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "gen_snapshot.py"), str(snap)], check=True)
    amb = asyncio.run(ambientctl_run(snap))
    base100 = asyncio.run(baseline_run(100))
    base5k = asyncio.run(baseline_run(5000))
    width = max(map(len, amb)) + 2
    print(f"ambientctl TUI on {snap.name} (5,000 pods), terminal {SIZE[0]}x{SIZE[1]}")
    for k, v in amb.items():
        print(f"  {k:<{width}} {v:10.3f}")
    print("baseline: bare Textual DataTable, no ambientctl data")
    for n, b in (("100 rows", base100), ("5,000 rows", base5k)):
        for k, v in b.items():
            print(f"  {n + ': ' + k:<{width}} {v:10.3f}")
    print("ratios")
    print(f"  first paint vs bare 100-row table:       {amb['first paint (s)'] / base100['first paint (s)']:8.1f}x")
    print(f"  keypress repaint vs bare 5,000-row table: "
          f"{amb['keypress to repaint, 5,000 rows (ms)'] / base5k['keypress to repaint (ms)']:8.1f}x")
    worst = max(amb["worst stall while loading (ms)"], amb["worst stall, 5,000 rows + findings (ms)"])
    print(f"  worst stall {worst:.0f} ms: {'within' if worst <= 100 else 'OVER'} the 100 ms frame budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
