"""Typed facts read from proxy logs. One event per log line; the line is always kept, so nothing a user pasted
into a ticket is lost even when ambientctl does not understand it.

Field names follow ztunnel's access log (`src/proxy/metrics.rs`) and Envoy's default access log
(research/istio.md §2.6), but the values are normalised: addresses are `ip:port` strings, durations are
milliseconds, levels lower case.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ambientctl.evidence.errors import ErrorInfo


def split_addr(addr: str | None) -> tuple[str, int | None]:
    """`10.0.0.1:80` -> ("10.0.0.1", 80); `[fd00::1]:80` -> ("fd00::1", 80); `host.svc:9080` -> ("host.svc", 9080);
    anything without a port -> (addr, None)."""
    if not addr:
        return "", None
    a = addr.strip()
    if a.startswith("["):
        host, _, rest = a[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() else None
    if a.count(":") == 1:
        host, port = a.split(":")
        return host, int(port) if port.isdigit() else None
    return a, None


def addr_ip(addr: str | None) -> str:
    return split_addr(addr)[0]


@dataclass(kw_only=True)
class LogEvent:
    """A log line that was understood as a log record but carries no fact ambientctl models (kind "log"), and
    the base of every other event."""

    kind: str = "log"
    source: str = ""  # who wrote it: a ztunnel/waypoint pod name or the file it came from
    line_no: int = 0
    raw: str = ""
    format: str = ""  # plain (1.22+) | json | legacy (<=1.21 tracing formatter) | envoy | envoy-json | unknown
    timestamp: str = ""  # as printed
    time: float | None = None  # seconds since the epoch (UTC)
    level: str = ""  # trace | debug | info | warn | error
    target: str = ""  # ztunnel module (`access`, `state`, `proxy::outbound`, ...)
    spans: dict[str, dict[str, str]] = field(default_factory=dict)  # span name -> its fields, outermost first
    message: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    error: ErrorInfo | None = None  # classification of an error this line reports

    @property
    def trace_id(self) -> str | None:
        """The connection id ztunnel puts on its spans (`outbound{id=…}`, `inbound{id=…}`): the W3C traceparent
        trace id of the HBONE request, shared by both ends of one connection. Access lines carry no span
        (`parent: None` in `src/proxy/metrics.rs`), so they never have one."""
        for name in ("outbound", "inbound", "socks5"):
            sid = self.spans.get(name, {}).get("id")
            if sid:
                return sid
        return None

    @property
    def span_direction(self) -> str | None:
        if "outbound" in self.spans or "socks5" in self.spans:
            return "outbound"
        if "inbound" in self.spans or "inbound_passthrough" in self.spans:
            return "inbound"
        return None

    @property
    def proxied_workload(self) -> str:
        """`ns/pod` of the workload whose traffic this line is about (`proxy{wl=…}`), or `pod uid <uid>` when
        ztunnel (≤1.21) named it by its Kubernetes uid alone — said so, as a bare UUID reads as nothing."""
        p = self.spans.get("proxy", {})
        if p.get("wl"):
            return str(p["wl"])
        return f"pod uid {p['uid']}" if p.get("uid") else ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "raw" or v in (None, "", {}, []):
                continue
            d[_camel(f.name)] = v.to_dict() if isinstance(v, ErrorInfo) else v
        if self.trace_id:
            d["traceId"] = self.trace_id
        return d


@dataclass(kw_only=True)
class RawLine(LogEvent):
    """A line that is not a log record ambientctl knows (a comment, a truncated paste, another program)."""

    kind: str = "raw"


@dataclass(kw_only=True)
class AccessEvent(LogEvent):
    """One connection as a ztunnel reports it: the 1.22+ access log (`connection opened|complete|failed`) or, on
    ≤1.21, the `complete dur=…` / `failed … err=…` line and the inbound plaintext `connection complete`."""

    kind: str = "access"
    phase: str = "complete"  # opened | complete | failed (early deny, little context)
    direction: str = ""  # outbound (source ztunnel) | inbound (destination ztunnel)
    src_addr: str = ""
    src_workload: str = ""
    src_namespace: str = ""
    src_identity: str = ""
    dst_addr: str = ""  # TCP next hop: `<pod|waypoint|gateway ip>:15008` for HBONE
    hbone_addr: str = ""  # the CONNECT :authority (real target), absent for plaintext
    service: str = ""
    dst_workload: str = ""
    dst_namespace: str = ""
    dst_identity: str = ""
    # 1.31 (ztunnel#1994): the cluster of each side, for multicluster ambient; absent in older logs
    src_cluster: str = ""
    dst_cluster: str = ""
    bytes_sent: int | None = None
    bytes_recv: int | None = None
    duration_ms: float | None = None
    error_text: str = ""


@dataclass(kw_only=True)
class PolicyEvent(LogEvent):
    """An authorization decision at the destination ztunnel (`authpol_log!` in `src/state.rs`, debug level unless
    AUTHZ_POLICY_INFO_LOGGING=true)."""

    kind: str = "policy"
    decision: str = ""  # deny | allow | no-allow-policies | no-allow-matched
    dry_run: bool = False
    policy: str = ""  # ns/name when the message names one


@dataclass(kw_only=True)
class DecisionEvent(LogEvent):
    """An inbound decision ztunnel logged in free text (≤1.21 mostly): `RBAC rejected`, `bypassed waypoint`,
    `request from waypoint, skipping policy`, `unknown destination`, `Sending 400, ip mismatch …`."""

    kind: str = "decision"
    decision: str = ""  # rbac-rejected | bypassed-waypoint | from-waypoint | from-gateway | unknown-destination
    #                     | ip-mismatch | bad-request | bad-method
    src_ip: str = ""
    src_identity: str = ""
    dst_addr: str = ""
    detail: str = ""


@dataclass(kw_only=True)
class RouteEvent(LogEvent):
    """How ztunnel chose to carry a connection, as ≤1.21 logged it: `proxy to D using HBONE via G type T`,
    `Proxying to D using TCP via G type Passthrough`, `proxying to D using node local fast path`, and on the
    inbound side `got CONNECT request to D` and the plaintext `accepted connection`."""

    kind: str = "route"
    direction: str = ""  # outbound | inbound
    protocol: str = ""  # HBONE | TCP | fast-path
    route_type: str = ""  # Direct | ToServerWaypoint | DirectLocal | Passthrough | NodeLocal | InboundHBONE
    #                       | InboundPlaintext
    src_addr: str = ""
    dst_addr: str = ""  # the real destination
    via: str = ""  # the next hop (gateway/waypoint/pod :15008)


@dataclass(kw_only=True)
class WaypointAccessEvent(LogEvent):
    """One request in a waypoint's (Envoy's) access log, in Istio's default text or JSON format."""

    kind: str = "waypoint-access"
    method: str = ""
    path: str = ""
    protocol: str = ""
    response_code: int | None = None
    response_flags: list[str] = field(default_factory=list)
    response_code_details: str = ""
    termination_details: str = ""
    transport_failure: str = ""
    bytes_received: int | None = None
    bytes_sent: int | None = None
    duration_ms: float | None = None
    upstream_service_time_ms: float | None = None
    x_forwarded_for: str = ""
    user_agent: str = ""
    request_id: str = ""
    authority: str = ""
    upstream_host: str = ""
    upstream_addr: str = ""  # ip:port behind `envoy://connect_originate/`, or upstream_host itself
    upstream_cluster: str = ""
    cluster_direction: str = ""  # inbound-vip | inbound | outbound | connect_originate | ...
    cluster_service: str = ""  # service hostname from the cluster name
    cluster_port: int | None = None
    cluster_subset: str = ""
    upstream_local_address: str = ""
    downstream_local_address: str = ""
    downstream_remote_address: str = ""
    requested_server_name: str = ""
    route_name: str = ""
    traceparent: str = ""
    rbac_policy: str = ""  # ns/name that denied (from rbac_access_denied_matched_policy[...])
    rbac_rule: int | None = None
    rbac_no_match: bool = False  # `[none]`: ALLOW policies exist but none matched


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)
