"""record_live with failures injected through a fake API (no cluster): every capture container refused, and
`--wait` still waits the window, reads the proxies' logs and writes a complete recording that load_recording and
build_trace turn into a report naming what is missing. The real-API-server paths are in test_live_trace.py."""

from __future__ import annotations

import json
import time

from ambientctl.capture.plan import plan_pair
from ambientctl.errors import InputError
from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from ambientctl.sources.demo import load_demo
from ambientctl.trace.build import build_trace
from ambientctl.trace.live import LiveOptions, record_live
from ambientctl.trace.replay import load_recording, log_roles

ZTUNNEL_LINE = ('2026-11-23T01:48:00.423624Z\terror\taccess\tconnection complete\tsrc.addr=192.168.47.210:36436 '
                'src.workload="notsleep-c5589665d8-9jcqj" src.namespace="default" '
                'src.identity="spiffe://cluster.local/ns/default/sa/notsleep" dst.addr=192.168.13.108:15008 '
                'dst.hbone_addr=192.168.13.108:9080 dst.service="productpage.default.svc.cluster.local" '
                'dst.workload="productpage-v1-5586c4d4ff-z8jbb" dst.namespace="default" '
                'dst.identity="spiffe://cluster.local/ns/default/sa/bookinfo-productpage" direction="inbound" '
                'bytes_sent=0 bytes_recv=0 duration="39ms" error="connection closed due to policy rejection: allow '
                'policies exist, but none allowed"\n')


class RefusingApi:
    """Reads of pods are forbidden (so no capture container can be prepared); logs are readable."""

    def __init__(self) -> None:
        self.logs: list[str] = []

    def read_pod(self, namespace: str, name: str) -> dict:
        raise InputError(f"read pod {namespace}/{name}: 403 Forbidden: pods is forbidden")

    def pod_logs(self, namespace: str, pod: str, container: str | None = None, since_seconds: int | None = None) -> str:
        self.logs.append(f"{namespace}/{pod}:{container}:{since_seconds}")
        return ZTUNNEL_LINE if pod.startswith("ztunnel") else ""


def test_wait_with_every_container_refused_still_reports(tmp_path) -> None:  # type: ignore[no-untyped-def]
    view = MeshView(load_demo("bookinfo-l4"))
    exp = explain(view, "notsleep", "productpage:9080")
    plan = plan_pair(view, "notsleep", "productpage:9080")
    api = RefusingApi()
    asked: list[object] = []
    t0 = time.monotonic()
    live = record_live(api, plan, exp, LiveOptions(wait=True, duration=0.6), tmp_path, confirm=asked.append)
    assert time.monotonic() - t0 >= 0.6  # the window was waited, for the user's own request
    assert asked == []  # nothing to add, nothing asked
    assert any("no capture container in default/notsleep-" in m and "403" in m for m in live.missing)
    assert {entry.split(":")[0] for entry in api.logs} == {"istio-system/ztunnel-fnjg2", "istio-system/ztunnel-k4jhb"}
    meta = json.loads((tmp_path / "recording.json").read_text())
    assert meta["captures"] == [] and {entry["source"] for entry in meta["logs"]} == {"ztunnel-fnjg2", "ztunnel-k4jhb"}
    rec = load_recording(tmp_path)
    body = build_trace(exp, rec.captures, rec.events, log_sources=log_roles(list(rec.log_files), exp),
                       missing=live.missing)
    assert body["observed"]["verdict"] == "deny" and body["observed"]["enforcedBy"] == "dst-ztunnel"
    assert body["missing"][: len(live.missing)] == live.missing and "packets: no capture for this trace" in body["missing"]
