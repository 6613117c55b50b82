"""HTTP/2 framing and HPACK over a decrypted (or h2c) byte stream, one HPACK decoder per direction.

HBONE is HTTP/2 CONNECT: the interesting facts are the CONNECT `:authority`, `baggage`, `forwarded`,
`traceparent`, the response `:status` (200 / 401 denied / 503 upstream failure), the inner HTTP/1.x request line
and status carried as DATA, and RST_STREAM / GOAWAY codes. Ordinary HTTP/2 (gRPC) streams get method, path and
status. Credentials in headers are redacted.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ambientctl.decode.model import H2Stream

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_FRAME = 1 << 20  # larger frames than 1 MiB mean we lost sync (default max is 16 KiB)
MAX_HEADER_BLOCK = 1 << 18
MAX_STREAMS = 10000
INNER_PEEK = 8192  # bytes of CONNECT DATA kept to find the inner HTTP/1.x first line

ERROR_CODES = {
    0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR", 4: "SETTINGS_TIMEOUT",
    5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR",
    10: "CONNECT_ERROR", 11: "ENHANCE_YOUR_CALM", 12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED",
}
REDACTED = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
REQUEST_LINE = re.compile(rb"^([A-Z]{3,10}) (\S+) (HTTP/1\.[01])\r?$")
STATUS_LINE = re.compile(rb"^(HTTP/1\.[01]) (\d{3})(?: (.*))?\r?$")

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)


def error_name(code: int) -> str:
    return ERROR_CODES.get(code, f"0x{code:x}")


def first_line(data: bytes) -> bytes | None:
    end = data.find(b"\n")
    return data[:end] if end >= 0 else None


class _Side:
    __slots__ = ("block", "block_end_stream", "block_stream", "buf", "decoder", "done", "is_client", "preface")

    def __init__(self, is_client: bool):
        from hpack import Decoder

        self.is_client = is_client
        self.buf = bytearray()
        self.decoder = Decoder()
        self.preface = not is_client  # only the client sends the connection preface
        self.block: bytearray | None = None
        self.block_stream = 0
        self.block_end_stream = False
        self.done = False


class Http2Session:
    """Feed it each direction's application bytes in order. `streams` fills as frames arrive."""

    def __init__(self, flow_id: int, label: str, warn: Callable[[str], None]):
        self.flow_id = flow_id
        self.label = label
        self.warn = warn
        self.sides = {True: _Side(True), False: _Side(False)}
        self.streams: dict[int, H2Stream] = {}
        self.goaway: list[dict] = []
        self._peek: dict[tuple[int, bool], bytearray] = {}
        self._inner_done: set[tuple[int, bool]] = set()
        self.dropped_streams = 0

    def wants(self, is_client: bool) -> bool:
        return not self.sides[is_client].done

    def _stop(self, side: _Side, why: str) -> None:
        self.warn(f"{self.label}: HTTP/2 {'client' if side.is_client else 'server'} side: {why}; stopped decoding there")
        side.done = True
        side.buf = bytearray()

    def feed(self, is_client: bool, data: bytes, ts: float) -> None:
        side = self.sides[is_client]
        if side.done:
            return
        side.buf += data
        buf = side.buf
        if not side.preface:
            if len(buf) < len(PREFACE):
                if not PREFACE.startswith(bytes(buf)):
                    self._stop(side, "no connection preface")
                return
            if not buf.startswith(PREFACE):
                self._stop(side, "no connection preface")
                return
            del buf[: len(PREFACE)]
            side.preface = True
        pos = 0
        while len(buf) - pos >= 9 and not side.done:
            length = int.from_bytes(buf[pos : pos + 3], "big")
            if length > MAX_FRAME:
                self._stop(side, f"frame length {length} is implausible")
                return
            if len(buf) - pos < 9 + length:
                break
            ftype = buf[pos + 3]
            flags = buf[pos + 4]
            sid = int.from_bytes(buf[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
            payload = bytes(buf[pos + 9 : pos + 9 + length])
            pos += 9 + length
            try:
                self._frame(side, ftype, flags, sid, payload, ts)
            except Exception as e:  # hpack raises its own errors; a bad frame must not stop the whole decode
                self._stop(side, f"bad {ftype} frame on stream {sid} ({type(e).__name__}: {e})")
                return
        if not side.done:
            del buf[:pos]

    def _stream(self, sid: int, ts: float) -> H2Stream | None:
        st = self.streams.get(sid)
        if st is None:
            if len(self.streams) >= MAX_STREAMS:
                self.dropped_streams += 1
                if self.dropped_streams == 1:
                    self.warn(f"{self.label}: more than {MAX_STREAMS} HTTP/2 streams; later ones are not listed")
                return None
            st = self.streams[sid] = H2Stream(self.flow_id, sid, first_ts=ts)
        st.last_ts = ts
        return st

    def _frame(self, side: _Side, ftype: int, flags: int, sid: int, payload: bytes, ts: float) -> None:
        if side.block is not None and ftype != CONTINUATION:
            raise ValueError("header block interrupted")
        if ftype == DATA:
            if flags & 0x8:
                payload = payload[1 : len(payload) - payload[0]] if payload else b""
            st = self._stream(sid, ts)
            if st is None:
                return
            if side.is_client:
                st.request_bytes += len(payload)
                st.client_ended |= bool(flags & 1)
            else:
                st.response_bytes += len(payload)
                st.server_ended |= bool(flags & 1)
            if st.is_connect and payload:
                self._inner(st, side.is_client, payload)
        elif ftype in (HEADERS, PUSH_PROMISE):
            pos = 0
            pad = 0
            if flags & 0x8:
                pad = payload[0]
                pos = 1
            if ftype == PUSH_PROMISE:
                pos += 4
            elif flags & 0x20:
                pos += 5
            side.block = bytearray(payload[pos : len(payload) - pad])
            side.block_stream = sid if ftype == HEADERS else -1
            side.block_end_stream = bool(flags & 1) and ftype == HEADERS
            if flags & 0x4:
                self._header_block(side, ts)
        elif ftype == CONTINUATION:
            if side.block is None:
                raise ValueError("CONTINUATION without HEADERS")
            side.block += payload
            if len(side.block) > MAX_HEADER_BLOCK:
                raise ValueError("header block too large")
            if flags & 0x4:
                self._header_block(side, ts)
        elif ftype == RST_STREAM and len(payload) >= 4:
            st = self._stream(sid, ts)
            if st is not None:
                st.rst_code = error_name(int.from_bytes(payload[:4], "big"))
                st.rst_by = "client" if side.is_client else "server"
        elif ftype == GOAWAY and len(payload) >= 8:
            self.goaway.append({
                "by": "client" if side.is_client else "server",
                "lastStreamId": int.from_bytes(payload[:4], "big") & 0x7FFFFFFF,
                "code": error_name(int.from_bytes(payload[4:8], "big")),
                "debug": payload[8:200].decode("utf-8", "replace") or None,
            })
        elif ftype == SETTINGS and not flags & 1:
            for i in range(0, len(payload) - 5, 6):
                ident = int.from_bytes(payload[i : i + 2], "big")
                value = int.from_bytes(payload[i + 2 : i + 6], "big")
                if ident == 1:  # HEADER_TABLE_SIZE limits the *peer's* encoder
                    self.sides[not side.is_client].decoder.max_allowed_table_size = value

    def _header_block(self, side: _Side, ts: float) -> None:
        block = bytes(side.block or b"")
        side.block = None
        headers = [
            (k, "<redacted>" if k in REDACTED else v) for k, v in side.decoder.decode(block, raw=False)
        ]
        if side.block_stream < 0:
            return  # PUSH_PROMISE: decoded only to keep the HPACK table in step
        st = self._stream(side.block_stream, ts)
        if st is None:
            return
        if side.is_client:
            st.client_ended |= side.block_end_stream
            if not st.request_headers:
                st.request_headers = headers
                for k, v in headers:
                    if k == ":method":
                        st.method = v
                    elif k == ":path":
                        st.path = v
                    elif k == ":authority":
                        st.authority = v
                    elif k == ":scheme":
                        st.scheme = v
            else:
                st.trailers = headers
        else:
            st.server_ended |= side.block_end_stream
            status = next((v for k, v in headers if k == ":status"), None)
            if status is not None and (st.status is None or 100 <= st.status < 200):
                st.response_headers = headers
                try:
                    st.status = int(status)
                except ValueError:
                    st.status = None
            else:
                st.trailers = headers

    def _inner(self, st: H2Stream, is_client: bool, payload: bytes) -> None:
        key = (st.stream_id, is_client)
        if key in self._inner_done:
            return
        peek = self._peek.setdefault(key, bytearray())
        if len(peek) >= INNER_PEEK:
            return
        peek += payload[: INNER_PEEK - len(peek)]
        line = first_line(bytes(peek))
        if line is None:
            if len(peek) >= INNER_PEEK:
                del self._peek[key]
                self._inner_done.add(key)
            return
        del self._peek[key]
        self._inner_done.add(key)
        text = line.rstrip(b"\r").decode("latin-1")
        if is_client and REQUEST_LINE.match(line):
            st.inner_request = text
        elif not is_client and STATUS_LINE.match(line):
            st.inner_status = text
