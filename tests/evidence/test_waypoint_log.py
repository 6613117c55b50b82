"""Waypoint (Envoy) access logs in Istio's default text format (pilot/pkg/model/telemetry_logging.go
EnvoyTextLogFormat) and JSON format (EnvoyJSONLogFormatIstio)."""

import json

import pytest

from ambientctl.evidence.events import RawLine, WaypointAccessEvent
from ambientctl.evidence.waypoint_log import (
    parse_cluster_name,
    parse_envoy_line,
    parse_rbac_details,
    parse_waypoint_log,
)


def test_real_waypoint_line_from_issue_43576(realdata):
    lines = (realdata / "github-issues/waypoint-envoy-access-log-issue43576.log").read_text().splitlines()
    evs = [e for e in parse_waypoint_log(lines, "wp") if not isinstance(e, RawLine)]
    assert len(evs) == 1
    e = evs[0]
    assert isinstance(e, WaypointAccessEvent)
    assert (e.method, e.path, e.protocol, e.response_code) == ("GET", "/", "HTTP/1.1", 200)
    assert e.response_flags == [] and e.response_code_details == "via_upstream"
    assert (e.bytes_received, e.bytes_sent, e.duration_ms, e.upstream_service_time_ms) == (0, 1683, 3, 2)
    assert e.user_agent == "curl/7.88.1-DEV" and e.request_id == "5ea5eb0a-f4b9-4d6e-8a39-717d6da78f7c"
    assert e.authority == "productpage:9080"
    assert e.upstream_host == "envoy://connect_originate/10.244.1.15:9080" and e.upstream_addr == "10.244.1.15:9080"
    assert (e.cluster_direction, e.cluster_port, e.cluster_subset, e.cluster_service) == (
        "inbound-vip", 9080, "http", "productpage.default.svc.cluster.local")
    assert e.upstream_local_address == "envoy://internal"  # the line was truncated after this field
    assert e.downstream_remote_address == "" and e.time is not None


# Lines in EnvoyTextLogFormat as a 1.24 waypoint writes them (field order from telemetry_logging.go).
DENIED = ('[2025-03-01T10:00:00.000Z] "GET /productpage HTTP/1.1" 403 - '
          "rbac_access_denied_matched_policy[ns[default]-policy[productpage-viewer]-rule[0]] - \"-\" 0 19 0 - \"-\" "
          '"curl/8.5.0" "b1c2" "productpage:9080" "-" inbound-vip|9080|http|productpage.default.svc.cluster.local - '
          "10.96.198.255:9080 10.244.1.12:0 - default")
FAILED = ('[2025-03-01T10:00:01.000Z] "GET /reviews/0 HTTP/1.1" 503 UF,URX upstream_reset_before_response_started'
          '{connection_failure} - "delayed connect error: 111" 0 91 2 - "-" "Go-http-client/1.1" "c3d4" '
          '"reviews:9080" "envoy://connect_originate/10.244.1.9:9080" '
          "inbound-vip|9080|http/v2|reviews.default.svc.cluster.local envoy://internal_client_address/ "
          "10.96.68.3:9080 10.244.1.12:0 - default")


def test_rbac_denial_at_waypoint():
    e = parse_envoy_line(DENIED)
    assert isinstance(e, WaypointAccessEvent)
    assert e.response_code == 403 and e.rbac_policy == "default/productpage-viewer" and e.rbac_rule == 0
    assert e.downstream_remote_address == "10.244.1.12:0" and e.route_name == "default"


def test_upstream_failure_flags():
    e = parse_envoy_line(FAILED)
    assert e.response_flags == ["UF", "URX"] and e.transport_failure == "delayed connect error: 111"
    assert e.cluster_subset == "http/v2" and e.upstream_addr == "10.244.1.9:9080"


def test_json_format():
    doc = {"start_time": "2025-03-01T10:00:02.000Z", "method": "GET", "path": "/ratings/0", "protocol": "HTTP/1.1",
           "response_code": 200, "response_flags": "DI", "response_code_details": "via_upstream",
           "bytes_received": 0, "bytes_sent": 48, "duration": 7004, "upstream_host":
           "envoy://connect_originate/10.244.2.57:9080", "upstream_cluster":
           "inbound-vip|9080|http|ratings.default.svc.cluster.local", "request_id": "e5f6",
           "authority": "ratings:9080", "downstream_remote_address": "10.244.1.42:0",
           "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    e = parse_envoy_line(json.dumps(doc))
    assert e.format == "envoy-json" and e.response_flags == ["DI"] and e.duration_ms == 7004
    assert e.traceparent.startswith("00-0af7") and e.cluster_service == "ratings.default.svc.cluster.local"


@pytest.mark.parametrize("details,want", [
    ("rbac_access_denied_matched_policy[ns[default]-policy[productpage-viewer]-rule[0]]",
     ("default/productpage-viewer", 0, False)),
    ("rbac_access_denied_matched_policy[ns[bookinfo]-policy[deny-all]-rule[12]]", ("bookinfo/deny-all", 12, False)),
    ("rbac_access_denied_matched_policy[none]", ("", None, True)),
    ("via_upstream", None),
    ("", None),
])
def test_rbac_details(details, want):
    assert parse_rbac_details(details) == want


def test_cluster_names():
    assert parse_cluster_name("outbound|9080|v1|reviews.default.svc.cluster.local") == {
        "direction": "outbound", "port": 9080, "subset": "v1", "service": "reviews.default.svc.cluster.local"}
    assert parse_cluster_name("inbound|80||")["service"] == ""
    assert parse_cluster_name("main_internal") == {"direction": "main_internal"}
    assert parse_cluster_name("-") == {}


@pytest.mark.parametrize("line", ["", "[not a time] x", '{"x": 1}', "[2025-03-01T10:00:00.000Z]", "{bad"])
def test_odd_lines(line):
    e = parse_envoy_line(line)
    assert isinstance(e, (RawLine, WaypointAccessEvent))
