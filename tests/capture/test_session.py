"""A whole capture run: two capture points streaming at once from real tcpdumps (in a network namespace this test
creates; the exec transport is replaced by a local process), files named per point, renamed from .part when done,
valid for the decoder; and -w - refused for several points."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ambientctl.capture.attach import Attachment
from ambientctl.capture.plan import plan_capture
from ambientctl.capture.session import output_paths, result_doc, run_capture
from ambientctl.decode.capfile import CaptureReader
from ambientctl.errors import UsageError
from ambientctl.mesh import MeshView
from ambientctl.sources.demo import load_demo
from tests.capture.test_stream import ProcessSource, _traffic, netns  # noqa: F401 - netns is a fixture


def _points():  # type: ignore[no-untyped-def]
    return plan_capture(MeshView(load_demo("bookinfo")), ["productpage"]).points  # eth0 + lo of one pod


def test_output_paths(tmp_path: Path) -> None:
    pts = _points()
    assert output_paths(pts, str(tmp_path / "x.pcap")) == [
        str(tmp_path / f"x-{p.name}.pcap") for p in pts]
    assert output_paths(pts, str(tmp_path)) == [str(tmp_path / f"{p.name}.pcap") for p in pts]
    assert output_paths(pts[:1], "one.pcap") == ["one.pcap"]
    assert output_paths(pts[:1], "-") == ["-"]
    with pytest.raises(UsageError, match="takes one capture point"):
        output_paths(pts, "-")
    assert output_paths(pts, None, now=0)[0].startswith("ambientctl-capture-")


class LocalExecApi:
    """exec_stream runs the command in the test's network namespace instead of a pod (the rest is real)."""

    def __init__(self, ns: str):
        self.ns = ns
        self.calls: list[list[str]] = []

    def exec_stream(self, namespace: str, pod: str, container: str, argv: list[str]) -> ProcessSource:
        self.calls.append(argv)
        return ProcessSource(["ip", "netns", "exec", self.ns, *argv])


def test_two_points_stream_at_once_into_valid_files(netns: str, tmp_path: Path) -> None:  # noqa: F811
    pts = _points()
    pts[0].interface, pts[1].interface = "lo", "any"  # the namespace has no eth0
    for p in pts:
        p.filter = "tcp port 9096"
    a = Attachment("default", pts[0].pod.meta.name, "ambientctl-capture-1", "nicolaka/netshoot", "reuse")
    paths = output_paths(pts, str(tmp_path) + "/")
    api = LocalExecApi(netns)
    gen = threading.Thread(target=lambda: (time.sleep(1.0), _traffic(netns, 9096, 5)))
    gen.start()
    runs, interrupted = run_capture(api, pts, {pts[0].pod.meta.key: a}, paths, duration=4, count=None,
                                    stop=threading.Event())
    gen.join()
    assert not interrupted and len(api.calls) == 2
    doc = result_doc(runs, [])
    for p, path in zip(doc["points"], paths, strict=True):
        assert p["error"] is None and p["file"] == path and p["packets"] > 0
        r = CaptureReader(path)
        assert sum(1 for _ in r.records()) == p["packets"] and r.warnings == []
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(Path(p).name for p in paths)  # no .part left
