"""Parse ztunnel logs, every format it has printed, into typed events.

Formats (research/istio.md §2.5, §2.8; ztunnel `src/telemetry.rs`):
- plain, 1.22+: `<RFC3339>\\t<level>\\t<target>[:<span>{k=v …}]…\\t<message>\\t<k=v …>`. The `ztunnel::` prefix is
  stripped from the target; string values are Rust-Debug quoted, addresses are not. Tickets and docs often
  have the tabs turned into spaces, so both are accepted.
- json (`LOG_FORMAT=json`): `{"level", "time", "scope", "message", <fields>, <span name>: {<span fields>}}`.
- legacy, ≤1.21 (tracing's default formatter): `<ts>  INFO span{k=v}:span{…}: ztunnel::module: message k=v`.

Access lines have no span (`parent: None`), so they never carry the connection id; policy and error lines do.
Unknown lines become RawLine events, never exceptions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ambientctl.evidence.errors import classify_error, legacy_decision
from ambientctl.evidence.events import (
    AccessEvent,
    DecisionEvent,
    LogEvent,
    PolicyEvent,
    RawLine,
    RouteEvent,
)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"
_SPAN = r"[A-Za-z_][\w ]*?(?:\{[^{}]*\})?"
# 1.22+ plain: level lower case, target (with spans glued on by ':'), then message.
_PLAIN = re.compile(
    rf"^(?:(?P<ts>{_TS})\s+)?(?P<level>trace|debug|info|warn|error)\s+"
    r"(?P<target>[A-Za-z_](?:[^\s{}]|\{[^{}]*\})*)(?:\t|\s+)(?P<rest>.*)$"
)
# ≤1.21 tracing default formatter: upper-case level, optional spans ending in ': ', target ending in ': '.
_LEGACY = re.compile(
    rf"^(?P<ts>{_TS})\s+(?P<level>TRACE|DEBUG|INFO|WARN|ERROR)\s+"
    rf"(?:(?P<spans>{_SPAN}(?::{_SPAN})*):\s)?(?P<target>[A-Za-z_]\w*(?:::\w+)*):\s(?P<rest>.*)$"
)
_SPAN_ITEM = re.compile(r"([A-Za-z_][\w ]*?)(?:\{([^{}]*)\})?(?::|$)")
_KEY = re.compile(r"(?:(?<=\s)|(?<=^)|(?<=,))([A-Za-z_][\w.]*)=")

POLICY_MESSAGES = {
    "deny policy match": ("deny", False),
    "allow policy match": ("allow", False),
    "no allow policies, allow": ("no-allow-policies", False),
    "no allow policies matched": ("no-allow-matched", False),
    "dry-run: deny policy match": ("deny", True),
    "dry-run: allow policy match": ("allow", True),
    "dry-run: no allow policies match": ("no-allow-matched", True),
}

_ROUTE_HBONE = re.compile(r"^proxy to (?P<dst>\S+) using HBONE via (?P<via>\S+) type (?P<type>\w+)")
_ROUTE_TCP = re.compile(r"^Proxying to (?P<dst>\S+) using TCP via (?P<via>\S+) type (?P<type>\w+)")
_ROUTE_FAST = re.compile(r"^proxying to (?P<dst>\S+) using node local fast path")
_CONNECT_REQ = re.compile(r"^got (?P<method>\w+) request to (?P<dst>\S+)")
_RBAC_CONN = re.compile(r"^(?P<src>[^()\s]+)\((?P<id>[^()]*)\)->(?P<dst>\S+)$")
_IP_MISMATCH = re.compile(r"ip mismatch:? (?P<a>\S+) != (?P<b>\S+)")


def parse_time(ts: str) -> float | None:
    """RFC 3339 with up to nanoseconds -> epoch seconds (microsecond precision); None if it is not one."""
    if not ts:
        return None
    t = ts.strip().strip("[]")
    m = re.match(r"^(.*?T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$", t)
    if not m:
        return None
    frac = (m[2] or "")[:6]
    tz = m[3] or "Z"
    try:
        dt = datetime.fromisoformat(m[1] + (f".{frac.ljust(6, '0')}" if frac else "") + ("+00:00" if tz == "Z" else tz))
    except ValueError:
        return None
    return dt.timestamp()


def unquote(v: str) -> str:
    """Undo Rust's `{:?}` quoting of a string value (`"a \\"b\\""` -> `a "b"`); other values are returned as is."""
    v = v.strip()
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        body = v[1:-1]
        if "\\" in body:
            body = re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m[1], 16)), body)
            body = re.sub(r'\\(["\\nrt0\'])', lambda m: {"n": "\n", "r": "\r", "t": "\t", "0": "\0"}.get(m[1], m[1]),
                          body)
        return body
    return v


def parse_kv(text: str) -> dict[str, str]:
    """`a=1 b="x y" err=http status: 401 Unauthorized` -> {"a": "1", "b": "x y", "err": "http status: 401 …"}.

    Quoted values end at their closing quote; unquoted values (Display-formatted, may contain spaces) run up to
    the next ` key=`. Span fields separated by ", " are accepted too."""
    out: dict[str, str] = {}
    pos = 0
    n = len(text)
    while pos < n:
        m = _KEY.search(text, pos)
        if m is None:
            break
        key = m[1]
        vstart = m.end()
        if vstart < n and text[vstart] == '"':
            i = vstart + 1
            while i < n:
                if text[i] == "\\":
                    i += 2
                    continue
                if text[i] == '"':
                    break
                i += 1
            out[key] = unquote(text[vstart:i + 1])
            pos = i + 1
            continue
        nxt = _KEY.search(text, vstart)
        end = nxt.start() if nxt else n
        out[key] = text[vstart:end].strip().rstrip(",").strip()
        pos = end
    return out


def _split_message(rest: str) -> tuple[str, str]:
    """Message and the k=v part after it. With tabs intact the first tab separates them; otherwise the fields
    start at the first ` key=` token."""
    if "\t" in rest:
        msg, _, flds = rest.partition("\t")
        return msg.strip(), flds.strip()
    m = _KEY.search(rest)
    if m is None:
        return rest.strip(), ""
    return rest[: m.start()].strip(), rest[m.start():].strip()


def _parse_spans(text: str) -> dict[str, dict[str, str]]:
    spans: dict[str, dict[str, str]] = {}
    if not text:
        return spans
    for m in _SPAN_ITEM.finditer(text):
        name = (m[1] or "").strip()
        if not name:
            continue
        spans[name] = parse_kv(m[2]) if m[2] else {}
    return spans


def _split_target(target: str) -> tuple[str, str]:
    """`proxy::h2::client:proxy{wl=a/b}:outbound{id=x}` -> ("proxy::h2::client", "proxy{wl=a/b}:outbound{id=x}").
    The target is the module path (`::` separated); the first single ':' starts the spans."""
    i = 0
    while i < len(target):
        if target[i] == ":":
            if target[i:i + 2] == "::":
                i += 2
                continue
            return target[:i], target[i + 1:]
        i += 1
    return target, ""


def parse_line(line: str, line_no: int = 0, source: str = "") -> LogEvent:
    """One ztunnel log line -> the most specific event it is."""
    raw = line.rstrip("\r\n")
    text = _ANSI.sub("", raw).strip()
    base: dict[str, Any] = {"source": source, "line_no": line_no, "raw": raw}
    if not text:
        return RawLine(**base)
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and ("message" in doc or "msg" in doc):
            return _from_json(doc, base)
    m = _PLAIN.match(text)
    if m:
        target, span_text = _split_target(m["target"])
        msg, flds = _split_message(m["rest"])
        return _typed(base, fmt="plain", ts=m["ts"] or "", level=m["level"], target=target,
                      spans=_parse_spans(span_text), message=msg, fields=parse_kv(flds))
    m = _LEGACY.match(text)
    if m:
        msg, flds = _split_message(m["rest"])
        target = m["target"]
        target = target[len("ztunnel::"):] if target.startswith("ztunnel::") else target
        return _typed(base, fmt="legacy", ts=m["ts"], level=m["level"].lower(), target=target,
                      spans=_parse_spans(m["spans"] or ""), message=msg, fields=parse_kv(flds))
    return RawLine(**base, format="unknown")


def _from_json(doc: dict[str, Any], base: dict[str, Any]) -> LogEvent:
    spans: dict[str, dict[str, str]] = {}
    flds: dict[str, str] = {}
    for k, v in doc.items():
        if k in ("level", "time", "scope", "message", "msg", "target", "timestamp"):
            continue
        if isinstance(v, dict):
            spans[k] = {str(sk): _json_scalar(sv) for sk, sv in v.items()}
        else:
            flds[k] = _json_scalar(v)
    target = str(doc.get("scope") or doc.get("target") or "")
    target = target[len("ztunnel::"):] if target.startswith("ztunnel::") else target
    return _typed(base, fmt="json", ts=str(doc.get("time") or doc.get("timestamp") or ""),
                  level=str(doc.get("level", "")).lower(), target=target, spans=spans,
                  message=str(doc.get("message") or doc.get("msg") or ""), fields=flds)


def _json_scalar(v: Any) -> str:
    if isinstance(v, str):
        return unquote(v)  # Debug-recorded fields arrive as JSON strings that still carry Rust's quotes
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v not in (None, "") else None
    except ValueError:
        return None


def duration_ms(v: str | None) -> float | None:
    """`"12ms"`, `269.272µs`, `46.9099ms`, `1.2s`, `10002ms` -> milliseconds."""
    if not v:
        return None
    m = re.match(r"^\s*([\d.]+)\s*(ns|µs|us|ms|s)?\s*$", unquote(v))
    if not m:
        return None
    scale = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1000.0, None: 1.0}[m[2]]
    return round(float(m[1]) * scale, 6)


def _typed(base: dict[str, Any], *, fmt: str, ts: str, level: str, target: str, spans: dict[str, dict[str, str]],
           message: str, fields: dict[str, str]) -> LogEvent:
    common = dict(base, format=fmt, timestamp=ts, time=parse_time(ts), level=level, target=target, spans=spans,
                  message=message, fields=fields)
    f = fields
    span_dir = "outbound" if ("outbound" in spans or "socks5" in spans) else (
        "inbound" if "inbound" in spans else "")

    # -- 1.22+ access log -----------------------------------------------------------------------------------
    if target == "access" and message.startswith("connection "):
        phase = message.split(" ", 1)[1]
        err = f.get("error", "")
        return AccessEvent(
            **common, phase=phase,
            direction=f.get("direction", ""), src_addr=f.get("src.addr", ""), src_workload=f.get("src.workload", ""),
            src_namespace=f.get("src.namespace", ""), src_identity=f.get("src.identity", ""),
            dst_addr=f.get("dst.addr", ""), hbone_addr=f.get("dst.hbone_addr", ""),
            service=f.get("dst.service", ""), dst_workload=f.get("dst.workload", ""),
            dst_namespace=f.get("dst.namespace", ""), dst_identity=f.get("dst.identity", ""),
            src_cluster=f.get("src.cluster", ""), dst_cluster=f.get("dst.cluster", ""),
            bytes_sent=_int(f.get("bytes_sent")), bytes_recv=_int(f.get("bytes_recv")),
            duration_ms=duration_ms(f.get("duration")), error_text=err,
            error=classify_error(err) if err else None)

    # -- authorization decisions ------------------------------------------------------------------------------
    if message in POLICY_MESSAGES:
        decision, dry = POLICY_MESSAGES[message]
        return PolicyEvent(**common, decision=decision, dry_run=dry, policy=f.get("policy", ""))

    # -- ≤1.21 free-text decisions ------------------------------------------------------------------------------
    if message == "RBAC rejected":
        m = _RBAC_CONN.match(f.get("conn", ""))
        src_ip, ident, dst = (m["src"], m["id"], m["dst"]) if m else ("", "", f.get("conn", ""))
        return DecisionEvent(**common, decision="rbac-rejected", src_ip=src_ip,
                             src_identity="" if ident == "None" else ident, dst_addr=dst,
                             error=legacy_decision("rbac-rejected", message))
    if message in ("bypassed waypoint", "unknown destination"):
        m = _RBAC_CONN.match(f.get("conn", ""))
        decision = message.replace(" ", "-")
        return DecisionEvent(**common, decision=decision, src_ip=m["src"] if m else "",
                             src_identity=(m["id"] if m and m["id"] != "None" else ""),
                             dst_addr=m["dst"] if m else f.get("conn", ""), error=legacy_decision(decision, message))
    if message == "request from waypoint, skipping policy":
        return DecisionEvent(**common, decision="from-waypoint")
    if message == "request from gateway":
        return DecisionEvent(**common, decision="from-gateway")
    if message.startswith("Sending 400") or message.startswith("Sending 404"):
        mm = _IP_MISMATCH.search(message)
        if mm:
            return DecisionEvent(**common, decision="ip-mismatch", dst_addr=mm["b"], detail=message,
                                 error=classify_error(message))
        decision = "bad-method" if message.startswith("Sending 404") else "bad-request"
        return DecisionEvent(**common, decision=decision, detail=message, error=classify_error(message))

    # -- ≤1.21 routing decisions --------------------------------------------------------------------------
    for rx, proto in ((_ROUTE_HBONE, "HBONE"), (_ROUTE_TCP, "TCP")):
        m = rx.match(message)
        if m:
            return RouteEvent(**common, direction="outbound", protocol=proto, route_type=m["type"],
                              dst_addr=m["dst"], via=m["via"])
    m = _ROUTE_FAST.match(message)
    if m:
        return RouteEvent(**common, direction="outbound", protocol="fast-path", route_type="NodeLocal",
                          dst_addr=m["dst"], via=m["dst"])
    m = _CONNECT_REQ.match(message)
    if m:
        sp = spans.get("inbound", {})
        peer = sp.get("peer") or sp.get("peer_ip", "")
        return RouteEvent(**common, direction="inbound", protocol="HBONE", route_type="InboundHBONE",
                          src_addr=peer, dst_addr=m["dst"])
    if message == "accepted connection" and f.get("component") == "inbound plaintext":
        return RouteEvent(**common, direction="inbound", protocol="TCP", route_type="InboundPlaintext",
                          src_addr=f.get("source", ""), dst_addr=f.get("destination", ""))

    # -- ≤1.21 end of connection --------------------------------------------------------------------------
    if message in ("complete", "failed") and "dur" in f:
        err = f.get("err", "")
        return AccessEvent(**common, phase="complete", direction=span_dir, duration_ms=duration_ms(f.get("dur")),
                           error_text=err, error=classify_error(err) if err else None)
    if message == "connection complete" and f.get("component") == "inbound plaintext":
        return AccessEvent(**common, phase="complete", direction="inbound", src_addr=f.get("source", ""),
                           dst_addr=f.get("destination", ""))

    # -- anything else: keep it, classify errors it reports -----------------------------------------------------
    err = f.get("error") or f.get("err") or ""
    if not err and (level in ("warn", "error") or "revoked by CRL update" in message):
        # 1.31 CRL teardown of open connections is logged at DEBUG (src/proxy/h2/{server,client}.rs)
        err = message
    return LogEvent(**common, error=classify_error(err) if err else None)


def parse_ztunnel_log(lines: Iterable[str], source: str = "") -> list[LogEvent]:
    """Every line -> one event (comments and unknown lines become RawLine)."""
    return [parse_line(line, i, source) for i, line in enumerate(lines, 1)]
