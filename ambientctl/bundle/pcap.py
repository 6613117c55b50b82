"""Captures in a bundle keep packet headers only: every packet is cut after its transport header (like a snaplen
chosen per packet), so addresses, ports, TCP flags, sequence numbers and timings stay for the reader and no
payload — an Authorization header of a plaintext leg, a body — leaves. The original length of every packet is kept
as recorded (pcap `orig_len`, pcapng original length), so a reader sees the packets were cut, not that they were
short. pcapng: Decryption Secrets Blocks (embedded TLS keys) leave only with the key logs, comments and custom
blocks/options never; blocks of unknown types are dropped. Pure: bytes in, bytes and counts out."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ambientctl.errors import InputError
from ambientctl.words import count

PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}
SHB = 0x0A0D0D0A
IDB, OPB, SPB, NRB, ISB, EPB, DSB = 1, 2, 3, 4, 5, 6, 0x0000000A
# link types: header length, and where the network protocol is (offset, size) or a fixed one
ETHERNET, NULL, LOOP, RAW, RAW_12, RAW_14, IPV4, IPV6, SLL, SLL2 = 1, 0, 108, 101, 12, 14, 228, 229, 113, 276


@dataclass
class Cut:
    packets: int = 0
    payload_bytes: int = 0  # bytes removed
    dropped_blocks: int = 0  # pcapng blocks left out (secrets, comments, custom, unknown)


def _l4_end(pkt: bytes, link: int) -> int:
    """Where the transport header of this frame ends (or the network header, when there is no transport header
    to keep); the frame is cut there."""
    if link == ETHERNET:
        off, etype = 14, None
        if len(pkt) >= 14:
            etype = int.from_bytes(pkt[12:14], "big")
            while etype in (0x8100, 0x88A8, 0x9100) and len(pkt) >= off + 4:
                etype = int.from_bytes(pkt[off + 2:off + 4], "big")
                off += 4
        return _net_end(pkt, off, {0x0800: 4, 0x86DD: 6}.get(etype or 0), arp=etype == 0x0806)
    if link == SLL:
        etype = int.from_bytes(pkt[14:16], "big") if len(pkt) >= 16 else 0
        return _net_end(pkt, 16, {0x0800: 4, 0x86DD: 6}.get(etype))
    if link == SLL2:
        etype = int.from_bytes(pkt[0:2], "big") if len(pkt) >= 2 else 0
        return _net_end(pkt, 20, {0x0800: 4, 0x86DD: 6}.get(etype))
    if link in (NULL, LOOP):
        if len(pkt) < 4:
            return len(pkt)
        # DLT_NULL: the family in the capturing host's byte order; DLT_LOOP: big-endian
        fam = int.from_bytes(pkt[:4], "little" if link == NULL and pkt[0] else "big")
        return _net_end(pkt, 4, 4 if fam == 2 else 6 if fam in (10, 24, 28, 30) else None)
    if link in (RAW, RAW_12, RAW_14, IPV4, IPV6):
        version = pkt[0] >> 4 if pkt else 0
        return _net_end(pkt, 0, version if version in (4, 6) else None)
    return 0  # a link type this does not know: nothing of the frame is kept


def _net_end(pkt: bytes, off: int, version: int | None, arp: bool = False) -> int:
    if arp:
        return min(len(pkt), off + 28)
    if version == 4 and len(pkt) >= off + 20:
        ihl = (pkt[off] & 0x0F) * 4
        proto = pkt[off + 9]
        frag_off = int.from_bytes(pkt[off + 6:off + 8], "big") & 0x1FFF
        end = off + max(ihl, 20)
        return end if frag_off else _transport_end(pkt, end, proto)
    if version == 6 and len(pkt) >= off + 40:
        nxt, end = pkt[off + 6], off + 40
        while nxt in (0, 43, 60, 51, 44) and len(pkt) >= end + 8:
            if nxt == 44:  # fragment header: later fragments carry no transport header
                if int.from_bytes(pkt[end + 2:end + 4], "big") & 0xFFF8:
                    return end + 8
                nxt, end = pkt[end], end + 8
                continue
            size = (pkt[end + 1] + 2) * 4 if nxt == 51 else (pkt[end + 1] + 1) * 8
            nxt, end = pkt[end], end + size
        return _transport_end(pkt, end, nxt)
    return min(len(pkt), off)


def _transport_end(pkt: bytes, off: int, proto: int) -> int:
    if proto == 6 and len(pkt) >= off + 13:  # TCP: data offset, options included
        return off + max(20, (pkt[off + 12] >> 4) * 4)
    size = {17: 8, 136: 8, 1: 8, 58: 8, 132: 12}.get(proto, 0)  # UDP, UDP-Lite, ICMP, ICMPv6, SCTP
    return off + size


def headers_only(data: bytes, name: str, keep_secrets: bool = False, keep_payloads: bool = False) -> tuple[
        bytes, Cut]:
    """`data` (a pcap or pcapng file) with every packet cut after its transport header (`keep_payloads`: whole, but
    still without the pcapng blocks and options that are not packets or their description)."""
    if data[:4] in PCAP_MAGIC:
        return _pcap(data, name, keep_payloads)
    if len(data) >= 12 and int.from_bytes(data[:4], "little") == SHB:
        return _pcapng(data, name, keep_secrets, keep_payloads)
    raise InputError("not a pcap or pcapng capture", where=name)


def _pcap(data: bytes, name: str, keep_payloads: bool) -> tuple[bytes, Cut]:
    e = PCAP_MAGIC[data[:4]]
    if len(data) < 24:
        raise InputError("pcap header cut short", where=name)
    link = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    out, cut, pos = [data[:24]], Cut(), 24
    while pos + 16 <= len(data):
        ts_s, ts_f, incl, orig = struct.unpack(e + "IIII", data[pos:pos + 16])
        pkt = data[pos + 16:pos + 16 + incl]
        if len(pkt) < incl:
            raise InputError(f"packet at byte {pos} cut short", where=name)
        keep = incl if keep_payloads else min(incl, _l4_end(pkt, link))
        out.append(struct.pack(e + "IIII", ts_s, ts_f, keep, orig) + pkt[:keep])
        cut.packets += 1
        cut.payload_bytes += incl - keep
        pos += 16 + incl
    if pos != len(data):
        raise InputError(f"{count(len(data) - pos, 'stray byte')} at the end", where=name)
    return b"".join(out), cut


def _pad(n: int) -> int:
    return (n + 3) & ~3


def _options(body: bytes, e: str, keep: set[int] | None) -> bytes:
    """The options of a block, only those in `keep` (None: none), ended by opt_endofopt when any is kept."""
    out, pos = [], 0
    while keep and pos + 4 <= len(body):
        code, length = struct.unpack(e + "HH", body[pos:pos + 4])
        if code == 0:
            break
        if code in keep:
            out.append(body[pos:pos + 4 + _pad(length)])
        pos += 4 + _pad(length)
    return b"".join(out) + (struct.pack(e + "HH", 0, 0) if out else b"")


def _block(e: str, btype: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total)


# options kept: shb_hardware/os/userappl; if_name, description, addresses, speed, tsresol, tzone, filter, os,
# fcslen, tsoffset, hardware, txspeed, rxspeed; isb counters. Comments (1) and custom options never.
_SHB_OPTS, _IDB_OPTS, _ISB_OPTS = {2, 3, 4}, set(range(2, 18)), set(range(2, 9))


def _pcapng(data: bytes, name: str, keep_secrets: bool, keep_payloads: bool) -> tuple[bytes, Cut]:
    out, cut, pos, e = [], Cut(), 0, "<"
    links: list[int] = []
    while pos + 12 <= len(data):
        if int.from_bytes(data[pos:pos + 4], "little") == SHB:
            e = "<" if data[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        btype, total = struct.unpack(e + "II", data[pos:pos + 8])
        if total < 12 or total % 4 or pos + total > len(data):
            raise InputError(f"pcapng block at byte {pos} has an impossible length {total}", where=name)
        body = data[pos + 8:pos + total - 4]
        pos += total
        if btype == SHB:
            if len(body) < 16:
                raise InputError(f"section header at byte {pos - total} cut short", where=name)
            out.append(_block(e, btype, body[:16] + _options(body[16:], e, _SHB_OPTS)))
        elif btype == IDB:
            if len(body) < 8:
                raise InputError(f"interface block at byte {pos - total} cut short", where=name)
            links.append(struct.unpack(e + "H", body[:2])[0])
            out.append(_block(e, btype, body[:8] + _options(body[8:], e, _IDB_OPTS)))
        elif btype in (EPB, OPB, SPB):
            if btype == SPB:
                if len(body) < 4:
                    raise InputError(f"packet block at byte {pos - total} cut short", where=name)
                iface, ts_hi, ts_lo, orig = 0, 0, 0, struct.unpack(e + "I", body[:4])[0]
                pkt = body[4:4 + orig]
            else:
                if len(body) < 20:
                    raise InputError(f"packet block at byte {pos - total} cut short", where=name)
                if btype == EPB:
                    iface, ts_hi, ts_lo, incl, orig = struct.unpack(e + "IIIII", body[:20])
                else:
                    iface, _drops, ts_hi, ts_lo, incl, orig = struct.unpack(e + "HHIIII", body[:20])
                pkt = body[20:20 + incl]
                if len(pkt) < incl:
                    raise InputError(f"packet at byte {pos - total} cut short", where=name)
            if iface >= len(links):
                raise InputError(f"packet at byte {pos - total} names interface {iface}, not described", where=name)
            keep = len(pkt) if keep_payloads else min(len(pkt), _l4_end(pkt, links[iface]))
            kept = pkt[:keep] + b"\0" * (_pad(keep) - keep)
            out.append(_block(e, EPB, struct.pack(e + "IIIII", iface, ts_hi, ts_lo, keep, orig) + kept))
            cut.packets += 1
            cut.payload_bytes += len(pkt) - keep
        elif btype == ISB:
            out.append(_block(e, btype, body[:12] + _options(body[12:], e, _ISB_OPTS)))
        elif btype == DSB and keep_secrets:
            out.append(_block(e, btype, body))
        else:  # secrets (unless asked), name resolution, custom, journal, unknown
            cut.dropped_blocks += 1
    if pos != len(data):
        raise InputError(f"{count(len(data) - pos, 'stray byte')} at the end", where=name)
    return b"".join(out), cut
