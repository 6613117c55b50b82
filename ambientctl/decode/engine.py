"""The decoder: frames -> IPv4/IPv6 -> TCP flows, with payload reassembled only where it pays (TLS handshakes,
decryptable TLS, HTTP/1.x first lines, h2c) and in bounded buffers.

The per-packet path is one loop with headers parsed by hand (struct/indexing, no per-packet objects), because
flow-level decoding must beat tshark by a wide margin on multi-gigabyte captures (bench/decode_bench.py).
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice

from ambientctl.decode.capfile import CaptureFormatError, CaptureReader
from ambientctl.decode.http2 import PREFACE, STATUS_LINE, Http2Session, first_line
from ambientctl.decode.http2 import REQUEST_LINE as HTTP1_REQUEST
from ambientctl.decode.keylog import KeyLog
from ambientctl.decode.model import DecodeResult, Flow, Leg, Tunnel
from ambientctl.decode.tls import TlsSession
from ambientctl.errors import file_error
from ambientctl.words import count

M32 = 0xFFFFFFFF
HOLD_SEGMENTS = 512  # out-of-order segments held per direction before we call it a hole
HOLD_BYTES = 1 << 21
MAX_WARNINGS = 200
RAW_LINKTYPES = (101, 12, 14)
HBONE_PORT, OUTBOUND_PORT, INBOUND_PLAIN_PORT = 15008, 15001, 15006
ROLES = {HBONE_PORT: "hbone", OUTBOUND_PORT: "ztunnel-outbound", INBOUND_PLAIN_PORT: "inbound-plaintext"}
HTTP1_METHOD = re.compile(rb"^(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT|TRACE) ")
LEG_WINDOW = 2.0  # seconds: how far apart a plaintext leg and a CONNECT may start and still be related

# Ports that are servers when the capture missed the SYN (otherwise the lower port is the server).
SERVER_PORTS = {HBONE_PORT, OUTBOUND_PORT, INBOUND_PLAIN_PORT, 15012, 15017, 15021, 15000, 15020}


class DecodeError(Exception):
    """The file cannot be decoded at all (missing, empty, not a capture). The message names the file."""


def _addr(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


class _Reasm:
    """In-order delivery of one direction's payload: retransmissions trimmed, out-of-order segments held in a
    bounded buffer, a hole that never fills ends the decoding of that direction."""

    __slots__ = ("conn", "held", "held_bytes", "isc", "next")

    def __init__(self, conn: _Conn, isc: bool):
        self.conn = conn
        self.isc = isc
        self.next: int | None = None
        self.held: dict[int, tuple[bytes, int, float]] = {}
        self.held_bytes = 0

    def feed(self, seq: int, payload: bytes, plen: int, ts: float) -> None:
        nxt = self.next
        if nxt is None:
            nxt = seq
        off = (seq - nxt) & M32
        if off == 0:
            self.next = (seq + plen) & M32
            self._deliver(payload, plen, ts)
            if self.held:
                self._drain()
        elif off < 0x80000000:
            if seq not in self.held:
                self.held[seq] = (payload, plen, ts)
                self.held_bytes += len(payload)
            if len(self.held) > HOLD_SEGMENTS or self.held_bytes > HOLD_BYTES:
                self.conn.gap(self.isc, f"a segment before seq {seq} was not captured")
        else:
            back = (nxt - seq) & M32
            if back < plen:  # partly new data
                self.next = (seq + plen) & M32
                self._deliver(payload[back:], plen - back, ts)
                if self.held:
                    self._drain()

    def _deliver(self, payload: bytes, plen: int, ts: float) -> None:
        self.conn.deliver(self.isc, payload, ts)
        if len(payload) < plen:
            self.conn.gap(self.isc, "a segment was cut short by the capture snaplen")

    def _drain(self) -> None:
        while self.held and self.conn.sink(self.isc) is self:
            nxt = self.next
            item = self.held.pop(nxt, None)
            if item is None:
                # drop segments now entirely behind us; stop at the first that is still ahead
                behind = [s for s in self.held if ((s - nxt) & M32) >= 0x80000000]
                if not behind:
                    return
                for s in behind:
                    payload, plen, ts = self.held.pop(s)
                    self.held_bytes -= len(payload)
                    back = (nxt - s) & M32
                    if back < plen:
                        self.next = (s + plen) & M32
                        self._deliver(payload[back:], plen - back, ts)
                        break
                continue
            payload, plen, ts = item
            self.held_bytes -= len(payload)
            self.next = (nxt + plen) & M32
            self._deliver(payload, plen, ts)


class _Http1:
    """Plaintext HTTP/1.x: the first request line and the first status line, nothing more."""

    def __init__(self, conn: _Conn):
        self.conn = conn
        self.done = {True: False, False: False}

    def wants(self, isc: bool) -> bool:
        return not self.done[isc]

    def feed(self, isc: bool, data: bytes, ts: float) -> None:
        self.done[isc] = True
        line = first_line(data[:8192])
        if line is None:
            return
        if isc and HTTP1_REQUEST.match(line):
            self.conn.http_request = line.rstrip(b"\r").decode("latin-1")
        elif not isc and STATUS_LINE.match(line):
            self.conn.http_status = line.rstrip(b"\r").decode("latin-1")


class _Conn:
    __slots__ = (
        "ack", "app", "cb", "cip", "cp", "cport", "cr", "decoder", "fin_by", "first", "h2", "http_request",
        "http_status", "id", "inner_done", "isn", "keys", "last", "protocol", "rst_by", "sb", "sip", "sp",
        "sport", "sr", "syn", "syn_ack", "tls", "want_ack",
    )

    def __init__(self, decoder: Decoder, cid: int, cip: str, cport: int, sip: str, sport: int, ts: float):
        self.decoder = decoder
        self.id = cid
        self.cip, self.cport, self.sip, self.sport = cip, cport, sip, sport
        self.first = self.last = ts
        self.cp = self.sp = self.cb = self.sb = 0
        self.syn = self.syn_ack = self.ack = self.want_ack = False
        self.isn: int | None = None
        self.fin_by: list[str] = []
        self.rst_by: list[str] = []
        self.cr: _Reasm | None = _Reasm(self, True)
        self.sr: _Reasm | None = _Reasm(self, False)
        self.app: TlsSession | _Http1 | Http2Session | None = None
        self.tls: TlsSession | None = None
        self.h2: Http2Session | None = None
        self.inner_done = False
        self.protocol: str | None = None
        self.http_request: str | None = None
        self.http_status: str | None = None
        self.keys: tuple[bytes, bytes] = (b"", b"")

    @property
    def label(self) -> str:
        return f"flow {self.id} ({self.cip}:{self.cport} -> {self.sip}:{self.sport})"

    def sink(self, isc: bool) -> _Reasm | None:
        return self.cr if isc else self.sr

    def drop(self, isc: bool) -> None:
        if isc:
            self.cr = None
        else:
            self.sr = None

    def gap(self, isc: bool, why: str) -> None:
        if self.sink(isc) is None:
            return
        self.drop(isc)
        if self.app is not None and self.app.wants(isc) and not isinstance(self.app, _Http1):
            self.decoder.warn(f"{self.label}: {why} ({'client' if isc else 'server'} side); "
                              "stopped reassembling there")

    def deliver(self, isc: bool, data: bytes, ts: float) -> None:
        app = self.app
        if app is None:
            app = self._sniff(isc, data)
            if app is None:
                self.drop(isc)
                return
        app.feed(isc, data, ts)
        if not app.wants(isc):
            self.drop(isc)

    def _sniff(self, isc: bool, data: bytes):
        head = data[:3]
        if len(head) == 3 and head[1] == 3 and head[2] <= 4 and head[0] in (22, 23, 21):
            self.protocol = "tls"
            if head[0] != 22:
                return None  # joined mid-connection: encrypted records only
            self.tls = TlsSession(self.label, self.decoder.keylog, self.decoder.warn, self._app_data)
            self.app = self.tls
            return self.app
        if isc and PREFACE.startswith(data[:24]) and len(data) >= 4:
            self.protocol = "http2"
            self.h2 = self.app = Http2Session(self.id, self.label, self.decoder.warn)
            return self.app
        if HTTP1_METHOD.match(data) or data.startswith(b"HTTP/1."):
            self.protocol = "http/1.x"
            self.app = _Http1(self)
            return self.app
        return None

    def _app_data(self, isc: bool, data: bytes, ts: float) -> None:
        """Decrypted TLS application data: HTTP/2 (HBONE, gRPC) or HTTP/1.x first lines."""
        if self.decoder.on_app_data is not None:
            self.decoder.on_app_data(self.id, isc, data, ts)
        if self.inner_done:
            return
        if self.h2 is None:
            if not isc:
                return  # the client speaks first in HTTP/2 and HTTP/1.x
            if data.startswith(PREFACE[: len(data)]):
                self.h2 = Http2Session(self.id, self.label, self.decoder.warn)
            else:
                line = first_line(data[:8192])
                if line is not None and HTTP1_REQUEST.match(line):
                    self.http_request = line.rstrip(b"\r").decode("latin-1")
                self.inner_done = True
                return
        self.h2.feed(isc, data, ts)
        if not self.h2.wants(True) and not self.h2.wants(False):
            self.inner_done = True

    def to_flow(self) -> Flow:
        f = Flow(
            id=self.id, client=(self.cip, self.cport), server=(self.sip, self.sport),
            first_ts=self.first, last_ts=self.last, syn=self.syn, syn_ack=self.syn_ack, ack=self.ack,
            fin_by=list(self.fin_by), rst_by=list(self.rst_by), client_packets=self.cp,
            server_packets=self.sp, client_bytes=self.cb, server_bytes=self.sb,
            protocol="http2" if self.h2 is not None and self.protocol is None else self.protocol,
            role=ROLES.get(self.sport), tls=self.tls.info if self.tls else None,
            http_request=self.http_request, http_status=self.http_status,
            goaway=list(self.h2.goaway) if self.h2 else [],
        )
        return f


@dataclass
class Progress:
    """Where a streaming decode is: for a progress bar and for showing flows while a big capture loads."""

    packets: int
    bytes_read: int
    total_bytes: int
    flows: int


class Decoder:
    """Decode one capture. `run()` yields Progress every `every` packets; `result()` gives the DecodeResult.

    `on_app_data(flow_id, is_client, data, ts)`, if given, receives every decrypted TLS application-data record.
    """

    def __init__(self, path: str, keylog: KeyLog | None = None,
                 on_app_data: Callable[[int, bool, bytes, float], None] | None = None):
        self.path = path
        self.on_app_data = on_app_data
        self.keylog = keylog
        self.table: dict[bytes, tuple[_Conn, bool]] = {}
        self.conns: list[_Conn] = []
        self.warnings: list[str] = []
        self._suppressed = 0
        self.packets = self.tcp = self.other = self.malformed = 0
        self.first_ts: float | None = None
        self.last_ts: float = 0.0
        self.reader = CaptureReader(path, on_secrets=self._secrets)
        self._unknown_linktypes: set[int] = set()
        self._done = False

    def warn(self, msg: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(msg)
        else:
            self._suppressed += 1

    def _secrets(self, text: bytes) -> None:
        if self.keylog is None:
            self.keylog = KeyLog()
        self.keylog.add(text, f"{self.path} (Decryption Secrets Block)")
        for c in self.conns:  # sessions created before the block see the new keys too
            if c.tls is not None:
                c.tls.keylog = self.keylog

    def run(self, every: int = 0) -> Iterator[Progress]:
        try:
            records = self.reader.records()
            total = os.path.getsize(self.path)
            if every <= 0:
                self._loop(records)
            else:
                while self._loop(islice(records, every)) == every:
                    yield Progress(self.packets, self.reader.bytes_read, total, len(self.conns))
        except CaptureFormatError as e:
            raise DecodeError(str(e)) from None
        except OSError as e:
            raise DecodeError(str(file_error(self.path, e, "capture"))) from None
        self._done = True
        yield Progress(self.packets, total, total, len(self.conns))

    def _loop(self, records) -> int:
        table = self.table
        new = self._new
        control = self._control
        unpack_I = struct.Struct("!I").unpack_from
        n = tcp = other = malformed = 0
        ts = 0.0
        first = self.first_ts
        for _num, ts, lt, data, _orig, _if in records:
            n += 1
            if first is None:
                first = ts
            try:
                if lt == 1:
                    et = (data[12] << 8) | data[13]
                    off = 14
                    while et == 0x8100 or et == 0x88A8:
                        et = (data[off + 2] << 8) | data[off + 3]
                        off += 4
                elif lt == 276:
                    et = (data[0] << 8) | data[1]
                    off = 20
                elif lt == 113:
                    et = (data[14] << 8) | data[15]
                    off = 16
                elif lt in RAW_LINKTYPES:
                    v = data[0] >> 4
                    off = 0
                    et = 0x800 if v == 4 else (0x86DD if v == 6 else 0)
                elif lt == 0 or lt == 108:
                    fam = data[0] | data[3]
                    off = 4
                    et = 0x800 if fam == 2 else (0x86DD if fam in (10, 24, 28, 30) else 0)
                elif lt == 228:
                    et, off = 0x800, 0
                elif lt == 229:
                    et, off = 0x86DD, 0
                else:
                    if lt not in self._unknown_linktypes:
                        self._unknown_linktypes.add(lt)
                        self.warn(f"{self.path}: link type {lt} is not supported; its packets are skipped")
                    other += 1
                    continue
                if et == 0x800:
                    if data[off + 9] != 6 or (data[off + 6] & 0x3F) or data[off + 7]:
                        other += 1  # not TCP, or a fragment
                        continue
                    tot = (data[off + 2] << 8) | data[off + 3]
                    t = off + ((data[off] & 15) << 2)
                    ipend = off + tot if tot else len(data)
                    key = data[off + 12 : off + 20] + data[t : t + 4]
                elif et == 0x86DD:
                    nh = data[off + 6]
                    pl = (data[off + 4] << 8) | data[off + 5]
                    ipend = off + 40 + pl if pl else len(data)
                    t = off + 40
                    while nh in (0, 43, 60, 51):
                        hl = (data[t + 1] + 2) << 2 if nh == 51 else (data[t + 1] + 1) << 3
                        nh = data[t]
                        t += hl
                    if nh != 6:
                        other += 1
                        continue
                    key = data[off + 8 : off + 40] + data[t : t + 4]
                else:
                    other += 1
                    continue
                flags = data[t + 13]
                doff = (data[t + 12] >> 4) << 2
                if t + 20 > len(data) or doff < 20:
                    malformed += 1
                    continue
                plen = ipend - t - doff
                ent = table.get(key)
                if ent is None:
                    ent = new(key, flags, ts)
                if flags & 7:
                    ent = control(ent, key, flags, unpack_I(data, t + 4)[0], ts)
                conn, isc = ent
                tcp += 1
                if isc:
                    conn.cp += 1
                    if plen > 0:
                        conn.cb += plen
                else:
                    conn.sp += 1
                    if plen > 0:
                        conn.sb += plen
                conn.last = ts
                if conn.want_ack and isc and flags & 0x10:
                    conn.ack = True
                    conn.want_ack = False
                if plen > 0:
                    r = conn.cr if isc else conn.sr
                    if r is not None:
                        r.feed(unpack_I(data, t + 4)[0], data[t + doff : ipend], plen, ts)
            except (IndexError, struct.error):
                malformed += 1
        self.packets += n
        self.tcp += tcp
        self.other += other
        self.malformed += malformed
        self.first_ts = first
        if n:
            self.last_ts = ts
        return n

    def _new(self, key: bytes, flags: int, ts: float) -> tuple[_Conn, bool]:
        alen = (len(key) - 4) // 2
        rkey = key[alen : 2 * alen] + key[:alen] + key[2 * alen + 2 :] + key[2 * alen : 2 * alen + 2]
        rent = self.table.get(rkey)
        if rent is not None:
            ent = (rent[0], not rent[1])
            self.table[key] = ent
            return ent
        src, dst = _addr(key[:alen]), _addr(key[alen : 2 * alen])
        sport = int.from_bytes(key[2 * alen : 2 * alen + 2], "big")
        dport = int.from_bytes(key[2 * alen + 2 :], "big")
        if flags & 0x12 == 0x02:
            sender_is_client = True
        elif flags & 0x12 == 0x12:
            sender_is_client = False
        elif dport in SERVER_PORTS or sport in SERVER_PORTS:
            sender_is_client = dport in SERVER_PORTS
        else:
            sender_is_client = sport >= dport
        cid = len(self.conns) + 1
        if sender_is_client:
            conn = _Conn(self, cid, src, sport, dst, dport, ts)
            conn.keys = (key, rkey)
        else:
            conn = _Conn(self, cid, dst, dport, src, sport, ts)
            conn.keys = (rkey, key)
        self.conns.append(conn)
        ent = (conn, sender_is_client)
        self.table[key] = ent
        self.table[rkey] = (conn, not sender_is_client)  # the reply finds its flow without coming back here
        return ent

    def _control(self, ent: tuple[_Conn, bool], key: bytes, flags: int, seq: int, ts: float):
        conn, isc = ent
        if flags & 2:
            if flags & 0x10:
                conn.syn_ack = True
                conn.want_ack = not conn.ack
                if conn.sr is not None and conn.sr.next is None:
                    conn.sr.next = (seq + 1) & M32
            else:
                if (conn.syn and conn.isn != seq) or conn.fin_by or conn.rst_by or (conn.cp + conn.sp and not conn.syn):
                    # the 5-tuple is reused by a new connection (or the old one was seen mid-way)
                    for k in conn.keys:
                        self.table.pop(k, None)
                    if conn.cp + conn.sp:
                        ent = self._new(key, flags, ts)
                        conn, isc = ent
                    else:
                        self.table[key] = ent
                conn.syn = True
                conn.isn = seq
                if conn.cr is not None and conn.cr.next is None:
                    conn.cr.next = (seq + 1) & M32
        if flags & 1:
            who = "client" if isc else "server"
            if who not in conn.fin_by:
                conn.fin_by.append(who)
        if flags & 4:
            who = "client" if isc else "server"
            if who not in conn.rst_by:
                conn.rst_by.append(who)
        return ent

    # -- results ------------------------------------------------------------------------------------------
    def result(self) -> DecodeResult:
        r = DecodeResult(path=self.path, format=self.reader.fmt)
        r.packets, r.tcp_packets, r.other_packets = self.packets, self.tcp, self.other
        r.first_ts, r.last_ts = self.first_ts, (self.last_ts if self.packets else None)
        r.linktypes = sorted({i.linktype for i in self.reader.interfaces})
        r.keylog_sources = list(self.keylog.sources) if self.keylog else []
        r.keylog = self.keylog
        r.flows = [c.to_flow() for c in self.conns]
        if self._done:
            self._finish_warnings()
        for c in self.conns:
            if c.h2 is not None:
                r.streams.extend(s for s in sorted(c.h2.streams.values(), key=lambda s: s.stream_id)
                                 if not s.is_connect)
        r.tunnels = self._tunnels(r)
        r.warnings = list(self.reader.warnings) + list(self.warnings)
        if self.malformed:
            r.warnings.append(f"{self.path}: {count(self.malformed, 'malformed packet')} skipped")
        if self._suppressed:
            r.warnings.append(f"{count(self._suppressed, 'more warning')} not shown")
        r.damaged = bool(self.reader.warnings)
        return r

    def _finish_warnings(self) -> None:
        if self._finished_warnings_done:
            return
        self._finished_warnings_done = True
        if self.keylog is not None:
            used = {bytes.fromhex(c.tls.info.client_random) for c in self.conns if c.tls and c.tls.info.client_random}
            if used and not any(cr in self.keylog.secrets for cr in used):
                self.warn("the key log has no secrets for any TLS session in this capture")
            if self.keylog.bad_lines:
                n = self.keylog.bad_lines
                self.warn(f"key log: {count(n, 'line')} not understood {'was' if n == 1 else 'were'} ignored")

    _finished_warnings_done = False

    def _tunnels(self, r: DecodeResult) -> list[Tunnel]:
        tunnels: list[Tunnel] = []
        for c in self.conns:
            info = c.tls.info if c.tls else None
            streams = sorted(c.h2.streams.values(), key=lambda s: s.stream_id) if c.h2 else []
            has_connect = any(s.is_connect for s in streams)
            hbone_port = c.sport == HBONE_PORT and c.protocol == "tls"
            h2_tls = info is not None and (info.alpn == "h2" or "h2" in info.alpn_offered)
            if not (has_connect and info is not None) and not (hbone_port and (h2_tls or info is None)):
                continue
            t = Tunnel(
                flow_id=c.id, client=(c.cip, c.cport), server=(c.sip, c.sport),
                alpn=(info.alpn or ("h2" if h2_tls else None)) if info else None,
                decrypted=bool(info and info.decrypted),
                client_identities=list(info.client_identities) if info else [],
                server_identities=list(info.server_identities) if info else [],
                streams=[s for s in streams if s.is_connect], first_ts=c.first, last_ts=c.last,
            )
            t.legs = self._legs(r, t)
            tunnels.append(t)
        return tunnels

    def _legs(self, r: DecodeResult, t: Tunnel) -> list[Leg]:
        """Relate plaintext flows to a tunnel: the ztunnel -> app leg goes to the CONNECT authority; the app ->
        ztunnel leg goes to 15001 (or to the original destination before redirection) just before the CONNECT."""
        legs: list[Leg] = []
        plain = [f for f in r.flows if f.protocol != "tls" and f.server[1] != HBONE_PORT]
        for s in t.streams:
            target = _split_authority(s.authority)
            for f in plain:
                if abs(f.first_ts - s.first_ts) > LEG_WINDOW:
                    continue
                same_line = bool(s.inner_request and f.http_request == s.inner_request)
                detail = f"; same request line {s.inner_request!r}" if same_line else ""
                if target and f.server == target:
                    role = "ztunnel-to-app" if f.first_ts >= s.first_ts else "app-to-ztunnel"
                    legs.append(Leg(f.id, role, f"plaintext connection to the CONNECT authority {s.authority} "
                                    f"(stream {s.stream_id}){detail}"))
                elif f.server[1] == OUTBOUND_PORT and f.first_ts <= s.first_ts:
                    legs.append(Leg(f.id, "app-to-ztunnel", f"connection to ztunnel's outbound port 15001 opened "
                                    f"{(s.first_ts - f.first_ts) * 1000:.1f} ms before CONNECT stream "
                                    f"{s.stream_id}{detail}"))
        if not t.streams:
            for f in plain:
                if f.server[1] == OUTBOUND_PORT and f.first_ts <= t.last_ts and f.last_ts >= t.first_ts:
                    legs.append(Leg(f.id, "app-to-ztunnel", "overlaps the tunnel in time (no keys: the CONNECT "
                                    "authority is unknown, so this is only a candidate)"))
        seen: set[int] = set()
        return [leg for leg in legs if not (leg.flow_id in seen or seen.add(leg.flow_id))]


def _split_authority(authority: str | None) -> tuple[str, int] | None:
    if not authority:
        return None
    host, _, port = authority.rpartition(":")
    host = host.strip("[]")
    try:
        return str(ipaddress.ip_address(host)), int(port)
    except ValueError:
        return None


def load_keylog(path: str | None) -> KeyLog | None:
    if path is None:
        return None
    try:
        return KeyLog.from_file(path)
    except OSError as e:
        raise DecodeError(str(file_error(path, e, "key log"))) from None


def decode_file(path: str, keylog: KeyLog | str | None = None) -> DecodeResult:
    """Decode a whole capture (streaming; memory bounded by the number of flows, not the file size)."""
    d = Decoder(path, load_keylog(keylog) if isinstance(keylog, str) else keylog)
    for _ in d.run():
        pass
    return d.result()


def iter_decode(path: str, keylog: KeyLog | str | None = None, every: int = 50_000) -> Iterator[tuple[Progress, Decoder]]:
    """Decode incrementally (for the TUI): yields progress every `every` packets; `decoder.result()` at any
    point gives the flows so far."""
    d = Decoder(path, load_keylog(keylog) if isinstance(keylog, str) else keylog)
    for p in d.run(every):
        yield p, d
