"""SVG snapshots of what the user sees at 130x40 (review changes with `pytest --snapshot-update` and the
report pytest-textual-snapshot writes): the home screen, the filter in use, the describe screen, and the
explain screen for an allow and a deny (hand-written Explanations, so engine changes do not move them)."""

from __future__ import annotations

from textual.widgets import Input

from tests.tui.tuikit import SIZE, fixed_explainer, make_app, move_to, settle


def _before(*steps):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        for step in steps:
            await step(pilot)
            await settle(pilot)

    return run_before


def press(*keys: str):  # type: ignore[no-untyped-def]
    async def step(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press(*keys)

    return step


def cursor_on(prefix: str):  # type: ignore[no-untyped-def]
    async def step(pilot) -> None:  # type: ignore[no-untyped-def]
        await move_to(pilot, prefix)

    return step


async def no_blink(pilot) -> None:  # type: ignore[no-untyped-def]
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False


def test_home(snap_compare):
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_before())


def test_filter_in_use(snap_compare):
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_before(press("slash", *"rev"), no_blink))


def test_describe(snap_compare):
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_before(cursor_on("details"), press("d")))


def test_explain_allow(snap_compare):
    app = make_app(explainer=fixed_explainer())
    assert snap_compare(app, terminal_size=SIZE, run_before=_before(
        cursor_on("sleep"), press("space"), cursor_on("productpage"), press("space", "t")))


def test_explain_deny(snap_compare):
    app = make_app(explainer=fixed_explainer())
    assert snap_compare(app, terminal_size=SIZE, run_before=_before(
        cursor_on("notsleep"), press("space"), cursor_on("ratings"), press("space", "t")))
