"""Mixed log files, as they arrive in tickets: ztunnel lines (any format) and waypoint Envoy access lines, one
file or several. Each line goes to the parser that recognises it."""

from __future__ import annotations

from collections.abc import Iterable

from ambientctl.evidence.events import LogEvent
from ambientctl.evidence.waypoint_log import is_envoy_line, parse_envoy_line
from ambientctl.evidence.ztunnel_log import parse_line


def parse_log_lines(lines: Iterable[str], source: str = "") -> list[LogEvent]:
    """One event per line, in order; lines no parser knows are RawLine events."""
    out: list[LogEvent] = []
    for i, line in enumerate(lines, 1):
        out.append(parse_envoy_line(line, i, source) if is_envoy_line(line) else parse_line(line, i, source))
    return out
