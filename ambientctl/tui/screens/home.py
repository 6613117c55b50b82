"""The home screen: namespaces on the left, the selected namespace's pods on the right (k9s habits: `/` to
filter, enter to describe, esc to back out). Rows are computed in a thread worker; findings counts (a full
describe per pod) arrive afterwards in batches, so the table is usable at once even with 5,000 pods."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from ambientctl.tui.facts import ALL_NAMESPACES, NamespaceRow, PodRow, findings_of, pod_row, pods_of
from ambientctl.tui.messages import FindingsCounted, LoadFailed, PodsReady, ViewLoaded

MODE_STYLE = {"ambient": "bold green", "sidecar": "bold cyan", "none": "dim"}
ZTUNNEL_STYLE = {"ready": "green", "NOT READY": "bold red", "missing": "bold red"}
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "": "green"}
POD_COLUMNS = (("name", "NAME", None), ("mode", "MODE", None), ("findings", "FINDINGS", 8),
               ("ztunnel", "ZTUNNEL", None), ("waypoint", "WAYPOINT", None), ("ip", "IP", None), ("node", "NODE", None))
BATCH_SECONDS = 0.25  # findings: post what is counted at most this often (each batch repaints the table)
NS_MIN_WIDTH, NS_MAX_WIDTH = 15, 40  # the NAMESPACE column
NS_PANE_EXTRA = 19  # AMB, WP and PODS columns, padding and borders beside it
FILL_CHUNK = 100  # rows added to the table per turn of the event loop (~0.2 ms each in DataTable)


class VimTable(DataTable):
    """A row-cursor DataTable with the j/k/g/G keys k9s users reach for; home/end go to the first/last row
    (DataTable's own end scrolls to the last column, which in a terminal looks like the table slid sideways)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g,home", "scroll_top", "Top", show=False),
        Binding("G,end", "scroll_bottom", "Bottom", show=False),
    ]


def _mode_cell(row: PodRow) -> Text:
    """ambient | sidecar | none, or what the pod is when it is part of the mesh itself (waypoint, ztunnel...)."""
    if row.role != "workload":
        return Text(row.role, "magenta")
    return Text(row.mode, MODE_STYLE.get(row.mode, ""))


def _name_cell(row: PodRow, mark: str, all_ns: bool) -> Text:
    name = row.key if all_ns else row.name
    if not mark:
        return Text(name)
    return Text.assemble((mark, "bold reverse magenta"), " ", (name, "bold"))


def _waypoint_cell(row: PodRow) -> Text:
    if row.waypoint.startswith("!"):
        return Text(row.waypoint, "bold yellow")
    return Text(row.waypoint or "–", "" if row.waypoint else "dim")


def _findings_cell(count: tuple[int, str] | None) -> Text:
    if count is None:
        return Text("…", "dim")
    n, worst = count
    return Text(str(n) if n else "✓", SEVERITY_STYLE.get(worst, ""))


class HomeScreen(Screen):
    AUTO_FOCUS = "#pods"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "describe", "Describe"),
        Binding("space", "mark", "Mark SRC/DST", key_display="space"),
        Binding("t,x", "explain", "Explain SRC→DST"),
        Binding("T", "trace", "Trace SRC→DST", key_display="T"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("n", "focus_namespaces", "Namespaces"),
        Binding("0", "all_namespaces", "All ns", show=False),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.namespace = ""
        self.rows: dict[str, PodRow] = {}
        self.order: list[str] = []
        self.filter = ""
        self.marks: list[str] = []  # [SRC] or [SRC, DST] pod keys
        self.findings: dict[str, tuple[int, str]] = {}  # pod key -> (count, worst): survives namespace switches
        self.shown: set[str] = set()  # pod keys in the table now
        self._fill_generation = 0

    def compose(self) -> ComposeResult:
        yield Static("ambientctl", id="info")
        with Horizontal(id="panes"):
            with Vertical(id="ns-pane"):
                yield VimTable(id="namespaces", cursor_type="row", zebra_stripes=False)
            with Vertical(id="pod-pane"):
                yield VimTable(id="pods", cursor_type="row", zebra_stripes=True)
        yield Input(placeholder="filter pods (name, node, IP, mode, waypoint) — enter keeps it, esc clears it",
                    id="filter")
        yield Static("", id="marks")
        yield Footer()

    def _namespace_columns(self, width: int) -> None:
        ns = self.query_one("#namespaces", DataTable)
        ns.clear(columns=True)
        ns.add_column("NAMESPACE", key="name", width=width)
        ns.add_column("AMB", key="ambient")
        ns.add_column("WP", key="waypoints")
        ns.add_column("PODS", key="pods")
        # the pane follows the longest name (up to 40 columns), so names are not cut
        self.query_one("#ns-pane").styles.width = width + NS_PANE_EXTRA

    def on_mount(self) -> None:
        self._namespace_columns(NS_MIN_WIDTH)
        ns = self.query_one("#namespaces", DataTable)
        ns.border_title = "namespaces"
        pods = self.query_one("#pods", DataTable)
        for key, label, width in POD_COLUMNS:
            pods.add_column(label, key=key, width=width)
        pods.border_title = "pods"
        self.query_one("#filter", Input).display = False
        self.query_one("#info", Static).update(Text(f"ambientctl  loading {self.app.source_hint}…", "dim"))
        pods.loading = True
        self._update_marks()

    # -- loading -----------------------------------------------------------------------------------------
    def on_view_loaded(self, msg: ViewLoaded) -> None:
        self._update_info()
        longest = max((len(r.name) for r in msg.namespaces if r.name != ALL_NAMESPACES), default=0)
        self._namespace_columns(min(max(NS_MIN_WIDTH, longest), NS_MAX_WIDTH))
        ns = self.query_one("#namespaces", DataTable)
        for r in msg.namespaces:
            ns.add_row(*self._ns_cells(r), key=r.name)
        start = self.app.start_namespace
        names = [r.name for r in msg.namespaces]
        if start not in names:
            start = next((r.name for r in msg.namespaces if r.ambient), names[1] if len(names) > 1 else names[0])
        ns.move_cursor(row=names.index(start))
        self.select_namespace(start)

    def on_load_failed(self, msg: LoadFailed) -> None:
        pods = self.query_one("#pods", DataTable)
        pods.loading = False
        self.query_one("#info", Static).update(Text.assemble(("cannot read the cluster state: ", "bold red"),
                                                             msg.error, ("   (q quits)", "dim")))

    def _update_info(self) -> None:
        view = self.app.view
        if view is None:
            return
        t = Text.assemble(("ambientctl ", "bold"), ("│ ", "dim"), (view.cluster.source or "?", "bold cyan"),
                          (" │ ", "dim"), ("Istio ", ""), (view.version.label, "bold"),
                          (f" ({view.install.version_source})", "dim"))
        self.query_one("#info", Static).update(t)

    @staticmethod
    def _ns_cells(r: NamespaceRow) -> tuple[Text, Text, Text, Text]:
        name = Text("all namespaces", "italic") if r.name == ALL_NAMESPACES else Text(r.name)
        amb = Text("", "dim") if r.name == ALL_NAMESPACES else (Text("✔", "green") if r.ambient
                                                                 else Text("–", "dim"))
        return name, amb, Text(str(r.waypoints) if r.waypoints else "–", "" if r.waypoints else "dim"), \
            Text(str(r.pods), "dim")

    def select_namespace(self, namespace: str) -> None:
        if namespace == self.namespace or self.app.view is None:
            return
        self.namespace = namespace
        self.query_one("#pods", DataTable).loading = True
        self.compute_rows(namespace)

    @work(thread=True, exclusive=True, group="rows")
    def compute_rows(self, namespace: str) -> None:
        view = self.app.view
        rows = [pod_row(view, p) for p in pods_of(view, namespace)]
        self.post_message(PodsReady(namespace, rows))

    def on_pods_ready(self, msg: PodsReady) -> None:
        if msg.ns != self.namespace:
            return
        self.rows = {r.key: r for r in msg.rows}
        self.order = [r.key for r in msg.rows]
        self._fill_table()
        pods = self.query_one("#pods", DataTable)
        pods.loading = False
        if not isinstance(self.focused, Input) and (self.focused is None or self.focused.id != "namespaces"):
            pods.focus()
        missing = [k for k in self.order if k not in self.findings]
        if missing:
            self.count_findings(msg.ns, missing)

    @work(thread=True, exclusive=True, group="findings", description="count findings")  # not repr(5,000 keys)
    def count_findings(self, namespace: str, keys: list[str]) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        view = self.app.view
        by_key = {p.meta.key: p for p in pods_of(view, namespace)}
        batch: dict[str, tuple[int, str]] = {}
        last = time.monotonic()
        for key in keys:
            if worker.is_cancelled:
                return
            pod = by_key.get(key)
            if pod is None:
                continue
            try:
                batch[key] = findings_of(view, pod)
            except Exception as e:  # one pod the model cannot describe must not hide the others
                self.log.error(f"findings for {key}: {e!r}")
                batch[key] = (-1, "error")
            if time.monotonic() - last >= BATCH_SECONDS:
                self.post_message(FindingsCounted(namespace, batch))
                batch, last = {}, time.monotonic()
        if batch:
            self.post_message(FindingsCounted(namespace, batch))

    def on_findings_counted(self, msg: FindingsCounted) -> None:
        self.findings.update(msg.counts)
        table = self.query_one("#pods", DataTable)
        for key, count in msg.counts.items():
            if key in self.shown:
                table.update_cell(key, "findings", _findings_cell(count))

    # -- the pod table -----------------------------------------------------------------------------------
    def _fill_table(self) -> None:
        """(Re)fill the pod table: the first rows at once, the rest in chunks on later turns of the event loop,
        so 5,000 rows never freeze the screen (a refill started meanwhile abandons the old one)."""
        table = self.query_one("#pods", DataTable)
        cursor_key = self.cursor_pod()
        table.clear()
        self._fill_generation += 1
        keys = [k for k in self.order if not self.filter or self.rows[k].matches(self.filter)]
        all_ns = self.namespace == ALL_NAMESPACES
        self.shown = set()
        title_ns = "all" if all_ns else self.namespace
        table.border_title = f"pods({title_ns})[{len(keys)}]" + (f" </{self.filter}>" if self.filter else "")
        self._fill_chunk(self._fill_generation, keys, 0, all_ns, cursor_key)

    def _fill_chunk(self, generation: int, keys: list[str], start: int, all_ns: bool, cursor_key: str | None) -> None:
        if generation != self._fill_generation:
            return
        table = self.query_one("#pods", DataTable)
        chunk = keys[start:start + FILL_CHUNK]
        for k in chunk:
            table.add_row(*self._cells(self.rows[k], all_ns), key=k)
        self.shown.update(chunk)
        if cursor_key in chunk:
            table.move_cursor(row=table.get_row_index(cursor_key))
        if start + FILL_CHUNK < len(keys):
            self.set_timer(0.001, lambda: self._fill_chunk(generation, keys, start + FILL_CHUNK, all_ns, cursor_key))

    def _cells(self, r: PodRow, all_ns: bool) -> list[Text]:
        mark = ""
        if r.key in self.marks:
            mark = "SRC" if self.marks.index(r.key) == 0 else "DST"
        zt = Text(r.ztunnel or "–", ZTUNNEL_STYLE.get(r.ztunnel, "dim"))
        return [_name_cell(r, mark, all_ns), _mode_cell(r), _findings_cell(self.findings.get(r.key)), zt, _waypoint_cell(r), Text(r.ip),
                Text(r.node, "dim")]

    def cursor_pod(self) -> str | None:
        table = self.query_one("#pods", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return key

    @on(DataTable.RowHighlighted, "#namespaces")
    def _namespace_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.select_namespace(event.row_key.value)

    @on(DataTable.RowSelected, "#namespaces")
    def _namespace_selected(self, event: DataTable.RowSelected) -> None:
        self.query_one("#pods", DataTable).focus()

    @on(DataTable.RowSelected, "#pods")
    def _pod_selected(self, event: DataTable.RowSelected) -> None:
        self.action_describe()

    # -- actions -----------------------------------------------------------------------------------------
    def action_describe(self) -> None:
        key = self.cursor_pod()
        if key:
            self.app.describe(key)

    def action_mark(self) -> None:
        key = self.cursor_pod()
        if not key:
            return
        if key in self.marks:
            self.marks.remove(key)
        elif len(self.marks) < 2:
            self.marks.append(key)
        else:
            self.marks[1] = key
        self.refresh_marks()
        table = self.query_one("#pods", DataTable)
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def set_mark(self, index: int, key: str) -> None:
        """Mark `key` as SRC (0) or DST (1) — used by the command palette."""
        if key in self.marks:
            self.marks.remove(key)
        if index == 0:
            self.marks.insert(0, key)
            del self.marks[2:]
        else:
            self.marks[1:] = [key]
        self.refresh_marks()

    def refresh_marks(self) -> None:
        table = self.query_one("#pods", DataTable)
        all_ns = self.namespace == ALL_NAMESPACES
        for key in self.shown:
            row = self.rows[key]
            mark = ""
            if key in self.marks:
                mark = "SRC" if self.marks.index(key) == 0 else "DST"
            table.update_cell(key, "name", _name_cell(row, mark, all_ns), update_width=True)
        self._update_marks()

    def _update_marks(self) -> None:
        bar = self.query_one("#marks", Static)
        if not self.marks:
            bar.update(Text("space marks a pod as SRC, then another as DST; t explains the pair, T traces it", "dim"))
            return
        t = Text.assemble(("SRC ", "bold reverse magenta"), " ", (self.marks[0], "bold"))
        if len(self.marks) > 1:
            t.append("  →  ").append("DST", "bold reverse magenta").append(" ").append(self.marks[1], "bold")
            t.append("   t: explain   T: trace   esc: clear marks", "dim")
        else:
            t.append("   now mark the destination (space), or t to explain SRC → the pod under the cursor", "dim")
        bar.update(t)

    def _pair(self) -> tuple[str, str] | None:
        if not self.marks:
            self.app.notify("Mark a source pod with space first (then a destination, or put the cursor on it).",
                            severity="warning")
            return None
        dst = self.marks[1] if len(self.marks) > 1 else self.cursor_pod()
        if not dst or dst == self.marks[0]:
            self.app.notify("Choose a destination pod other than the source.", severity="warning")
            return None
        return self.marks[0], dst

    def action_explain(self) -> None:
        pair = self._pair()
        if pair:
            self.app.explain_pair(*pair)

    def action_trace(self) -> None:
        pair = self._pair()
        if pair:
            self.app.trace_pair(*pair)

    def tracing(self, text: str) -> None:
        """Show a running trace's progress in the marks bar ("" when it is over)."""
        if not text:
            self._update_marks()
            return
        self.query_one("#marks", Static).update(Text.assemble(("TRACE ", "bold reverse yellow"), " ", text))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.value = self.filter
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter = event.value.strip()
        self._fill_table()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        box = self.query_one("#filter", Input)
        box.display = bool(self.filter)
        self.query_one("#pods", DataTable).focus()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus or self.filter:
            self.filter = ""
            box.value = ""
            box.display = False
            self._fill_table()
            self.query_one("#pods", DataTable).focus()
        elif self.marks:
            self.marks = []
            self.refresh_marks()
        elif self.focused is not None and self.focused.id == "namespaces":
            self.query_one("#pods", DataTable).focus()

    def action_focus_namespaces(self) -> None:
        self.query_one("#namespaces", DataTable).focus()

    def action_all_namespaces(self) -> None:
        self.switch_namespace(ALL_NAMESPACES)

    def switch_namespace(self, namespace: str) -> None:
        ns = self.query_one("#namespaces", DataTable)
        try:
            ns.move_cursor(row=ns.get_row_index(namespace))
        except Exception:
            return
        self.select_namespace(namespace)
        self.query_one("#pods", DataTable).focus()
