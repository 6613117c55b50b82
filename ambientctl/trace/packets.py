"""One row per packet for the trace screen's packet table: number, time, addresses, protocol, length and a
short tcpdump-like info column (flags, seq/ack, payload size). Streams in batches, so a 1M-packet capture fills
the table while the UI stays responsive; decode/ has the flow-level view."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from typing import NamedTuple

LINK_ETHERNET, LINK_RAW, LINK_RAW_ALT, LINK_SLL, LINK_SLL2 = 1, 101, 12, 113, 276
TCP_FLAGS = "FSRPAUEC"
FLAG_WORDS = {"F": "fin", "S": "syn", "R": "rst", "P": "psh", "A": "ack", "U": "urg", "E": "ece", "C": "cwr"}


class PacketRow(NamedTuple):
    """A tuple, not a class instance: the collector stops tracking tuples of plain values, so a million rows
    do not make every full collection (and the UI with it) pause for a walk over them."""

    capture: str
    number: int
    time: float
    src: str
    dst: str
    proto: str
    length: int
    info: str

    def text(self) -> str:
        """What the table filter searches."""
        flags = self.info[1:self.info.index("]")] if self.info.startswith("[") else ""
        words = " ".join(FLAG_WORDS[c] for c in flags if c in FLAG_WORDS)
        return f"{self.capture} {self.src} {self.dst} {self.proto} {self.info} {words}".lower()


def _ip_payload(linktype: int, data: bytes) -> tuple[int, bytes] | None:
    """(ethertype, L3 bytes) or None for frames that carry no IP."""
    if linktype == LINK_ETHERNET:
        if len(data) < 14:
            return None
        etype, off = struct.unpack("!H", data[12:14])[0], 14
        while etype == 0x8100 and len(data) >= off + 4:
            etype, off = struct.unpack("!H", data[off + 2:off + 4])[0], off + 4
        return etype, data[off:]
    if linktype == LINK_SLL and len(data) >= 16:
        return struct.unpack("!H", data[14:16])[0], data[16:]
    if linktype == LINK_SLL2 and len(data) >= 20:
        return struct.unpack("!H", data[0:2])[0], data[20:]
    if linktype in (LINK_RAW, LINK_RAW_ALT) and data:
        return (0x0800 if data[0] >> 4 == 4 else 0x86DD), data
    return None


def parse_packet(capture: str, number: int, ts: float, linktype: int, data: bytes, orig_len: int) -> PacketRow:
    l3 = _ip_payload(linktype, data)
    if l3 is None:
        return PacketRow(capture, number, ts, "", "", f"link {linktype}", orig_len, "")
    etype, ip = l3
    if etype == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 0xF) * 4
        proto = ip[9]
        src, dst = socket.inet_ntop(socket.AF_INET, ip[12:16]), socket.inet_ntop(socket.AF_INET, ip[16:20])
        l4 = ip[ihl:]
    elif etype == 0x86DD and len(ip) >= 40:
        proto = ip[6]
        src, dst = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
        l4 = ip[40:]
    else:
        return PacketRow(capture, number, ts, "", "", f"ethertype 0x{etype:04x}", orig_len, "")
    if proto == 6 and len(l4) >= 20:
        sport, dport, seq, ack = struct.unpack("!HHII", l4[:12])
        flags = l4[13]
        payload = len(l4) - (l4[12] >> 4) * 4
        names = "".join(c for i, c in enumerate(TCP_FLAGS) if flags & (1 << i))
        info = f"[{names}] seq={seq} ack={ack} len={max(payload, 0)}"
        if sport == 15008 or dport == 15008:
            info += " hbone"
        return PacketRow(capture, number, ts, f"{src}:{sport}", f"{dst}:{dport}", "TCP", orig_len, info)
    if proto == 17 and len(l4) >= 8:
        sport, dport, length = struct.unpack("!HHH", l4[:6])
        return PacketRow(capture, number, ts, f"{src}:{sport}", f"{dst}:{dport}", "UDP", orig_len, f"len={length - 8}")
    return PacketRow(capture, number, ts, src, dst, f"ip proto {proto}", orig_len, "")


def iter_packet_rows(path: str, capture: str = "", batch: int = 5000) -> Iterator[list[PacketRow]]:
    """Batches of rows from one capture file, streamed (never the whole file in memory at once)."""
    from ambientctl.decode.capfile import CaptureReader

    out: list[PacketRow] = []
    for number, ts, linktype, data, orig_len, _iface in CaptureReader(path).records():
        t = ts / 1e9 if isinstance(ts, int) else ts
        out.append(parse_packet(capture, number, t, linktype, bytes(data), orig_len))
        if len(out) >= batch:
            yield out
            out = []
    if out:
        yield out
