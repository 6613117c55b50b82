"""Tracing a pair from the home screen (mark SRC and DST, `T`): on a demo with recordings the trace screen opens
with the recording's story; a pair nobody recorded, or a snapshot (no packets, no logs), says so in one
notification and the app stays usable; a live tracer's question about ephemeral containers is a modal whose
answer reaches the tracer, and a "no" ends the trace with nothing attached."""

from __future__ import annotations

import asyncio
from typing import Any

from ambientctl.errors import AmbientctlError
from ambientctl.tui.screens.confirm import ConfirmScreen
from ambientctl.tui.screens.explain import ExplainScreen
from ambientctl.tui.screens.trace import TraceScreen
from tests.tui.tuikit import SIZE, make_app, move_to, pod_key, settle


def l4_view():  # type: ignore[no-untyped-def]
    from ambientctl.mesh import MeshView
    from ambientctl.sources.demo import load_demo

    return MeshView(load_demo("bookinfo-l4"))


def run(app, scenario) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await scenario(pilot)

    asyncio.run(main())


async def mark(pilot, src: str, dst: str) -> None:  # type: ignore[no-untyped-def]
    await move_to(pilot, src)
    await pilot.press("space")
    await move_to(pilot, dst)
    await pilot.press("space")


def notes(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(n.message) for n in app._notifications]


def test_demo_recording_opens_the_trace_screen() -> None:
    from ambientctl.cli.commands.trace import demo_tracer

    app = make_app(load=l4_view, tracer=demo_tracer("bookinfo-l4"))

    async def scenario(pilot) -> None:  # type: ignore[no-untyped-def]
        await mark(pilot, "notsleep", "productpage")
        await pilot.press("T")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, TraceScreen), notes(pilot.app)
        assert screen.doc["observed"]["verdict"] == "deny"
        assert screen.doc["observed"]["enforcedBy"] == "dst-ztunnel"
        await pilot.press("escape")
        assert pilot.app.screen is pilot.app.home

    run(app, scenario)


def test_unrecorded_pair_is_one_notification_and_the_app_goes_on() -> None:
    from ambientctl.cli.commands.trace import demo_tracer

    app = make_app(load=l4_view, tracer=demo_tracer("bookinfo-l4"))

    async def scenario(pilot) -> None:  # type: ignore[no-untyped-def]
        await mark(pilot, "sleep", "ratings")
        await pilot.press("T")
        await settle(pilot)
        assert pilot.app.screen is pilot.app.home
        assert any("has no recording from" in n and "notsleep → productpage:9080 GET" in n
                   for n in notes(pilot.app)), notes(pilot.app)
        await pilot.press("d")  # still usable
        await settle(pilot)
        assert pilot.app.screen is not pilot.app.home

    run(app, scenario)


def test_without_a_tracer_trace_falls_back_to_explain() -> None:
    app = make_app()

    async def scenario(pilot) -> None:  # type: ignore[no-untyped-def]
        await mark(pilot, "sleep", "productpage")
        await pilot.press("T")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ExplainScreen)
        assert any("showing explain" in n for n in notes(pilot.app))

    run(app, scenario)


class LiveLike:
    """A tracer shaped like the live one: asks before attaching, reports progress, then returns a demo doc."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.progress: list[str] = []

    def __call__(self, view, src: str, dst: str, confirm, progress) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        from ambientctl.cli.commands.trace import demo_tracer

        self.calls.append((src, dst))
        progress("adding ambientctl-capture-1 to the pods")
        self.progress.append("asked")
        confirm([type("A", (), {"key": src})()])
        return demo_tracer("bookinfo-l4")(view, src, dst)


def test_live_tracer_asks_in_a_modal_and_no_means_nothing_attached() -> None:
    tracer = LiveLike()
    app = make_app(load=l4_view, tracer=tracer)

    async def scenario(pilot) -> None:  # type: ignore[no-untyped-def]
        await mark(pilot, "notsleep", "productpage")
        await pilot.press("T")
        for _ in range(50):
            await pilot.pause(0.02)
            if isinstance(pilot.app.screen, ConfirmScreen):
                break
        assert isinstance(pilot.app.screen, ConfirmScreen)
        assert "cannot be removed" in pilot.app.screen.question
        assert tracer.calls == [(pod_key(pilot.app, "notsleep"), "productpage.default:9080")]
        await pilot.press("n")
        await settle(pilot)
        assert pilot.app.screen is pilot.app.home
        assert any("not confirmed" in n for n in notes(pilot.app))
        # and yes goes through to the trace screen
        await pilot.press("T")
        for _ in range(50):
            await pilot.pause(0.02)
            if isinstance(pilot.app.screen, ConfirmScreen):
                break
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(pilot.app.screen, TraceScreen)

    run(app, scenario)


def test_tracer_errors_are_notifications() -> None:
    def broken(view, src, dst, confirm, progress):  # type: ignore[no-untyped-def]
        raise AmbientctlError("cannot reach the API server at https://127.0.0.1:1 (exec): connection refused")

    app = make_app(tracer=broken)

    async def scenario(pilot) -> None:  # type: ignore[no-untyped-def]
        await mark(pilot, "sleep", "productpage")
        await pilot.press("T")
        await settle(pilot)
        assert pilot.app.screen is pilot.app.home
        assert any("cannot reach the API server" in n for n in notes(pilot.app))

    run(app, scenario)
