"""Connections stitched from several proxies' logs, classified, and compared with explain predictions."""

import pytest

from ambientctl.evidence import compare, correlate, parse_log_lines


def test_doc_pair_joins_into_one_direct_connection(realdata):
    lines = (realdata / "istio-io-docs/ztunnel-access-logs-istio1.22-2024-05.log").read_text().splitlines()
    conns = correlate(parse_log_lines(lines, "docs"))
    assert len(conns) == 5  # the inbound+outbound pair of productpage, and 4 reviews calls seen only at the source
    first = conns[0]
    assert first.outbound is not None and first.inbound is not None
    assert first.outbound.bytes_sent == first.inbound.bytes_recv == 80
    assert (first.path, first.verdict) == ("direct-hbone", "allow")
    assert {c.outbound.dst_workload for c in conns[1:]} == {"reviews-v3-7d99fd7978-zznnq",
                                                            "reviews-v1-5fd6d4f8f8-26j92",
                                                            "reviews-v2-6f9b55c5db-c2dtw"}


def test_legacy_logs_group_by_span_id(realdata):
    lines = (realdata / "istio-io-docs/ztunnel-logs-istio1.19-2023-08-plaintext-format.log").read_text().splitlines()
    conns = correlate(parse_log_lines(lines, "zt"))
    assert len(conns) == 5
    fast = next(c for c in conns if c.id == "7d344076d398339f1e51a74803d6c854")
    assert len(fast.events) == 2 and fast.path == "direct-hbone" and "fast path" in fast.path_detail
    direct = next(c for c in conns if c.id == "9d99723a61c9496532d34acec5c77126")
    assert direct.path == "direct-hbone" and direct.verdict == "allow" and direct.outbound.duration_ms == 46.9099


def test_issue_lines_verdicts(realdata):
    lines = (realdata / "github-issues/ztunnel-access-logs-from-issues.log").read_text().splitlines()
    conns = correlate(parse_log_lines(lines, "issues"))
    got = {(c.verdict, c.error.code if c.error else None, c.path) for c in conns}
    assert got == {
        ("deny", "hbone-status-401", "unknown"),
        ("failed", "network-policy-15008", "direct-hbone"),
        ("deny", "policy-not-allowed", "direct-hbone"),
        ("deny", "policy-not-allowed", "plaintext-passthrough"),
        ("deny", "policy-rejected", "direct-hbone"),
    }


# Three ztunnels and a waypoint, 1.24+ format (fields as ztunnel's tests/namespaced.rs asserts them for waypoint
# traffic): sleep -> productpage via the namespace waypoint, and at the same time sleep -> ratings denied at the
# destination ztunnel by a DENY policy (decision log at debug level carries the connection id).
SRC = """\
2025-03-01T10:00:00.010000Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.1.12:40000 src.workload="sleep-7656cf8794-lxcmx" src.namespace="default" src.identity="spiffe://cluster.local/ns/default/sa/sleep" dst.addr=10.244.2.20:15008 dst.hbone_addr=10.96.198.255:9080 dst.service="productpage.default.svc.cluster.local" dst.workload="waypoint-7d9f5b8c4-xk2lp" dst.namespace="default" dst.identity="spiffe://cluster.local/ns/default/sa/waypoint" direction="outbound" bytes_sent=80 bytes_recv=1900 duration="12ms"
2025-03-01T10:00:00.020000Z\terror\taccess\tconnection complete\tsrc.addr=10.244.1.12:40002 src.workload="sleep-7656cf8794-lxcmx" src.namespace="default" src.identity="spiffe://cluster.local/ns/default/sa/sleep" dst.addr=10.244.3.40:15008 dst.hbone_addr=10.244.3.40:9080 dst.service="ratings.default.svc.cluster.local" dst.workload="ratings-v1-6484c4d9bb-8xc2r" dst.namespace="default" dst.identity="spiffe://cluster.local/ns/default/sa/bookinfo-ratings" direction="outbound" bytes_sent=0 bytes_recv=0 duration="1ms" error="http status: 401 Unauthorized"
"""
WAYPOINT = """\
[2025-03-01T10:00:00.001Z] "GET /productpage HTTP/1.1" 200 - via_upstream - "-" 0 1683 10 9 "-" "curl/8.5.0" "0d1e" "productpage:9080" "envoy://connect_originate/10.244.3.30:9080" inbound-vip|9080|http|productpage.default.svc.cluster.local envoy://internal_client_address/ 10.96.198.255:9080 10.244.1.12:40000 - default
"""
DST = """\
2025-03-01T10:00:00.009000Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.2.20:51000 src.workload="waypoint-7d9f5b8c4-xk2lp" src.namespace="default" src.identity="spiffe://cluster.local/ns/default/sa/waypoint" dst.addr=10.244.3.30:15008 dst.hbone_addr=10.244.3.30:9080 dst.service="productpage.default.svc.cluster.local" dst.workload="productpage-v1-675fc69cf-kkrm2" dst.namespace="default" dst.identity="spiffe://cluster.local/ns/default/sa/bookinfo-productpage" direction="inbound" bytes_sent=1900 bytes_recv=80 duration="9ms"
2025-03-01T10:00:00.019500Z\tdebug\tstate:proxy{wl=default/ratings-v1-6484c4d9bb-8xc2r}:inbound{id=4bf92f3577b34da6a3ce929d0e0e4736 peer=10.244.1.12:53122}\tdeny policy match\tpolicy=default/deny-sleep
2025-03-01T10:00:00.019800Z\terror\taccess\tconnection complete\tsrc.addr=10.244.1.12:53122 src.workload="sleep-7656cf8794-lxcmx" src.namespace="default" src.identity="spiffe://cluster.local/ns/default/sa/sleep" dst.addr=10.244.3.40:15008 dst.hbone_addr=10.244.3.40:9080 dst.service="ratings.default.svc.cluster.local" dst.workload="ratings-v1-6484c4d9bb-8xc2r" dst.namespace="default" dst.identity="spiffe://cluster.local/ns/default/sa/bookinfo-ratings" direction="inbound" bytes_sent=0 bytes_recv=0 duration="0ms" error="connection closed due to policy rejection: explicitly denied by: default/deny-sleep"
"""


@pytest.fixture
def multi():
    events = (parse_log_lines(SRC.splitlines(), "ztunnel-src") + parse_log_lines(WAYPOINT.splitlines(), "waypoint")
              + parse_log_lines(DST.splitlines(), "ztunnel-dst"))
    return correlate(events)


def test_three_proxies_two_connections(multi):
    assert len(multi) == 2
    wp, denied = sorted(multi, key=lambda c: c.summary()["service"])
    assert wp.summary()["service"] == "productpage.default.svc.cluster.local"
    assert wp.sources == ["waypoint", "ztunnel-dst", "ztunnel-src"]
    assert (wp.path, wp.verdict, wp.waypoint_workload) == ("via-waypoint", "allow", "waypoint-7d9f5b8c4-xk2lp")
    assert wp.inbound.src_workload == "waypoint-7d9f5b8c4-xk2lp" and len(wp.waypoint) == 1
    assert denied.sources == ["ztunnel-dst", "ztunnel-src"] and len(denied.events) == 3
    assert denied.id == "4bf92f3577b34da6a3ce929d0e0e4736"  # from the decision line's span
    assert (denied.path, denied.verdict, denied.enforced_by) == ("direct-hbone", "deny", "dst-ztunnel")
    assert denied.decided_by == {"policy": "default/deny-sleep"}
    assert denied.error.code == "policy-denied"


def test_compare_with_predictions(multi):
    wp, denied = sorted(multi, key=lambda c: c.summary()["service"])
    ok = {"path": "via-waypoint", "verdict": "allow", "enforcedBy": "waypoint", "decidedBy": {"noPolicy": True},
          "hops": [{"component": "waypoint", "name": "default/waypoint-7d9f5b8c4-xk2lp"}]}
    assert compare(wp, ok) == []
    (d,) = compare(denied, {"path": "via-waypoint", "verdict": "deny", "enforcedBy": "dst-ztunnel",
                            "decidedBy": {"policy": "default/deny-sleep", "rule": 0}})
    assert d.field == "path" and "bypassed the waypoint" in d.suggestion and "sidecar" in d.suggestion
    diffs = compare(denied, {"path": "direct-hbone", "verdict": "allow", "enforcedBy": "none"})
    assert [x.field for x in diffs] == ["verdict"] and "default/deny-sleep" in diffs[0].suggestion
    diffs = compare(denied, {"path": "direct-hbone", "verdict": "deny", "enforcedBy": "dst-ztunnel",
                             "decidedBy": {"policy": "default/other"}})
    assert [x.field for x in diffs] == ["decidedBy"]
    diffs = compare(denied, {"path": "direct-hbone", "verdict": "deny", "enforcedBy": "waypoint"})
    assert [x.field for x in diffs] == ["enforcedBy"]
    diffs = compare(wp, {"path": "via-waypoint", "verdict": "allow",
                         "hops": [{"component": "waypoint", "name": "default/reviews-waypoint-5c9d"}]})
    assert [x.field for x in diffs] == ["hops"]


def test_waypoint_rbac_denial_and_failure_verdicts():
    from tests.evidence.test_waypoint_log import DENIED, FAILED

    conns = correlate(parse_log_lines([DENIED, FAILED], "wp"))
    deny, fail = conns
    assert (deny.verdict, deny.enforced_by, deny.decided_by) == ("deny", "waypoint",
                                                                 {"policy": "default/productpage-viewer", "rule": 0})
    assert (fail.verdict, fail.error.code) == ("failed", "waypoint-uf")
    (d,) = compare(deny, {"path": "via-waypoint", "verdict": "deny", "enforcedBy": "dst-ztunnel"})
    assert d.field == "enforcedBy" and "waypoint denied" in d.suggestion


def test_legacy_hairpin_is_recognised():
    lines = [
        '2023-11-20T08:00:00.000100Z  INFO ztunnel::proxy::inbound_passthrough: accepted connection '
        'source=10.244.0.5:5555 destination=10.244.1.5:9080 component="inbound plaintext"',
        "2023-11-20T08:00:00.000300Z  INFO ztunnel::proxy::outbound: proxy to 10.244.1.5:9080 using HBONE via "
        "10.244.1.99:15008 type ToServerWaypoint",
    ]
    (c,) = correlate(parse_log_lines(lines, "ztunnel-dst"))
    assert c.path == "hairpin-via-waypoint"
    (d,) = compare(c, {"path": "plaintext-passthrough", "verdict": "allow"})
    assert "hairpin" in d.suggestion


def test_raw_and_empty_input():
    assert correlate([]) == []
    assert correlate(parse_log_lines(["# nothing", "", "garbage"], "x")) == []
