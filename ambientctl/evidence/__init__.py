"""Evidence from the proxies themselves: ztunnel and waypoint logs and ztunnel config dumps, turned into facts
the trace feature can put beside the explain prediction.

Pure: parsers take lines, strings or decoded JSON, never paths.

- `parse_log_lines(lines, source)` -> events (ztunnel plain/json/≤1.21 and waypoint Envoy lines mixed);
  `ztunnel_log.parse_ztunnel_log`, `waypoint_log.parse_waypoint_log` for one kind only.
- `classify_error(text)` -> ErrorInfo (stable code, meaning, next step, policy named in the text).
- `correlate(events)` -> connections with observed path and verdict; `compare(conn, prediction)` -> disagreements.
- `configdump.parse_config_dump(doc)` / `parse_config_dump_text(text)` -> ZtunnelConfig;
  `configdump.diff_config_dump(config, view)` -> drift findings.
"""

from ambientctl.evidence.correlate import Connection, Disagreement, compare, correlate
from ambientctl.evidence.errors import ErrorInfo, classify_error
from ambientctl.evidence.events import (
    AccessEvent,
    DecisionEvent,
    LogEvent,
    PolicyEvent,
    RawLine,
    RouteEvent,
    WaypointAccessEvent,
)
from ambientctl.evidence.logs import parse_log_lines

__all__ = [
    "AccessEvent",
    "Connection",
    "DecisionEvent",
    "Disagreement",
    "ErrorInfo",
    "LogEvent",
    "PolicyEvent",
    "RawLine",
    "RouteEvent",
    "WaypointAccessEvent",
    "classify_error",
    "compare",
    "correlate",
    "parse_log_lines",
]
