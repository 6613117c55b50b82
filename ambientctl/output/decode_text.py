"""Text view of a Decode document: one line per flow and per tunnel, read at a glance; beneath a tunnel, indented,
its CONNECTs (authority → status), identities and related plaintext legs; then HTTP/2 streams and warnings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TextIO

from ambientctl.words import count

STATUS_STYLE = {2: "ok", 4: "deny", 5: "bad"}


def _ep(e: dict[str, Any]) -> str:
    ip = e["ip"]
    return f"[{ip}]:{e['port']}" if ":" in ip else f"{ip}:{e['port']}"


def _bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _status(code: int | None) -> str:
    if code is None:
        return "[warn]no response[/]"
    return f"[{STATUS_STYLE.get(code // 100, 'warn')}]{code}[/]"


def render_decode(doc: dict[str, Any], out: TextIO) -> None:
    from ambientctl.output.console import text_output  # rich: only for the text view

    with text_output(out) as c:
        _render(c, doc)


def _render(console: Any, doc: dict[str, Any]) -> None:
    from rich.markup import escape  # here, not at the top: `decode -o json` never needs rich

    class _Lines:  # one line per item: never wrap a flow line in the middle
        @staticmethod
        def print(text: str = "") -> None:
            console.print(text, soft_wrap=True)

    c = _Lines()
    span = ""
    if doc["firstTime"] is not None and doc["lastTime"] is not None:
        span = f" · {_when(doc['firstTime'])} +{doc['lastTime'] - doc['firstTime']:.3f} s"
    keys = f" · keys: {escape(', '.join(doc['keylog']))}" if doc["keylog"] else ""
    c.print(f"[head]{escape(doc['file'])}[/]  [dim]{doc['format']} · {count(doc['packets'], 'packet', thousands=True)} "
            f"({doc['tcpPackets']:,} TCP) · {count(len(doc['flows']), 'flow', thousands=True)}{span}{keys}[/]")
    tls_by_flow = {t["flow"]: t for t in doc["tls"]}
    tunnel_flows = {t["flow"] for t in doc["tunnels"]}

    if doc["tunnels"]:
        c.print()
        c.print("[head]HBONE tunnels[/]")
        for t in doc["tunnels"]:
            state = "[ok]decrypted[/]" if t["decrypted"] else "[dim]encrypted[/]"
            connects = count(len(t["connects"]), "CONNECT") if t["decrypted"] else "CONNECTs: unknown (no keys)"
            c.print(f"  [name]#{t['flow']}[/] {_ep(t['client'])} → {_ep(t['server'])}  alpn {t['alpn'] or '?'}  "
                    f"{state}  [dim]{connects}[/]")
            if t["clientIdentities"] or t["serverIdentities"]:
                c.print(f"      [key]identity[/] {escape(', '.join(t['clientIdentities']) or '?')} → "
                        f"{escape(', '.join(t['serverIdentities']) or '?')}")
            for s in t["connects"]:
                line = f"      [key]CONNECT[/] {escape(s['authority'] or '?')} → {_status(s['status'])}"
                if s["innerRequest"]:
                    line += f"  [dim]·[/] {escape(s['innerRequest'])}"
                    if s["innerStatus"]:
                        line += f" → {escape(s['innerStatus'])}"
                if s["rstStream"]:
                    line += f"  [dim]RST_STREAM {s['rstStream']['code']} by {s['rstStream']['by']}[/]"
                line += f"  [dim]stream {s['streamId']}, {_bytes(s['requestBytes'])}/{_bytes(s['responseBytes'])}[/]"
                c.print(line)
                for name in ("baggage", "forwarded", "traceparent"):
                    if s.get(name):
                        c.print(f"          [dim]{name}[/] {escape(s[name])}")
            for leg in t["legs"]:
                c.print(f"      [key]leg[/] #{leg['flow']} {leg['role']}  [dim]{escape(leg['reason'])}[/]")

    c.print()
    c.print("[head]Flows[/]")
    for f in doc["flows"]:
        proto = f["protocol"] or "tcp"
        tls = tls_by_flow.get(f["id"])
        if tls and tls["alpn"]:
            proto += f" {tls['alpn']}"
        role = f" [info]{f['role']}[/]" if f["role"] else ""
        hs = f["handshake"]["state"]
        hs_txt = "[dim]handshake[/] " + (hs if hs == "complete" else f"[warn]{hs}[/]")
        ends = []
        if f["finBy"]:
            ends.append("FIN " + "+".join(f["finBy"]))
        if f["rstBy"]:
            ends.append("[bad]RST " + "+".join(f["rstBy"]) + "[/]")
        pk, by = f["packets"], f["payloadBytes"]
        dur = f["lastTime"] - f["firstTime"]
        c.print(f"  [name]#{f['id']}[/] {_ep(f['client'])} → {_ep(f['server'])}  {proto}{role}  {hs_txt}"
                f"  {'  '.join(ends) or '[dim]open[/]'}  [dim]{pk['client']}/{pk['server']} pkts "
                f"{_bytes(by['client'])}/{_bytes(by['server'])} {dur:.3f} s[/]"
                + ("  [dim](HBONE)[/]" if f["id"] in tunnel_flows else ""))
        if tls:
            bits = [tls["version"] or "?", tls["cipherSuite"] or ""]
            if tls["sni"]:
                bits.append(f"sni {escape(tls['sni'])}")
            elif tls["version"]:
                bits.append("no sni")
            if tls["resumption"]["resumed"]:
                bits.append("[info]resumed[/]")
            bits.append("[ok]decrypted[/]" if tls["decrypted"] else f"[dim]keys {tls['keys']}[/]")
            if tls["alert"] and not tls["alert"].startswith("close_notify"):
                bits.append(f"[bad]alert {escape(tls['alert'])}[/]")
            c.print("      " + "  ".join(b for b in bits if b))
        if f["httpRequest"] or f["httpStatus"]:
            c.print(f"      {escape(f['httpRequest'] or '?')} → {escape(f['httpStatus'] or 'no response')}")
        for g in f["goaway"]:
            c.print(f"      [warn]GOAWAY {g['code']} by {g['by']}[/] (last stream {g['lastStreamId']})")

    if doc["streams"]:
        c.print()
        c.print("[head]HTTP/2 streams[/]")
        for s in doc["streams"]:
            line = (f"  #{s['flow']} stream {s['streamId']}  {escape(s['method'] or '?')} "
                    f"{escape(s['path'] or '')} → {_status(s['status'])}")
            if s["grpcStatus"] is not None:
                line += f"  grpc-status {s['grpcStatus']}"
            if s["rstStream"]:
                line += f"  RST_STREAM {s['rstStream']['code']} by {s['rstStream']['by']}"
            line += f"  [dim]{_bytes(s['requestBytes'])}/{_bytes(s['responseBytes'])}[/]"
            c.print(line)

    if doc["warnings"]:
        c.print()
        c.print(f"[warn]Warnings ({len(doc['warnings'])})[/]")
        for w in doc["warnings"]:
            c.print(f"  [warn]▲[/] {escape(w)}")


def write_decode_json(doc: dict[str, Any], out: TextIO) -> None:
    """The Decode document as JSON with one flow/tunnel/stream per line: a capture can hold tens of thousands
    of flows, which the indented encoder (pure Python) writes 5x slower than the C encoder writes lines, and
    one object per line stays readable and greppable."""
    compact = _compact_encoder()
    keys = list(doc)
    out.write("{\n")
    for i, k in enumerate(keys):
        v = doc[k]
        sep = "," if i < len(keys) - 1 else ""
        if isinstance(v, list) and v and isinstance(v[0], dict):
            out.write(f"  {compact(k)}: [\n")
            out.write(",\n".join("    " + compact(item) for item in v))
            out.write(f"\n  ]{sep}\n")
        else:
            out.write(f"  {compact(k)}: {compact(v)}{sep}\n")
    out.write("}\n")


def _compact_encoder() -> Any:
    """json's C encoder made once: JSONEncoder.encode builds a new one on every call, which is a quarter of the
    time of encoding 20k small flow objects one by one."""
    import json

    fallback = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return fallback

    def default(o: Any) -> Any:
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    try:
        c = make(None, default, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
    except TypeError:  # a different C signature: use the public path
        return fallback

    def encode(o: Any) -> str:
        if isinstance(o, str):
            return fallback(o)
        return "".join(c(o, 0))

    return encode
