"""Streaming reader for pcap and pcapng files: raw records out, never the whole file in memory.

Captures from `tcpdump -w` (pcap, µs or ns, either byte order), dumpcap/editcap/Inspektor Gadget (pcapng, several
interfaces with their own link types and timestamp resolutions) and Decryption Secrets Blocks carrying TLS key logs
(`editcap --inject-secrets`). Damage (truncation, garbage, impossible lengths) ends the read with a warning that
names the file and the byte offset; it never raises.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ambientctl.errors import file_error

CHUNK = 1 << 22  # 4 MiB reads; a record larger than the buffer grows it up to MAX_RECORD.
MAX_RECORD = 1 << 26  # 64 MiB: no real frame is bigger; larger lengths mean a damaged file.

PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000),  # little-endian, microseconds -> ns multiplier
    b"\xa1\xb2\xc3\xd4": (">", 1_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
BLOCK_IDB, BLOCK_PB, BLOCK_SPB, BLOCK_EPB, BLOCK_DSB = 1, 2, 3, 6, 0x0000000A
# (name, smallest total length: header, fixed fields, trailer) of the blocks whose fields are read
_FIXED = {BLOCK_IDB: ("interface description", 20), BLOCK_PB: ("packet", 32), BLOCK_SPB: ("simple packet", 16),
          BLOCK_EPB: ("enhanced packet", 32), BLOCK_DSB: ("decryption secrets", 20),
          0x0A0D0D0A: ("section header", 28)}
SECRETS_TLS = 0x544C534B  # "TLSK": NSS key log lines


class CaptureFormatError(Exception):
    """The file is not a pcap or pcapng capture at all (empty, or an unknown magic number)."""


@dataclass
class Interface:
    linktype: int
    snaplen: int = 0
    ts_div: float = 1e6  # ticks per second
    ts_offset: int = 0
    name: str = ""


# One captured frame, as a plain tuple because the flow-level fast path reads hundreds of thousands per second:
# (number, ts, linktype, data, orig_len, interface). `number` is 1-based like Wireshark's frame.number, `ts` is
# seconds since the epoch.
Record = tuple[int, float, int, bytes, int, int]


@dataclass
class CaptureReader:
    """Iterate `records()`; read `warnings`, `secrets` (key-log text from DSBs) and `interfaces` afterwards.

    `on_secrets` is called as soon as a Decryption Secrets Block is read, so key logs placed before the packets
    (as editcap does) are known when the TLS handshakes arrive.
    """

    path: str
    fmt: str = ""
    warnings: list[str] = field(default_factory=list)
    secrets: list[bytes] = field(default_factory=list)
    interfaces: list[Interface] = field(default_factory=list)
    on_secrets: Callable[[bytes], None] | None = None
    bytes_read: int = 0
    records_read: int = 0
    exact_ts: bool = False  # timestamps as integer nanoseconds (for rewriting a capture) instead of float seconds

    def warn(self, msg: str) -> None:
        self.warnings.append(f"{self.path}: {msg}")

    def records(self) -> Iterator[Record]:
        """Open the file and return an iterator of records; CaptureFormatError at once if it is no capture."""
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - the record generator closes it (with f:)
        except OSError as e:
            raise CaptureFormatError(str(file_error(self.path, e, "capture"))) from None
        head = f.read(4)
        if head in PCAP_MAGIC:
            self.fmt = "pcap"
            return self._pcap(f, head)
        if head == PCAPNG_SHB:
            self.fmt = "pcapng"
            return self._pcapng(f, head)
        f.close()
        if not head:
            raise CaptureFormatError(f"{self.path}: empty file (0 bytes), not a pcap or pcapng capture")
        raise CaptureFormatError(f"{self.path}: not a pcap or pcapng capture (starts with 0x{head.hex()})")

    # -- pcap ---------------------------------------------------------------------------------------------
    def _pcap(self, f: BinaryIO, magic: bytes) -> Iterator[Record]:
        with f:
            endian, ns_mul = PCAP_MAGIC[magic]
            rest = f.read(20)
            if len(rest) < 20:
                self.warn(f"truncated pcap file header at byte 0 ({4 + len(rest)} of 24 bytes)")
                return
            _vmaj, _vmin, _tz, _sig, snaplen, linktype = struct.unpack(endian + "HHiIII", rest)
            linktype &= 0xFFFF
            self.interfaces.append(Interface(linktype, snaplen, 1e9 / ns_mul))
            hdr = struct.Struct(endian + "IIII")
            unpack_hdr = hdr.unpack_from
            frac_div = 1e9 / ns_mul
            exact = self.exact_ts
            buf = b""
            pos = 0
            base = 24  # file offset of buf[0]
            number = 0
            limit = max(snaplen, 262144) if snaplen else MAX_RECORD
            limit = min(max(limit, 65535), MAX_RECORD)
            blen = 0  # len(buf), kept up to date: it is read twice per record
            while True:
                if blen - pos < 16:
                    buf = buf[pos:] + f.read(CHUNK)
                    blen = len(buf)
                    base += pos
                    pos = 0
                    self.bytes_read = base + blen
                    if blen < 16:
                        if buf:
                            self.warn(
                                f"truncated record header at byte {base} (record {number + 1}: "
                                f"{blen} of 16 bytes)"
                            )
                        break
                sec, frac, incl, orig = unpack_hdr(buf, pos)
                if incl > limit:
                    self.warn(
                        f"garbage at byte {base + pos} (record {number + 1}: captured length {incl} exceeds "
                        f"snaplen {snaplen}); stopped reading"
                    )
                    break
                end = pos + 16 + incl
                if end > blen:
                    buf = buf[pos:] + f.read(max(CHUNK, incl + 16))
                    blen = len(buf)
                    base += pos
                    pos = 0
                    self.bytes_read = base + blen
                    end = 16 + incl
                    if end > blen:
                        self.warn(
                            f"truncated record at byte {base} (record {number + 1}: {len(buf) - 16} of {incl} "
                            f"bytes)"
                        )
                        break
                number += 1
                if exact:
                    yield (number, sec * 1_000_000_000 + frac * ns_mul, linktype, buf[pos + 16 : end], orig, 0)
                else:
                    yield (number, sec + frac / frac_div, linktype, buf[pos + 16 : end], orig, 0)
                pos = end
            self.records_read = number
            self.bytes_read = base + pos

    # -- pcapng -------------------------------------------------------------------------------------------
    def _pcapng(self, f: BinaryIO, first: bytes) -> Iterator[Record]:
        with f:
            buf = first + f.read(CHUNK)
            self.bytes_read = len(buf)
            pos = 0
            base = 0
            endian = "<"
            number = 0
            ifaces: list[Interface] = []
            while True:
                if len(buf) - pos < 12:
                    buf = buf[pos:] + f.read(CHUNK)
                    base += pos
                    pos = 0
                    self.bytes_read = base + len(buf)
                    if len(buf) < 12:
                        if buf:
                            self.warn(f"truncated block header at byte {base} ({len(buf)} bytes left)")
                        break
                btype_raw = buf[pos : pos + 4]
                if btype_raw == PCAPNG_SHB:
                    bom = buf[pos + 8 : pos + 12]
                    if bom == b"\x4d\x3c\x2b\x1a":
                        endian = "<"
                    elif bom == b"\x1a\x2b\x3c\x4d":
                        endian = ">"
                    else:
                        self.warn(f"garbage at byte {base + pos}: section header with bad byte-order magic")
                        break
                btype, blen = struct.unpack_from(endian + "II", buf, pos)
                if blen < 12 or blen % 4 or blen > MAX_RECORD:
                    self.warn(f"garbage at byte {base + pos}: block length {blen} is impossible; stopped reading")
                    break
                if pos + blen > len(buf):
                    buf = buf[pos:] + f.read(max(CHUNK, blen))
                    base += pos
                    pos = 0
                    self.bytes_read = base + len(buf)
                    if blen > len(buf):
                        self.warn(
                            f"truncated block at byte {base} (block type 0x{btype:x}: {len(buf)} of {blen} bytes)"
                        )
                        break
                (trailer,) = struct.unpack_from(endian + "I", buf, pos + blen - 4)
                if trailer != blen:
                    self.warn(
                        f"garbage at byte {base + pos}: block length {blen} does not match its trailer {trailer}; "
                        "stopped reading"
                    )
                    break
                body = pos + 8
                fixed = _FIXED.get(btype)
                if fixed and blen < fixed[1]:
                    self.warn(f"garbage at byte {base + pos}: {fixed[0]} block of {blen} bytes is shorter than its "
                              f"fixed fields ({fixed[1]} bytes); stopped reading")
                    break
                if btype == BLOCK_EPB:
                    ifid, hi, lo, incl, orig = struct.unpack_from(endian + "IIIII", buf, body)
                    if ifid >= len(ifaces) or 28 + incl > blen - 4:
                        self.warn(
                            f"garbage at byte {base + pos} (record {number + 1}): "
                            + ("unknown interface" if ifid >= len(ifaces) else "captured length exceeds block")
                            + "; stopped reading"
                        )
                        break
                    iface = ifaces[ifid]
                    number += 1
                    ticks = (hi << 32) | lo
                    yield (
                        number, self._ts(ticks, iface), iface.linktype,
                        buf[body + 20 : body + 20 + incl], orig, ifid,
                    )
                elif btype == BLOCK_SPB:
                    if not ifaces:
                        self.warn(f"garbage at byte {base + pos}: simple packet block before any interface")
                        break
                    (orig,) = struct.unpack_from(endian + "I", buf, body)
                    iface = ifaces[0]
                    incl = min(orig, blen - 16, iface.snaplen or orig)
                    number += 1
                    yield (number, 0.0, iface.linktype, buf[body + 4 : body + 4 + incl], orig, 0)
                elif btype == BLOCK_PB:
                    ifid, _drops, hi, lo, incl, orig = struct.unpack_from(endian + "HHIIII", buf, body)
                    if ifid >= len(ifaces) or 28 + incl > blen - 4:
                        self.warn(f"garbage at byte {base + pos} (record {number + 1}): bad packet block")
                        break
                    iface = ifaces[ifid]
                    number += 1
                    yield (
                        number, self._ts((hi << 32) | lo, iface), iface.linktype,
                        buf[body + 20 : body + 20 + incl], orig, ifid,
                    )
                elif btype == BLOCK_IDB:
                    linktype, _res, snaplen = struct.unpack_from(endian + "HHI", buf, body)
                    iface = Interface(linktype, snaplen)
                    self._idb_options(buf, body + 8, pos + blen - 4, endian, iface)
                    ifaces.append(iface)
                    self.interfaces.append(iface)
                elif btype == 0x0A0D0D0A:
                    ifaces = []  # a new section starts with no interfaces
                elif btype == BLOCK_DSB:
                    stype, slen = struct.unpack_from(endian + "II", buf, body)
                    if 8 + slen <= blen - 12:
                        data = buf[body + 8 : body + 8 + slen]
                        if stype == SECRETS_TLS:
                            self.secrets.append(data)
                            if self.on_secrets:
                                self.on_secrets(data)
                        else:
                            self.warn(f"decryption secrets of unsupported type 0x{stype:x} at byte {base + pos} ignored")
                pos += blen
            self.records_read = number
            self.bytes_read = base + pos

    def _ts(self, ticks: int, iface: Interface):
        if self.exact_ts:
            return ticks * 1_000_000_000 // int(iface.ts_div) + iface.ts_offset * 1_000_000_000
        return ticks / iface.ts_div + iface.ts_offset

    def _idb_options(self, buf: bytes, pos: int, end: int, endian: str, iface: Interface) -> None:
        while pos + 4 <= end:
            code, length = struct.unpack_from(endian + "HH", buf, pos)
            if code == 0:
                break
            val = buf[pos + 4 : pos + 4 + length]
            if code == 9 and length >= 1:  # if_tsresol
                v = val[0]
                iface.ts_div = float(2 ** (v & 0x7F)) if v & 0x80 else float(10 ** v)
            elif code == 14 and length == 8:  # if_tsoffset
                (iface.ts_offset,) = struct.unpack(endian + "q", val)
            elif code == 2:  # if_name
                iface.name = val.decode("utf-8", "replace")
            pos += 4 + ((length + 3) & ~3)
