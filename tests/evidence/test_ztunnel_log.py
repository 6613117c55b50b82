"""ztunnel log lines from docs and issues (realdata) in every format ztunnel has printed, parsed into events."""

import json

import pytest

from ambientctl.evidence.events import AccessEvent, DecisionEvent, PolicyEvent, RawLine, RouteEvent
from ambientctl.evidence.logs import parse_log_lines
from ambientctl.evidence.ztunnel_log import duration_ms, parse_kv, parse_line, parse_time, unquote

ZTUNNEL_LOGS = [
    "istio-io-docs/ztunnel-access-logs-istio1.22-2024-05.log",
    "istio-io-docs/ztunnel-logs-istio1.19-2023-08-plaintext-format.log",
    "istio-io-docs/ztunnel-rbac-rejected-2023-10.log",
    "github-issues/ztunnel-access-logs-from-issues.log",
    "github-issues/ztunnel-json-logs-issue2055.jsonl",
]


def _lines(realdata, rel):
    return (realdata / rel).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("rel", ZTUNNEL_LOGS)
def test_every_real_line_parses_to_a_typed_event(realdata, rel):
    for ev in parse_log_lines(_lines(realdata, rel), rel):
        if not ev.raw.strip() or ev.raw.startswith("#"):
            assert isinstance(ev, RawLine)
            continue
        assert not isinstance(ev, RawLine), f"{rel}:{ev.line_no} not understood: {ev.raw[:80]}"
        assert ev.kind in ("access", "policy", "decision", "route"), (rel, ev.line_no, ev.kind)
        assert ev.level in ("info", "warn", "error")
        assert ev.format in ("plain", "json", "legacy")


def test_access_lines_of_1_22(realdata):
    evs = [e for e in parse_log_lines(_lines(realdata, ZTUNNEL_LOGS[0])) if isinstance(e, AccessEvent)]
    assert len(evs) == 6
    inbound, outbound = evs[0], evs[1]
    assert inbound.direction == "inbound" and outbound.direction == "outbound"
    assert outbound.src_addr == "10.244.1.12:58508"
    assert outbound.src_identity == "spiffe://cluster.local/ns/default/sa/curl"
    assert outbound.dst_addr == "10.244.1.10:15008"
    assert outbound.hbone_addr == "10.244.1.10:9080"  # Debug-quoted in the doc, unquoted here
    assert outbound.service == "productpage.default.svc.cluster.local"
    assert outbound.dst_workload == "productpage-v1-87d54dd59-fn6vw"
    assert (outbound.bytes_sent, outbound.bytes_recv, outbound.duration_ms) == (80, 175, 1.0)
    assert outbound.time == pytest.approx(parse_time("2024-05-04T09:59:05.028771Z"))
    assert outbound.trace_id is None  # access lines are emitted with parent: None
    assert outbound.error is None


def test_error_access_lines_carry_classified_errors(realdata):
    evs = [e for e in parse_log_lines(_lines(realdata, ZTUNNEL_LOGS[3])) if isinstance(e, AccessEvent)]
    codes = [(e.direction, e.error.code if e.error else None) for e in evs]
    assert codes == [
        ("outbound", "hbone-status-401"),  # 2023 `failed dur=… err=http status: 401 Unauthorized`
        ("outbound", "network-policy-15008"),
        ("inbound", "policy-not-allowed"),
        ("inbound", "policy-not-allowed"),
        ("inbound", "policy-rejected"),
    ]
    legacy = evs[0]
    assert legacy.format == "legacy" and legacy.duration_ms == pytest.approx(8.256389)
    assert legacy.proxied_workload == "pod uid ffc376a2-6bfa-42ad-9e3c-684cdc6b3d54"
    assert legacy.trace_id == "9b33a9eb333bb12d3a2bb49178eb24d3"
    no_ts = evs[2]  # PR #1273 example was pasted without its timestamp
    assert no_ts.timestamp == "" and no_ts.time is None and no_ts.src_workload == "reviews-v1-6584ddcf65-k78wz"
    plaintext = evs[3]
    assert plaintext.src_identity == "" and plaintext.hbone_addr == ""


def test_legacy_routes_and_decisions(realdata):
    evs = parse_log_lines(_lines(realdata, ZTUNNEL_LOGS[1]))
    routes = [e for e in evs if isinstance(e, RouteEvent)]
    assert [(r.route_type, r.protocol) for r in routes] == [
        ("NodeLocal", "fast-path"), ("InboundHBONE", "HBONE"), ("InboundHBONE", "HBONE"), ("Direct", "HBONE"),
        ("NodeLocal", "fast-path")]
    direct = routes[3]
    assert (direct.dst_addr, direct.via, direct.trace_id) == ("10.240.1.11:80", "10.240.1.11:15008",
                                                               "9d99723a61c9496532d34acec5c77126")
    inbound = routes[1]
    assert inbound.spans["inbound"]["peer_id"] == "spiffe://cluster.local/ns/ambient-demo/sa/sleep"
    assert inbound.src_addr == "10.240.2.16"
    completes = [e for e in evs if isinstance(e, AccessEvent)]
    assert [c.duration_ms for c in completes] == [pytest.approx(0.269272), pytest.approx(46.9099),
                                                  pytest.approx(0.231892)]  # µs and ms
    rbac = [e for e in parse_log_lines(_lines(realdata, ZTUNNEL_LOGS[2])) if isinstance(e, DecisionEvent)]
    assert len(rbac) == 2
    assert rbac[0].decision == "rbac-rejected" and rbac[0].src_ip == "10.240.2.2"
    assert rbac[0].src_identity == "spiffe://cluster.local/ns/ambient-demo/sa/notsleep"
    assert rbac[0].dst_addr == "10.240.1.2:80" and rbac[0].error.code == "legacy-rbac-rejected"


def test_json_format_with_nested_spans(realdata):
    (ev,) = parse_log_lines(_lines(realdata, ZTUNNEL_LOGS[4]))
    assert isinstance(ev, PolicyEvent)
    assert ev.decision == "no-allow-matched" and not ev.dry_run
    assert ev.target == "state"  # scope ztunnel::state, prefix stripped like the plain format does
    assert ev.proxied_workload == "default/http-server-6cbcc86f5d-rfbvw"
    assert ev.trace_id == "2a56e1c2dfcaa8375c2f5c78d03db243"
    assert ev.spans["inbound"]["peer"] == "10.xx.xx.xx:40422"


def test_plain_format_with_real_tabs_and_spans():
    # The real 1.22+ separator is a tab (ztunnel src/telemetry.rs IstioFormat); docs show spaces.
    line = ("2025-06-01T10:00:00.123456Z\tdebug\tstate:proxy{wl=default/productpage-v1-abc}:inbound{id=0af7651916cd43dd"
            "8448eb211c80319c peer=10.244.1.6:43210}\tdeny policy match\tpolicy=default/deny-sleep")
    ev = parse_line(line)
    assert isinstance(ev, PolicyEvent)
    assert ev.decision == "deny" and ev.policy == "default/deny-sleep"
    assert ev.spans["inbound"] == {"id": "0af7651916cd43dd8448eb211c80319c", "peer": "10.244.1.6:43210"}
    assert ev.proxied_workload == "default/productpage-v1-abc"
    # research/istio.md §2.6, istio#57259: h2 client target with spans glued on
    ev = parse_line("error proxy::h2::client:proxy{wl=perf/tmp-shell}:outbound{id=7ed3da…} Error in HBONE connection "
                    'handshake: Error { kind: GoAway(b"", FRAME_SIZE_ERROR, Library) }')
    assert ev.kind == "log" and ev.target == "proxy::h2::client"
    assert ev.spans["outbound"]["id"] == "7ed3da…" and ev.error.code == "h2-failed"


@pytest.mark.parametrize("msg,decision,dry", [
    ("deny policy match", "deny", False), ("allow policy match", "allow", False),
    ("no allow policies, allow", "no-allow-policies", False), ("no allow policies matched", "no-allow-matched", False),
    ("dry-run: deny policy match", "deny", True), ("dry-run: allow policy match", "allow", True),
    ("dry-run: no allow policies match", "no-allow-matched", True)])
def test_policy_decision_messages(msg, decision, dry):
    ev = parse_line(json.dumps({"level": "debug", "time": "2026-01-01T00:00:00Z", "scope": "ztunnel::state",
                                "message": msg, "policy": "ns1/p1"}))
    assert isinstance(ev, PolicyEvent) and (ev.decision, ev.dry_run, ev.policy) == (decision, dry, "ns1/p1")


def test_legacy_inbound_plaintext_and_waypoint_decisions():
    ts = "2023-11-20T08:00:00.000001Z  INFO "
    ev = parse_line(ts + 'inbound_passthrough: ztunnel::proxy::inbound_passthrough: accepted connection '
                    'source=10.244.0.1:5555 destination=10.244.1.5:9080 component="inbound plaintext"')
    assert isinstance(ev, RouteEvent) and ev.route_type == "InboundPlaintext"
    assert (ev.src_addr, ev.dst_addr) == ("10.244.0.1:5555", "10.244.1.5:9080")
    ev = parse_line(ts + 'ztunnel::proxy::inbound_passthrough: connection complete source=10.244.0.1:5555 '
                    'destination=10.244.1.5:9080 component="inbound plaintext"')
    assert isinstance(ev, AccessEvent) and ev.direction == "inbound" and ev.dst_addr == "10.244.1.5:9080"
    ev = parse_line(ts + "inbound{id=aa peer_ip=10.0.0.9 peer_id=spiffe://td/ns/a/sa/b}: ztunnel::proxy::inbound: "
                    "bypassed waypoint conn=10.0.0.9(spiffe://td/ns/a/sa/b)->10.0.1.1:80")
    assert isinstance(ev, DecisionEvent) and ev.decision == "bypassed-waypoint"
    assert ev.error.code == "legacy-bypassed-waypoint" and ev.src_identity == "spiffe://td/ns/a/sa/b"
    ev = parse_line(ts + "inbound{id=aa}: ztunnel::proxy::inbound: request from waypoint, skipping policy")
    assert isinstance(ev, DecisionEvent) and ev.decision == "from-waypoint"
    ev = parse_line(ts + "inbound{id=aa}: ztunnel::proxy::inbound: Sending 400, ip mismatch 10.0.0.1:80 != 10.0.0.2:80")
    assert isinstance(ev, DecisionEvent) and ev.decision == "ip-mismatch" and ev.error.code == "hbone-ip-mismatch"
    ev = parse_line(ts + "inbound{id=aa}: ztunnel::proxy::inbound: RBAC rejected conn=10.0.0.9(None)->10.0.1.1:80")
    assert ev.src_identity == "" and ev.src_ip == "10.0.0.9"
    ev = parse_line(ts + "outbound{id=bb}: ztunnel::proxy::outbound: Proxying to 10.0.5.5:443 using TCP via "
                    "10.0.5.5:443 type Passthrough")
    assert isinstance(ev, RouteEvent) and (ev.protocol, ev.route_type) == ("TCP", "Passthrough")


@pytest.mark.parametrize("line", [
    "", "   ", "# comment", "random text", "{not json", '{"a": 1}', "\x1b[31mcolour only\x1b[0m",
    "2024-01-01T00:00:00Z", "info", "[2023-02-24T03:32:28.882Z", "\0\0\0", "info access connection complete src.addr=",
    'error access connection complete error="unterminated',
])
def test_odd_lines_never_raise(line):
    ev = parse_line(line, 7, "x")
    assert ev.line_no == 7 and ev.source == "x" and ev.raw == line


def test_value_helpers():
    assert parse_kv('a=1 b="x \\"y\\"" err=http status: 401 Unauthorized') == {
        "a": "1", "b": 'x "y"', "err": "http status: 401 Unauthorized"}
    assert parse_kv("id=abc, peer=10.0.0.1:80") == {"id": "abc", "peer": "10.0.0.1:80"}
    assert unquote('"a\\u{1f600}b\\n"') == "a\U0001f600b\n"
    assert duration_ms("10002ms") == 10002 and duration_ms("1.5s") == 1500 and duration_ms("bogus") is None
    assert parse_time("2024-05-04T09:59:05.028771123Z") == pytest.approx(parse_time("2024-05-04T09:59:05.028771Z"))
    assert parse_time("yesterday") is None
