"""The interactive app (`ambientctl` on a terminal, or `ambientctl ui`): browse namespaces and pods, describe a
pod, mark two and explain or trace the pair. The cluster state is read in a worker after the first paint; screens ask
the app for the mesh view and run their own workers, and widgets only render what they are handed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from ambientctl.mesh.view import MeshView
from ambientctl.tui.facts import ALL_NAMESPACES, explain_targets, namespace_rows
from ambientctl.tui.messages import LoadFailed, ViewLoaded
from ambientctl.tui.screens.describe import DescribeScreen
from ambientctl.tui.screens.explain import ExplainScreen
from ambientctl.tui.screens.help import HelpScreen
from ambientctl.tui.screens.home import HomeScreen

Explainer = Callable[[MeshView, str, str], dict[str, Any]]
# (view, source pod key, destination reference, confirm(question) -> bool, progress(text)) -> a Trace document
Tracer = Callable[[MeshView, str, str, Callable[[list[Any]], None], Callable[[str], None]], dict[str, Any]]


class AmbientApp(App):
    CSS_PATH = "ambientctl.tcss"
    TITLE = "ambientctl"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("colon", "command_palette", "Commands", key_display=":", show=False),
    ]

    def __init__(self, load: Callable[[], MeshView], source_hint: str = "cluster state",
                 namespace: str | None = None, explainer: Explainer | None = None,
                 tracer: Tracer | None = None) -> None:
        """`load` reads the cluster state (it may block: it runs in a thread); `explainer` replaces the explain
        engine (tests drive the explain screen with hand-written Explanations through it); `tracer` traces a
        pair (a live trace, or a demo's recordings); without one, trace falls back to explain."""
        super().__init__()
        self._tracer = tracer
        self._load = load
        self.source_hint = source_hint
        self.start_namespace = namespace or "default"
        self._explainer = explainer
        self.view: MeshView | None = None
        self.home = HomeScreen()

    def get_default_screen(self) -> Screen:
        return self.home

    def on_mount(self) -> None:
        import sys

        # Workers (reading the cluster, describing 5,000 pods for their findings) are Python threads: by default
        # each may hold the GIL for 5 ms at a time, and two of them starve the event loop for a frame or more.
        sys.setswitchinterval(0.001)
        self.load_view()

    @work(thread=True, exclusive=True, group="load")
    def load_view(self) -> None:
        import gc

        from ambientctl.errors import AmbientctlError

        # The model is long-lived and acyclic in practice: no collections while it is built (each would walk the
        # growing model while the UI waits), then out of the collector's way for good (gc.freeze), so later full
        # collections do not walk 5,000 pods either.
        gc.disable()
        try:
            view = self._load()
            rows = namespace_rows(view)
        except AmbientctlError as e:
            self.home.post_message(LoadFailed(str(e)))
            return
        finally:
            gc.freeze()
            gc.enable()
        self.view = view
        self.home.post_message(ViewLoaded(view, rows))

    def explainer(self) -> Explainer:
        """The explain engine (imported on first use; ImportError while it is not there)."""
        if self._explainer is None:
            from ambientctl.explain.engine import explain

            self._explainer = explain
        return self._explainer

    # -- navigation used by screens and commands -------------------------------------------------------------
    def describe(self, pod_key: str) -> None:
        self.push_screen(DescribeScreen(pod_key))

    def _pod(self, key: str) -> Any:
        """The pod of `key` in the loaded state, or None (said in a notification)."""
        pod = next((p for p in self.view.cluster.pods if p.meta.key == key), None) if self.view else None
        if pod is None and self.view is not None:
            self.notify(f"pod {key} is not in the cluster state", severity="error")
        return pod

    def explain_pair(self, src_key: str, dst_key: str, replace: bool = False) -> None:
        dst = self._pod(dst_key)
        if dst is None or self.view is None:
            return
        screen = ExplainScreen(src_key, dst_key, explain_targets(self.view, dst))
        if replace:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def trace_pair(self, src_key: str, dst_key: str) -> None:
        """Trace SRC → DST with the tracer (in a thread: a live trace attaches containers and captures for
        seconds); the trace screen opens when it is done. Without a tracer, explain instead."""
        dst = self._pod(dst_key)
        if dst is None or self.view is None:
            return
        if self._tracer is None:
            self.notify("trace needs packets and logs: a live cluster, or a demo with recordings (ambientctl "
                        "--demo bookinfo); showing explain", severity="warning")
            self.explain_pair(src_key, dst_key)
            return
        self.home.tracing(f"tracing {src_key} → {explain_targets(self.view, dst)[0]}…")
        self._run_trace(src_key, explain_targets(self.view, dst)[0])

    @work(thread=True, exclusive=True, group="trace")
    def _run_trace(self, src_key: str, dst_ref: str) -> None:
        import threading

        from ambientctl.errors import AmbientctlError
        from ambientctl.tui.screens.confirm import ConfirmScreen

        def confirm(creates: list[Any]) -> None:
            answer: list[bool] = []
            done = threading.Event()
            pods = ", ".join(getattr(a, "key", str(a)) for a in creates)
            question = (f"Add an ephemeral capture container (nicolaka/netshoot) to {pods}?\n\nEphemeral "
                        "containers cannot be removed from a pod; ambientctl reuses it next time.")

            def got(yes: bool | None) -> None:
                answer.append(bool(yes))
                done.set()

            self.call_from_thread(self.push_screen, ConfirmScreen(question), got)
            done.wait()
            if not answer[0]:
                raise AmbientctlError("not confirmed: nothing was added")

        def progress(text: str) -> None:
            self.call_from_thread(self.home.tracing, text)

        try:
            assert self._tracer is not None and self.view is not None
            doc = self._tracer(self.view, src_key, dst_ref, confirm, progress)
        except AmbientctlError as e:
            self.call_from_thread(self.home.tracing, "")
            self.call_from_thread(self.notify, str(e), severity="error", timeout=10)
            return
        self.call_from_thread(self._show_trace, doc)

    def _show_trace(self, doc: dict[str, Any]) -> None:
        from ambientctl.tui.screens.trace import TraceScreen

        self.home.tracing("")
        self.push_screen(TraceScreen(doc))

    def mark(self, index: int, pod_key: str) -> None:
        self.home.set_mark(index, pod_key)
        self.notify(f"{'SRC' if index == 0 else 'DST'}: {pod_key}")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # -- command palette ---------------------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        if self.view is not None:
            yield SystemCommand("Describe pod…", "Pick a pod and describe it", self._pick_describe)
            yield SystemCommand("Switch namespace…", "Show the pods of another namespace", self._pick_namespace)
            yield SystemCommand("Explain SRC → DST…", "Pick a source pod, then a destination pod, and explain",
                                self._pick_source)
            marks = self.home.marks
            if len(marks) == 2:
                yield SystemCommand(f"Explain {marks[0]} → {marks[1]}", "Explain the marked pair",
                                    lambda: self.explain_pair(marks[0], marks[1]))
                yield SystemCommand(f"Trace {marks[0]} → {marks[1]}", "Trace the marked pair (packets and logs)",
                                    lambda: self.trace_pair(marks[0], marks[1]))
        yield SystemCommand("Help", "Show every key", self.action_help)
        yield from super().get_system_commands(screen)

    def _pods_for_palette(self) -> list[str]:
        assert self.view is not None
        ns = self.home.namespace
        pods = self.view.cluster.pods if ns in ("", ALL_NAMESPACES) else self.view.cluster.pods_in(ns)
        return sorted(p.meta.key for p in pods)

    def _pick_describe(self) -> None:
        self.search_commands([(k, (lambda k=k: self.describe(k))) for k in self._pods_for_palette()],
                             placeholder="Describe pod…")

    def _pick_namespace(self) -> None:
        assert self.view is not None
        names = [ALL_NAMESPACES, *sorted(set(self.view.cluster.namespaces) |
                                         {p.meta.namespace for p in self.view.cluster.pods})]

        def go(ns: str) -> None:
            while len(self.screen_stack) > 1 and self.screen is not self.home:
                self.pop_screen()
            self.home.switch_namespace(ns)

        self.search_commands([("all namespaces" if n == ALL_NAMESPACES else n, (lambda n=n: go(n))) for n in names],
                             placeholder="Switch namespace…")

    def _pick_source(self) -> None:
        def picked(src: str) -> None:
            self.mark(0, src)
            self.call_after_refresh(self._pick_destination, src)

        self.search_commands([(k, (lambda k=k: picked(k))) for k in self._pods_for_palette()],
                             placeholder="Explain: source pod…")

    def _pick_destination(self, src: str) -> None:
        def picked(dst: str) -> None:
            self.mark(1, dst)
            self.explain_pair(src, dst)

        self.search_commands([(k, (lambda k=k: picked(k))) for k in self._pods_for_palette() if k != src],
                             placeholder=f"Explain {src} → destination pod…")


def run_app(load: Callable[[], MeshView], source_hint: str, namespace: str | None = None,
            tracer: Tracer | None = None) -> int:
    AmbientApp(load, source_hint, namespace, tracer=tracer).run()
    return 0
