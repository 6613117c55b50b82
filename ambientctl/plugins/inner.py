"""Inner payloads for decoder plugins: while a capture decodes, keep what the apps sent through each HBONE
CONNECT stream (and through TLS connections that are not HBONE), then let the `ambientctl.decoders.v1` plugins
say what protocol it is and what was in it.

The bytes come from `Decoder(on_app_data=...)`, the decode engine's hook for decrypted TLS records, so nothing
is collected without keys and the fast path is untouched. A second HTTP/2 parse of the tunnel (the engine's own
`Http2Session`, which hands CONNECT DATA to `_inner`) pulls out the stream payloads. Each direction is capped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from ambientctl.decode.http2 import PREFACE, Http2Session
from ambientctl.decode.model import DecodeResult, H2Stream
from ambientctl.plugins import DECODERS, Plugin, Registry
from ambientctl.plugins.api import Decoded, InnerStream

CAP = 1 << 20  # bytes kept per direction of a stream
MAX_MESSAGES = 50


class _TunnelSession(Http2Session):
    """The engine's HTTP/2 parser, keeping the DATA of CONNECT streams instead of only peeking at it."""

    def __init__(self, flow_id: int):
        super().__init__(flow_id, f"flow {flow_id}", lambda _msg: None)  # the engine already warns
        self.data: dict[tuple[int, bool], bytearray] = {}
        self.cut: set[tuple[int, bool]] = set()

    def _inner(self, st: H2Stream, is_client: bool, payload: bytes) -> None:
        key = (st.stream_id, is_client)
        buf = self.data.setdefault(key, bytearray())
        room = CAP - len(buf)
        if len(payload) > room:
            self.cut.add(key)
        if room > 0:
            buf += payload[:room]


class _FlowBytes:
    __slots__ = ("cut", "first_ts", "h2", "raw", "tunnel")

    def __init__(self, ts: float):
        self.raw = {True: bytearray(), False: bytearray()}
        self.cut = {True: False, False: False}
        self.h2: _TunnelSession | None = None
        self.first_ts = ts
        self.tunnel = False


class InnerCollector:
    """`on_app_data` callback for the decode engine; `streams(result)` afterwards gives the InnerStreams."""

    def __init__(self) -> None:
        self.flows: dict[int, _FlowBytes] = {}

    def __call__(self, flow_id: int, is_client: bool, data: bytes, ts: float) -> None:
        fb = self.flows.get(flow_id)
        if fb is None:
            fb = self.flows[flow_id] = _FlowBytes(ts)
        if is_client and not fb.raw[True] and fb.h2 is None and data.startswith(PREFACE[: len(data)]):
            fb.h2 = _TunnelSession(flow_id)  # the client speaks first in HTTP/2; the server's SETTINGS may not
            if fb.raw[False]:
                fb.h2.feed(False, bytes(fb.raw[False]), ts)
        if fb.h2 is not None:
            fb.h2.feed(is_client, data, ts)
        if fb.tunnel:
            return
        if fb.h2 is not None and fb.h2.data:  # CONNECT DATA seen: a tunnel, only its streams matter
            fb.tunnel = True
            fb.raw = {True: bytearray(), False: bytearray()}
            return
        buf = fb.raw[is_client]
        room = CAP - len(buf)
        if len(data) > room:
            fb.cut[is_client] = True
        if room > 0:
            buf += data[:room]

    def streams(self, result: DecodeResult) -> list[InnerStream]:
        out: list[InnerStream] = []
        tunnels = {t.flow_id: t for t in result.tunnels}
        for flow_id, fb in sorted(self.flows.items()):
            t = tunnels.get(flow_id)
            if t is not None and fb.h2 is not None:
                for s in t.streams:
                    c, sv = (s.stream_id, True), (s.stream_id, False)
                    client, server = fb.h2.data.get(c, b""), fb.h2.data.get(sv, b"")
                    if not client and not server:
                        continue
                    out.append(InnerStream(
                        kind="hbone", flow=flow_id, stream_id=s.stream_id, authority=s.authority,
                        client=bytes(client), server=bytes(server), client_truncated=c in fb.h2.cut,
                        server_truncated=sv in fb.h2.cut, first_ts=s.first_ts))
            elif t is None and (fb.raw[True] or fb.raw[False]):
                f = result.flow(flow_id)
                host = f"[{f.server[0]}]" if ":" in f.server[0] else f.server[0]
                out.append(InnerStream(
                    kind="tls", flow=flow_id, stream_id=None, authority=f"{host}:{f.server[1]}",
                    client=bytes(fb.raw[True]), server=bytes(fb.raw[False]), client_truncated=fb.cut[True],
                    server_truncated=fb.cut[False], alpn=f.tls.alpn if f.tls else None, first_ts=fb.first_ts))
        return out


def decode_with_payloads(path: str, keylog: Any, registry: Registry | Callable[[], Registry]
                         ) -> tuple[DecodeResult, list[dict[str, Any]] | None]:
    """decode_file, plus the decoder plugins' reading of every decrypted inner stream (None when nothing was
    decrypted, so there was nothing to read). `registry` may be a function giving it, called only when there is
    something for the plugins to read (loading them costs more than decoding a small capture)."""
    from ambientctl.decode import Decoder

    collector = InnerCollector()
    d = Decoder(path, keylog, on_app_data=collector)
    for _ in d.run():
        pass
    result = d.result()
    streams = collector.streams(result)
    if not streams:
        return result, None
    return result, run_decoders(streams, registry if isinstance(registry, Registry) else registry())


def _as_decoded(reg: Registry, p: Plugin, res: Any) -> Decoded | None:
    if res is None or isinstance(res, Decoded):
        return res
    reg.report(p, f"returned {type(res).__name__}, not ambientctl.plugins.api.Decoded", loading=False)
    return None


def run_decoders(streams: list[InnerStream], reg: Registry) -> list[dict[str, Any]]:
    """Each stream goes to the ordinary decoders (third-party first: they are more specific than the built-ins)
    until one recognises it; what none recognised goes to the deep decoders. Returns one entry per stream."""
    loaded = reg.loaded(DECODERS)
    ordinary = sorted(((p, fn) for p, fn in loaded if not getattr(fn, "deep", False)), key=lambda x: x[0].builtin)
    deep = [(p, fn) for p, fn in loaded if getattr(fn, "deep", False)]
    found: dict[int, tuple[Plugin, Decoded]] = {}
    for i, s in enumerate(streams):
        for p, fn in ordinary:
            res = _as_decoded(reg, p, reg.call(p, fn, s))
            if res is not None:
                found[i] = (p, res)
                break
    for p, fn in deep:
        todo = [i for i in range(len(streams)) if i not in found]
        if not todo:
            break
        batch = getattr(fn, "decode_batch", None)
        if batch is not None:
            results = reg.call(p, batch, [streams[i] for i in todo])
            if results is None:
                continue
            results = list(results)
            if len(results) != len(todo):
                reg.report(p, f"decode_batch returned {len(results)} results for {len(todo)} streams", False)
                continue
        else:
            results = [reg.call(p, fn, streams[i]) for i in todo]
        for i, res in zip(todo, results, strict=True):
            dec = _as_decoded(reg, p, res)
            if dec is not None:
                found[i] = (p, dec)
    return [_entry(s, *found.get(i, (None, None))) for i, s in enumerate(streams)]


def _entry(s: InnerStream, p: Plugin | None, dec: Decoded | None) -> dict[str, Any]:
    msgs = list(dec.messages[:MAX_MESSAGES]) if dec else []
    return {
        "flow": s.flow,
        "streamId": s.stream_id,
        "kind": s.kind,
        "authority": s.authority,
        "bytes": {"client": len(s.client), "server": len(s.server)},
        "truncated": s.client_truncated or s.server_truncated,
        "protocol": dec.protocol if dec else None,
        "decoder": p.name if p else None,
        "plugin": (None if p.builtin else p.dist) if p else None,
        "summary": dec.summary if dec else None,
        "messages": msgs,
        "moreMessages": max(0, len(dec.messages) - MAX_MESSAGES) if dec else 0,
    }


def add_payloads(doc: dict[str, Any], payloads: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The Decode document with `payloads` after `streams` (absent when nothing was decrypted)."""
    if payloads is None:
        return doc
    out: dict[str, Any] = {}
    for k, v in doc.items():
        out[k] = v
        if k == "streams":
            out["payloads"] = payloads
    out.setdefault("payloads", payloads)
    return out


def render_payloads(doc: dict[str, Any], out: TextIO) -> None:
    """Text view: one line per inner stream (where, protocol, summary, which plugin), its messages beneath."""
    payloads = doc.get("payloads")
    if not payloads:
        return
    from rich.markup import escape
    from rich.padding import Padding
    from rich.text import Text

    from ambientctl.output.console import text_output

    streams = doc.get("streams") or []
    h2_flows = {s["flow"] for s in streams}
    grpc_flows = {s["flow"] for s in streams if s.get("grpcStatus") is not None}
    with text_output(out) as c:
        c.print()
        c.print("[head]Payloads[/]")
        for e in payloads:
            where = f"flow {e['flow']}" + (f" stream {e['streamId']}" if e["streamId"] is not None else "")
            protocol = e["protocol"] or _unread(e, h2_flows, grpc_flows)
            head = (f"{where} → {escape(e['authority'] or '?')}  [name]{escape(protocol)}[/]"
                    f"  {escape(e['summary'] or '')}")
            if e["decoder"]:
                by = e["decoder"] + (f" ({e['plugin']})" if e["plugin"] else "")
                head += f"  [dim]· {escape(by)}[/]"
            if e["truncated"]:
                head += "  [warn](cut at 1 MiB)[/]"
            c.print(Padding(head, (0, 0, 0, 2)))
            for m in e["messages"][:10]:
                c.print(Padding(Text(_fields(m), style="dim"), (0, 0, 0, 6)))
            more = len(e["messages"]) - 10 + e["moreMessages"]
            if more > 0:
                c.print(Padding(f"[dim]… {more} more (-o json shows up to {MAX_MESSAGES})[/]", (0, 0, 0, 6)))


def _unread(e: dict[str, Any], h2_flows: set[int], grpc_flows: set[int]) -> str:
    """What to call a payload no decoder plugin read: the HTTP/2 the decoder itself already read is not "not
    recognised" — only its messages are left unread."""
    flow = e["flow"] if e["kind"] == "tls" else None  # inside an HBONE tunnel the bytes are the app's own
    if flow in grpc_flows:
        return "gRPC over HTTP/2 (streams above); its messages need the ambientctl-grpc decoder plugin"
    if flow in h2_flows:
        return "HTTP/2 (streams above); no decoder plugin reads its messages"
    return "no decoder plugin recognised these bytes"


def _fields(m: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in m.items() if v not in (None, "", [], {}))

