"""The app driven by Textual's Pilot on the bundled bookinfo demo: navigation, the `/` filter, describe, help,
marking SRC and DST and explaining the pair (with the real engine and with hand-written Explanations), the
command palette, and the failures a user can meet (no engine, unreadable cluster state)."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable, Input, Static

from ambientctl.errors import InputError
from ambientctl.tui.screens.describe import DescribeScreen
from ambientctl.tui.screens.explain import ExplainScreen
from ambientctl.tui.screens.help import HelpScreen
from ambientctl.tui.widgets.hops import HopDiagram
from tests.tui.tuikit import SIZE, fixed_explainer, make_app, move_to, pod_key, settle


def run(scenario, app=None):  # type: ignore[no-untyped-def]
    app = app or make_app()

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await scenario(pilot)

    asyncio.run(main())
    return app


def _text(widget: Static) -> str:
    """What a Static shows, as plain text (rich renderables rendered with the text theme, 200 columns)."""
    import io

    from rich.console import Console

    from ambientctl.output.console import THEME

    content = widget.content
    if isinstance(content, str):
        return content
    c = Console(file=io.StringIO(), width=200, theme=THEME, color_system=None)
    c.print(content)
    return c.file.getvalue()


def test_home_shows_namespaces_and_pods_with_mode_waypoint_ztunnel_findings():
    async def scenario(pilot):
        app = pilot.app
        assert "demo bookinfo" in _text(app.home.query_one("#info", Static))
        assert "Istio 1.28" in _text(app.home.query_one("#info", Static))
        ns = app.home.query_one("#namespaces", DataTable)
        assert [ns.get_row_at(i)[0].plain for i in range(ns.row_count)][:3] == ["all namespaces", "default",
                                                                                 "istio-system"]
        assert app.home.namespace == "default"
        pods = app.home.query_one("#pods", DataTable)
        assert pods.row_count == 10 and app.focused is pods
        row = pods.get_row(pod_key(app, "productpage"))
        cells = dict(zip([c.key.value for c in pods.ordered_columns], [getattr(x, "plain", x) for x in row],
                         strict=True))
        assert cells["mode"] == "ambient" and cells["waypoint"] == "waypoint (service)"
        # the three callers that skip the waypoint's L7 policy (pod IP, out of mesh, sidecar): describe's findings
        assert cells["ztunnel"] == "ready" and cells["findings"] == "3"
        details = pods.get_row(pod_key(app, "details"))
        assert details[4].plain == "! details-waypoint not used"
        assert details[2].plain == "1"  # the waypoint-not-used finding, counted by the findings worker
        assert pods.get_row(pod_key(app, "waypoint"))[1].plain == "waypoint"

    run(scenario)


def test_navigation_between_namespaces_and_pods():
    async def scenario(pilot):
        app = pilot.app
        await pilot.press("n")
        assert app.focused.id == "namespaces"
        await pilot.press("down")  # default -> istio-system
        await settle(pilot)
        assert app.home.namespace == "istio-system"
        assert app.home.query_one("#pods", DataTable).border_title.startswith("pods(istio-system)[5]")
        await pilot.press("enter")
        assert app.focused.id == "pods"
        await pilot.press("0")
        await settle(pilot)
        assert app.home.namespace == "*" and len(app.home.shown) == 24
        pods = app.home.query_one("#pods", DataTable)
        # The cursor stays on the pod it was on (istio-system's first) when the namespace widens.
        assert pods.cursor_row == sorted(app.home.order).index(app.home.cursor_pod()) != 0
        before = pods.cursor_row
        await pilot.press("j", "j", "k")
        assert pods.cursor_row == before + 1

    run(scenario)


def test_filter_typing_enter_and_escape():
    async def scenario(pilot):
        app = pilot.app
        pods = app.home.query_one("#pods", DataTable)
        await pilot.press("slash")
        box = app.home.query_one("#filter", Input)
        assert box.display and app.focused is box
        await pilot.press(*"review")
        assert pods.row_count == 3 and all("reviews" in k for k in app.home.shown)
        await pilot.press("enter")  # keep the filter, back to the table
        assert app.focused is pods and pods.row_count == 3 and "</review>" in pods.border_title
        await pilot.press("slash", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace",
                          *"sidecar")
        assert [k.split("/")[1].split("-")[0] for k in app.home.shown] == ["httpbin"]
        await pilot.press("escape")  # clears the filter and leaves the input
        assert pods.row_count == 10 and not box.display and app.focused is pods

    run(scenario)


def test_describe_with_enter_and_d_then_back():
    async def scenario(pilot):
        app = pilot.app
        await move_to(pilot, "details")
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DescribeScreen) and screen.pod_key.startswith("default/details-v1")
        titles = [w.border_title for w in screen.query(".section")]
        # Findings move up right after the pod when there are any; every text section is there.
        assert titles[:2] == ["Pod", "Findings"]
        assert {"Services", "L7", "Authorization policies", "PeerAuthentication"} <= set(titles)
        findings = next(w for w in screen.query(".section") if w.border_title == "Findings")
        assert findings.has_class("warning")
        assert "waypoint-not-used" in _text(screen.query_one("#summary", Static))
        await pilot.press("escape")
        assert app.screen is app.home
        await move_to(pilot, "productpage")
        await pilot.press("d")
        await settle(pilot)
        pol = next(w for w in app.screen.query(".section") if w.border_title == "Authorization policies")
        assert "ALLOW default/productpage-viewer  → waypoint default/waypoint" in _text(pol)

    run(scenario)


def test_help_screen_lists_keys_and_closes():
    async def scenario(pilot):
        app = pilot.app
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = _text(app.screen.query_one("#help-box Static"))
        for key in ("space", "enter  d", "t  x", "/", "esc", "q"):
            assert key in text
        await pilot.press("escape")
        assert app.screen is app.home

    run(scenario)


def test_mark_two_pods_and_explain_with_the_engine():
    async def scenario(pilot):
        app = pilot.app
        await move_to(pilot, "notsleep")
        await pilot.press("space")
        await move_to(pilot, "ratings")
        await pilot.press("space")
        assert app.home.marks == [pod_key(app, "notsleep"), pod_key(app, "ratings")]
        assert "SRC" in _text(app.home.query_one("#marks", Static))
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ExplainScreen)
        assert screen.targets[0] == "ratings.default:9080"
        doc = screen.query_one(HopDiagram).doc
        # The seed's L4 demo answer for bookinfo: notsleep is not allowed to call ratings (default deny at the
        # destination ztunnel because ratings-viewer's only rule needs HTTP).
        assert doc["verdict"] == "deny" and doc["enforcedBy"] == "dst-ztunnel"
        assert "DENY" in _text(screen.query_one("#verdict", Static))
        evidence = _text(screen.query_one("#evidence-text", Static))
        assert "ratings-viewer" in evidence
        await pilot.press("p")  # the pod IP instead of the service
        await settle(pilot)
        assert screen.targets[screen.target].startswith("192.168.26.57:")
        await pilot.press("escape", "escape")
        assert app.screen is app.home and app.home.marks == []

    run(scenario)


def test_explain_renders_a_handwritten_explanation_and_marks_the_rule():
    explainer = fixed_explainer()

    async def scenario(pilot):
        app = pilot.app
        await move_to(pilot, "sleep")
        await pilot.press("space")
        await move_to(pilot, "productpage")
        await pilot.press("x")
        await settle(pilot)
        screen = app.screen
        assert explainer.calls == [(f"pod/{pod_key(app, 'sleep').split('/')[1]}.default", "productpage.default:9080")]
        hops = str(screen.query_one(HopDiagram).render())
        for label in ("client", "ztunnel (src)", "waypoint", "ztunnel (dst)", "server", "✔ allows here"):
            assert label in hops
        assert screen.query_one("#hop-box").border_title == "path: via-waypoint"
        lines = _text(screen.query_one("#evidence-text", Static)).splitlines()
        marked = [ln for ln in lines if ln.startswith("▶ ")]
        assert marked[0] == "▶   - from:" and any("cluster.local/ns/default/sa/sleep" in ln for ln in marked)
        why = _text(screen.query_one("#why-text", Static))
        assert "delay 5s on 100% of requests" in why

    run(scenario, make_app(explainer=explainer))


def test_explain_needs_a_source_and_says_so():
    async def scenario(pilot):
        await pilot.press("t")
        await pilot.pause()
        assert pilot.app.screen is pilot.app.home
        assert any("Mark a source" in n.message for n in pilot.app._notifications)

    run(scenario)


def test_explain_engine_missing_is_a_clear_message():
    def missing(*_):
        raise ImportError("No module named 'ambientctl.explain.engine'")

    app = make_app()
    app.explainer = missing  # type: ignore[method-assign]

    async def scenario(pilot):
        await move_to(pilot, "sleep")
        await pilot.press("space")
        await move_to(pilot, "productpage")
        await pilot.press("t")
        await settle(pilot)
        assert "explain engine not available" in _text(pilot.app.screen.query_one("#verdict", Static))

    run(scenario, app)


def test_unreadable_cluster_state_is_one_line_on_the_home_screen():
    def broken():
        raise InputError("x.yaml: document 2: metadata.name: missing")

    async def scenario(pilot):
        info = _text(pilot.app.home.query_one("#info", Static))
        assert "cannot read the cluster state: x.yaml: document 2: metadata.name: missing" in info
        await pilot.press("q")

    run(scenario, make_app(load=broken))


def test_command_palette_describe_and_switch_namespace():
    async def scenario(pilot):
        app = pilot.app
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press(*"Switch namespace", "enter")
        await pilot.pause()
        await pilot.press(*"istio-system", "enter")
        await settle(pilot)
        assert app.home.namespace == "istio-system"
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press(*"Describe pod", "enter")
        await pilot.pause()
        await pilot.press(*"istiod", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DescribeScreen) and app.screen.pod_key.startswith("istio-system/istiod-")

    run(scenario)


def test_long_namespace_names_are_not_cut(tmp_path):  # type: ignore[no-untyped-def]
    """The namespace pane widens to the longest name (up to 40 columns): a tmux look found them truncated."""
    from ambientctl.mesh import MeshView
    from ambientctl.sources.files import load_snapshot
    from tests.tui.tuikit import make_app

    name = "payments-settlement-batch-prod"  # 30 characters
    (tmp_path / "s.yaml").write_text(
        f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{istio.io/dataplane-mode: ambient}}}}\n"
        "---\napiVersion: v1\nkind: Pod\n"
        f"metadata: {{name: api-1, namespace: {name}}}\nspec: {{containers: [{{name: a, image: b}}]}}\n"
        "status: {phase: Running, podIP: 10.0.0.9}\n")
    app = make_app(load=lambda: MeshView(load_snapshot(tmp_path / "s.yaml")))

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        table = app.home.query_one("#namespaces", DataTable)
        assert next(iter(table.columns.values())).width == len(name)
        assert any(name in table.render_line(y).text for y in range(4))  # the whole name is drawn

    run(scenario, app)
