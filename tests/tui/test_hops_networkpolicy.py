"""The hop diagram marks the hops a NetworkPolicy drop never reached (explain's `hops[].reached: false`)."""

from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from ambientctl.sources.demo import load_demo
from ambientctl.tui.widgets.hops import HopDiagram


def test_unreached_hops_are_marked():
    doc = explain(MeshView(load_demo("ambient-1.31")), "reviews-v1", "ratings:9080")
    w = HopDiagram()
    vertical = w._vertical(doc).plain
    assert vertical.count("not reached") == 2  # dst ztunnel and server
    horizontal = w._horizontal(doc, 22).plain
    assert horizontal.count("not reached") == 2
