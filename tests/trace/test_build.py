"""The pure join (ambientctl.trace.build): disagreements found and explained, packets alone and logs alone
each enough for a verdict, nothing at all gives 'unknown' and says what is missing."""

from __future__ import annotations

import copy

import pytest

from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from ambientctl.sources.demo import load_demo
from ambientctl.trace.build import build_trace
from ambientctl.trace.replay import demo_root, load_recording


@pytest.fixture(scope="module")
def l4_deny():
    exp = explain(MeshView(load_demo("bookinfo-l4")), "notsleep", "productpage:9080", path="/productpage")
    return exp, load_recording(demo_root() / "bookinfo-l4-notsleep-productpage")


def test_prediction_allow_observed_deny_is_a_disagreement_with_a_suggestion(l4_deny):
    exp, rec = l4_deny
    wrong = copy.deepcopy(exp)
    wrong.update(verdict="allow", enforcedBy="none", decidedBy={"noPolicy": True})
    body = build_trace(wrong, rec.captures, rec.events)
    assert body["agreement"]["result"] == "disagree"
    (d,) = body["agreement"]["disagreements"]
    assert d["field"] == "verdict" and "predicted allow" in d["suggestion"]
    assert any("disagrees" in s for s in body["story"])


def test_packets_alone_give_the_verdict(l4_deny):
    exp, rec = l4_deny
    body = build_trace(exp, rec.captures, [])
    obs = body["observed"]
    assert (obs["verdict"], obs["enforcedBy"], obs["path"]) == ("deny", "dst-ztunnel", "direct-hbone")
    assert "proxy logs: none were read" in body["missing"]


def test_logs_alone_give_the_verdict(l4_deny):
    exp, rec = l4_deny
    body = build_trace(exp, [], rec.events)
    assert body["observed"]["verdict"] == "deny" and body["agreement"]["result"] == "agree"
    assert "packets: no capture for this trace" in body["missing"]


def test_nothing_observed(l4_deny):
    exp, _ = l4_deny
    body = build_trace(exp, [], [])
    assert body["observed"]["verdict"] == "unknown" and body["agreement"]["result"] == "unknown"
    assert "no verdict could be observed" in body["story"][0]
    assert all(h["status"] == "no evidence" for h in body["observed"]["hops"])


def test_unrelated_log_lines_are_left_out(l4_deny):
    from ambientctl.evidence import parse_log_lines

    exp, rec = l4_deny
    other = parse_log_lines([
        '2026-11-23T01:48:00.400000Z\tinfo\taccess\tconnection complete\tsrc.addr=192.168.52.19:40000 '
        'src.workload="reviews-v1-7598cc9867-dh7hp" src.namespace="default" dst.addr=192.168.26.57:15008 '
        'dst.hbone_addr=192.168.26.57:9080 dst.service="ratings.default.svc.cluster.local" '
        'dst.workload="ratings-v1-797c4577bc-d25hc" direction="outbound" bytes_sent=1 bytes_recv=2 duration="3ms"'],
        "ztunnel-fnjg2")
    body = build_trace(exp, rec.captures, rec.events + other)
    texts = [e.get("text", "") for h in body["observed"]["hops"] for e in h["evidence"]]
    assert not any("ratings" in t for t in texts)
