"""gRPC (and plain HTTP/2) inside an HBONE CONNECT stream or a decrypted TLS connection.

Inside a tunnel, apps speak HTTP/2 with prior knowledge (h2c: the connection preface, then frames); ztunnel
carries those bytes untouched. Per HTTP/2 stream this reads the request headers (`:path` = /package.Service/
Method), the response `:status`, the trailers (`grpc-status`, `grpc-message`) and the DATA, which gRPC splits
into length-prefixed messages (1 byte compressed flag, 4 bytes big-endian length). The first messages get a
schema-less protobuf peek (field numbers, wire types, short strings) so an engineer can tell calls apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ambientctl.plugins.api import Decoded, InnerStream

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PUSH_PROMISE, CONTINUATION, RST_STREAM, GOAWAY = 0, 1, 5, 9, 3, 7
MAX_FRAME = 1 << 24
PEEK_MESSAGES = 2  # messages per direction and call that get a protobuf peek
GRPC_STATUS = ("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
               "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
               "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")
REDACTED = {"authorization", "cookie"}


@dataclass
class _Call:
    stream_id: int
    request: list[tuple[str, str]] = field(default_factory=list)
    response: list[tuple[str, str]] = field(default_factory=list)
    trailers: list[tuple[str, str]] = field(default_factory=list)
    data: dict[bool, bytearray] = field(default_factory=lambda: {True: bytearray(), False: bytearray()})
    reset: str | None = None

    def header(self, name: str) -> str | None:
        for k, v in self.request + self.response + self.trailers:
            if k == name:
                return v
        return None


def _frames(data: bytes, is_client: bool, calls: dict[int, _Call], notes: list[str]) -> None:
    from hpack import Decoder

    hp = Decoder()
    pos = 0
    if is_client:
        if not data.startswith(PREFACE):
            return
        pos = len(PREFACE)
    block: bytearray | None = None
    block_sid = 0
    while len(data) - pos >= 9:
        length = int.from_bytes(data[pos : pos + 3], "big")
        ftype, flags = data[pos + 3], data[pos + 4]
        sid = int.from_bytes(data[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
        if length > MAX_FRAME:
            notes.append(f"{'client' if is_client else 'server'}: lost HTTP/2 framing")
            return
        payload = data[pos + 9 : pos + 9 + length]
        if len(payload) < length:
            return  # cut by the capture or the cap
        pos += 9 + length
        if ftype == DATA and sid:
            if flags & 0x8 and payload:
                payload = payload[1 : len(payload) - payload[0]]
            calls.setdefault(sid, _Call(sid)).data[is_client] += payload
        elif ftype in (HEADERS, PUSH_PROMISE):
            start, pad = 0, 0
            if flags & 0x8 and payload:
                pad, start = payload[0], 1
            if ftype == PUSH_PROMISE:
                start += 4
            elif flags & 0x20:
                start += 5
            block, block_sid = bytearray(payload[start : len(payload) - pad]), (sid if ftype == HEADERS else -1)
        elif ftype == CONTINUATION and block is not None:
            block += payload
        elif ftype == RST_STREAM and len(payload) >= 4:
            calls.setdefault(sid, _Call(sid)).reset = f"0x{int.from_bytes(payload[:4], 'big'):x}"
        if block is not None and ftype in (HEADERS, PUSH_PROMISE, CONTINUATION) and flags & 0x4:
            headers = [(k, "<redacted>" if k in REDACTED else v) for k, v in hp.decode(bytes(block), raw=False)]
            block = None
            if block_sid < 0:
                continue
            call = calls.setdefault(block_sid, _Call(block_sid))
            if is_client:
                if call.request:
                    call.trailers += headers
                else:
                    call.request = headers
            elif any(k == ":status" for k, _ in headers) and not call.response:
                call.response = headers
            else:
                call.trailers += headers


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def protobuf_peek(msg: bytes, limit: int = 6) -> str:
    """Top-level protobuf fields without a schema: `1:"hello" 2:42 3:<12 bytes>`; '?' when it is not protobuf."""
    parts: list[str] = []
    pos = 0
    try:
        while pos < len(msg) and len(parts) < limit:
            key, pos = _varint(msg, pos)
            num, wire = key >> 3, key & 7
            if num == 0:
                raise ValueError("field 0")
            if wire == 0:
                v, pos = _varint(msg, pos)
                parts.append(f"{num}:{v}")
            elif wire == 2:
                n, pos = _varint(msg, pos)
                if pos + n > len(msg):
                    raise ValueError("short")
                raw = msg[pos : pos + n]
                pos += n
                try:
                    text = raw.decode("utf-8")
                    ok = text.isprintable()
                except UnicodeDecodeError:
                    ok = False
                parts.append(f"{num}:{text[:40]!r}" if ok else f"{num}:<{n} bytes>")
            elif wire == 1:
                pos += 8
                parts.append(f"{num}:<fixed64>")
            elif wire == 5:
                pos += 4
                parts.append(f"{num}:<fixed32>")
            else:
                raise ValueError(f"wire type {wire}")
        if pos > len(msg):
            raise ValueError("short")
    except (IndexError, ValueError):
        return "?"
    return " ".join(parts) + (" …" if pos < len(msg) else "")


def grpc_messages(data: bytes) -> tuple[list[tuple[bool, bytes]], int]:
    """Length-prefixed gRPC messages: [(compressed, message)], and the bytes left over (a cut message)."""
    out = []
    pos = 0
    while len(data) - pos >= 5:
        n = int.from_bytes(data[pos + 1 : pos + 5], "big")
        if pos + 5 + n > len(data):
            break
        out.append((data[pos] == 1, data[pos + 5 : pos + 5 + n]))
        pos += 5 + n
    return out, len(data) - pos


def _call_fields(call: _Call) -> dict[str, Any]:
    path = call.header(":path") or ""
    service, _, method = path.lstrip("/").rpartition("/")
    grpc = (call.header("content-type") or "").startswith("application/grpc")
    d: dict[str, Any] = {"stream": call.stream_id}
    if grpc:
        d |= {"service": service or None, "method": method or None}
    else:
        d |= {"method": call.header(":method"), "path": path or None}
    d["authority"] = call.header(":authority")
    status = call.header(":status")
    d["status"] = int(status) if status and status.isdigit() else None
    if grpc:
        gs = call.header("grpc-status")
        d["grpcStatus"] = int(gs) if gs and gs.isdigit() else None
        if d["grpcStatus"] is not None:
            d["grpcStatusName"] = GRPC_STATUS[d["grpcStatus"]] if d["grpcStatus"] < len(GRPC_STATUS) else None
        d["grpcMessage"] = call.header("grpc-message")
        d["grpcEncoding"] = call.header("grpc-encoding")
        d["grpcTimeout"] = call.header("grpc-timeout")
        for is_client, label in ((True, "request"), (False, "response")):
            msgs, rest = grpc_messages(bytes(call.data[is_client]))
            d[label + "s"] = len(msgs)
            d[label + "Bytes"] = sum(len(m) for _, m in msgs)
            peeks = ["<compressed>" if c else protobuf_peek(m) for c, m in msgs[:PEEK_MESSAGES]]
            if peeks:
                d["first" + label.title() + "s"] = " | ".join(peeks)
            if rest:
                d[label + "BytesCut"] = rest
    else:
        d["requestBytes"], d["responseBytes"] = len(call.data[True]), len(call.data[False])
    d["reset"] = call.reset
    return {k: v for k, v in d.items() if v is not None}


def decode(stream: InnerStream) -> Decoded | None:
    """HTTP/2 with prior knowledge (a gRPC channel) in either kind of stream; None for anything else."""
    if not stream.client.startswith(PREFACE):
        return None
    calls: dict[int, _Call] = {}
    notes: list[str] = []
    _frames(stream.client, True, calls, notes)
    _frames(stream.server, False, calls, notes)
    rows = [_call_fields(c) for _, c in sorted(calls.items()) if c.request or c.response]
    grpc = [r for r in rows if "service" in r]
    if grpc:
        ok = sum(1 for r in grpc if r.get("grpcStatus") == 0)
        names: list[str] = []
        for r in grpc:
            name = f"{r['service']}/{r['method']}"
            if name not in names:
                names.append(name)
        summary = (f"{len(grpc)} call{'s' if len(grpc) != 1 else ''}, {ok} OK: " + ", ".join(names[:3])
                   + (f" (+{len(names) - 3})" if len(names) > 3 else ""))
        bad = [f"{r['method']} {r.get('grpcStatusName') or r.get('grpcStatus') or 'no status'}"
               for r in grpc if r.get("grpcStatus") != 0]
        if bad:
            summary += "; failed: " + ", ".join(bad[:3])
        return Decoded(protocol="grpc", messages=rows, summary=summary)
    summary = f"{len(rows)} HTTP/2 stream{'s' if len(rows) != 1 else ''}" + (
        f": {rows[0].get('method')} {rows[0].get('path')} → {rows[0].get('status')}" if rows else "")
    return Decoded(protocol="http2", messages=rows, summary=summary + ("; " + "; ".join(notes) if notes else ""))
