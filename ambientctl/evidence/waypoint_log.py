"""Parse waypoint (Envoy) access logs in Istio's default formats.

Text: Istio's `EnvoyTextLogFormat` (istio/istio `pilot/pkg/model/telemetry_logging.go`, unchanged since 1.9
except `%UPSTREAM_CLUSTER%` -> `%UPSTREAM_CLUSTER_RAW%`):

    [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
    %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%"
    %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%"
    "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
    %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%
    %ROUTE_NAME%

JSON: `EnvoyJSONLogFormatIstio` in the same file (keys `start_time`, `method`, `path`, `response_code`,
`response_flags`, `response_code_details`, `upstream_host`, `upstream_cluster`, ...).

RBAC denials: Envoy writes `rbac_access_denied_matched_policy[<policy id>]` with whitespace replaced by `_`
(envoyproxy/envoy `source/extensions/filters/common/rbac/utility.cc`, `responseDetail`), and istiod names each
rule `ns[<ns>]-policy[<name>]-rule[<index>]` (istio/istio `pilot/pkg/security/authz/builder/builder.go`,
`policyName`); `[none]` means ALLOW policies exist and no rule matched. Lines cut short (as pasted in tickets)
keep the fields they have.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ambientctl.evidence.events import LogEvent, RawLine, WaypointAccessEvent
from ambientctl.evidence.ztunnel_log import parse_time

# Envoy response flags (envoyproxy/envoy `source/common/stream_info/utility.cc` short names).
RESPONSE_FLAGS: dict[str, str] = {
    "UH": "no healthy upstream host in the cluster",
    "UF": "upstream connection failure",
    "UO": "upstream overflow (circuit breaking)",
    "NR": "no route configured for the request (or no matching filter chain)",
    "URX": "upstream retry limit or max connect attempts reached",
    "NC": "upstream cluster not found",
    "DT": "request or connection exceeded max_connection_duration / max_downstream_connection_duration",
    "LH": "local service failed health check",
    "UT": "upstream request timeout",
    "LR": "connection local reset",
    "UR": "upstream remote reset",
    "UC": "upstream connection termination",
    "DI": "request delayed by fault injection",
    "FI": "request aborted by fault injection",
    "RL": "rate limited locally (429)",
    "UAEX": "denied by the external authorization service",
    "RLSE": "rate limit service error",
    "IH": "strictly-checked header had an invalid value",
    "SI": "stream idle timeout",
    "DPE": "downstream protocol error",
    "UPE": "upstream protocol error",
    "UMSDR": "upstream request reached max stream duration",
    "OM": "overload manager terminated the request",
    "DF": "DNS resolution failed",
    "DO": "dropped by overload manager / drop_overload",
    "DR": "downstream remote reset",
    "UDO": "upstream drop overload",
}

TEXT_FIELDS = (
    "start_time", "request", "response_code", "response_flags", "response_code_details",
    "connection_termination_details", "upstream_transport_failure_reason", "bytes_received", "bytes_sent",
    "duration", "upstream_service_time", "x_forwarded_for", "user_agent", "request_id", "authority",
    "upstream_host", "upstream_cluster", "upstream_local_address", "downstream_local_address",
    "downstream_remote_address", "requested_server_name", "route_name",
)
_TOKEN = re.compile(r'\[[^\]]*\]|"[^"]*"?|\S+')
_RBAC = re.compile(r"rbac_access_denied_matched_policy\[(?P<inner>.*)\]$")
_POLICY_ID = re.compile(r"ns\[(?P<ns>[^\]]*)\]-policy\[(?P<name>[^\]]*)\]-rule\[(?P<rule>\d+)\]")


def parse_rbac_details(details: str) -> tuple[str, int | None, bool] | None:
    """`rbac_access_denied_matched_policy[ns[default]-policy[productpage-viewer]-rule[0]]` ->
    ("default/productpage-viewer", 0, False); `…[none]` -> ("", None, True); not an RBAC denial -> None."""
    m = _RBAC.search(details or "")
    if not m:
        return None
    inner = m["inner"]
    if inner == "none":
        return "", None, True
    p = _POLICY_ID.search(inner)
    if not p:
        return inner, None, False
    return f"{p['ns']}/{p['name']}", int(p["rule"]), False


def parse_cluster_name(name: str) -> dict[str, Any]:
    """Istio cluster names: `inbound-vip|9080|http|productpage.default.svc.cluster.local`,
    `outbound|9080|v1|reviews.default.svc.cluster.local`, `inbound|80||` -> direction, port, subset, service."""
    if not name or name == "-":
        return {}
    parts = name.split("|")
    if len(parts) != 4:
        return {"direction": name}
    direction, port, subset, host = parts
    return {"direction": direction, "port": int(port) if port.isdigit() else None, "subset": subset,
            "service": host}


def _num(v: Any) -> float | None:
    if v is None:
        return None
    s = str(v).strip().strip('"')
    if s in ("", "-"):
        return None
    try:
        return float(s)
    except ValueError:
        return None


def _str(v: Any) -> str:
    if v is None:
        return ""
    s = str(v)
    if len(s) >= 1 and s.startswith('"'):
        s = s[1:-1] if s.endswith('"') and len(s) >= 2 else s[1:]
    return "" if s == "-" else s


def _build(base: dict[str, Any], vals: dict[str, Any], fmt: str) -> WaypointAccessEvent:
    ts = _str(vals.get("start_time")).strip("[]")
    code = _num(vals.get("response_code"))
    flags = _str(vals.get("response_flags"))
    details = _str(vals.get("response_code_details"))
    upstream_host = _str(vals.get("upstream_host"))
    upstream_addr = upstream_host.split("envoy://connect_originate/", 1)[1] if upstream_host.startswith(
        "envoy://connect_originate/") else upstream_host
    cluster = _str(vals.get("upstream_cluster"))
    c = parse_cluster_name(cluster)
    subset = c.get("subset", "")
    rbac = parse_rbac_details(details)
    traceparent = _str(vals.get("traceparent") or vals.get("trace_id") or vals.get("x_b3_traceid"))
    dur = _num(vals.get("duration"))
    ev = WaypointAccessEvent(
        **base, format=fmt, timestamp=ts, time=parse_time(ts), level="info", target="envoy-access",
        message=f"{_str(vals.get('method'))} {_str(vals.get('path'))}".strip(),
        fields={k: _str(v) for k, v in vals.items() if v not in (None, "")},
        method=_str(vals.get("method")), path=_str(vals.get("path")), protocol=_str(vals.get("protocol")),
        response_code=int(code) if code is not None else None,
        response_flags=[f for f in flags.split(",") if f and f != "-"],
        response_code_details=details, termination_details=_str(vals.get("connection_termination_details")),
        transport_failure=_str(vals.get("upstream_transport_failure_reason")),
        bytes_received=_int(vals.get("bytes_received")), bytes_sent=_int(vals.get("bytes_sent")),
        duration_ms=dur, upstream_service_time_ms=_num(vals.get("upstream_service_time")),
        x_forwarded_for=_str(vals.get("x_forwarded_for")), user_agent=_str(vals.get("user_agent")),
        request_id=_str(vals.get("request_id")), authority=_str(vals.get("authority")),
        upstream_host=upstream_host, upstream_addr=upstream_addr, upstream_cluster=cluster,
        cluster_direction=c.get("direction", ""), cluster_service=c.get("service", ""),
        cluster_port=c.get("port"), cluster_subset=subset,
        upstream_local_address=_str(vals.get("upstream_local_address")),
        downstream_local_address=_str(vals.get("downstream_local_address")),
        downstream_remote_address=_str(vals.get("downstream_remote_address")),
        requested_server_name=_str(vals.get("requested_server_name")), route_name=_str(vals.get("route_name")),
        traceparent=traceparent,
    )
    if rbac is not None:
        ev.rbac_policy, ev.rbac_rule, ev.rbac_no_match = rbac
    return ev


def _int(v: Any) -> int | None:
    n = _num(v)
    return int(n) if n is not None else None


def parse_envoy_line(line: str, line_no: int = 0, source: str = "") -> LogEvent:
    """One waypoint access-log line (text or JSON) -> WaypointAccessEvent, or RawLine if it is neither."""
    raw = line.rstrip("\r\n")
    text = raw.strip()
    base: dict[str, Any] = {"source": source, "line_no": line_no, "raw": raw}
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and ("response_code" in doc or "upstream_cluster" in doc):
            return _build(base, doc, "envoy-json")
        return RawLine(**base, format="unknown")
    if not text.startswith("[") or parse_time(text[1:text.find("]")] if "]" in text else "") is None:
        return RawLine(**base, format="unknown")
    tokens = _TOKEN.findall(text)
    vals: dict[str, Any] = dict(zip(TEXT_FIELDS, tokens, strict=False))
    req = _str(vals.pop("request", "")).split(" ")
    if len(req) == 3:
        vals["method"], vals["path"], vals["protocol"] = req
    elif len(req) == 1 and req[0]:
        vals["protocol"] = req[0]  # TCP lines: "- - -" collapses to the protocol only
    return _build(base, vals, "envoy")


def parse_waypoint_log(lines: Iterable[str], source: str = "") -> list[LogEvent]:
    return [parse_envoy_line(line, i, source) for i, line in enumerate(lines, 1)]


def is_envoy_line(line: str) -> bool:
    t = line.lstrip()
    if t.startswith("[") and "]" in t:
        return parse_time(t[1:t.find("]")]) is not None
    return t.startswith("{") and '"response_code"' in t
