"""The reader takes every capture flavour tcpdump, dumpcap and editcap write: pcap in both byte orders with µs or
ns timestamps, pcapng (big-endian too, several interfaces, Decryption Secrets Blocks), and the link types of
pod captures (Ethernet with VLAN tags, Linux cooked v1/v2 from `-i any`, raw IP, BSD loopback). Each variant is
built from the real gRPC capture and must decode to the same flows as the original; tshark reads the variants
the same way (so the builders write valid files)."""

from __future__ import annotations

import struct

import pytest

from ambientctl.decode import decode_file
from ambientctl.decode.capfile import CaptureReader
from ambientctl.decode.export import export_pcapng


def frames(path):
    return [(ts, data) for _n, ts, _lt, data, _o, _i in CaptureReader(str(path)).records()]


def ip_packet(eth: bytes) -> bytes:
    return eth[14:]


def ethertype(eth: bytes) -> bytes:
    return eth[12:14]


def write_pcap(path, linktype, recs, endian="<", nanos=False):
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    with open(path, "wb") as f:
        f.write(struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype))
        for ts, data in recs:
            sec = int(ts)
            frac = round((ts - sec) * (1e9 if nanos else 1e6))
            f.write(struct.pack(endian + "IIII", sec, frac, len(data), len(data)) + data)


def block(endian, btype, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack(endian + "II", btype, len(body) + 12) + body + struct.pack(endian + "I", len(body) + 12)


def write_pcapng(path, ifaces, recs, endian=">", secrets=b""):
    """ifaces: [(linktype, tsresol byte)], recs: [(ifid, ts, data)]"""
    out = block(endian, 0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    for lt, res in ifaces:
        opt = struct.pack(endian + "HH", 9, 1) + bytes([res]) + b"\0\0\0" + struct.pack(endian + "HH", 0, 0)
        out += block(endian, 1, struct.pack(endian + "HHI", lt, 0, 0) + opt)
    if secrets:
        out += block(endian, 10, struct.pack(endian + "II", 0x544C534B, len(secrets)) + secrets)
    for ifid, ts, data in recs:
        div = 10 ** ifaces[ifid][1]
        ticks = round(ts * div)
        out += block(endian, 6, struct.pack(endian + "IIIII", ifid, ticks >> 32, ticks & 0xFFFFFFFF, len(data),
                                            len(data)) + data)
    path.write_bytes(out)


def summary(result):
    return sorted(
        (f.client, f.server, f.client_packets, f.server_packets, f.client_bytes, f.server_bytes,
         tuple(f.fin_by), tuple(f.rst_by), f.handshake)
        for f in result.flows
    )


@pytest.fixture(scope="module")
def original(grpc_capture):
    return frames(grpc_capture[0]), summary(decode_file(str(grpc_capture[0])))


def sll(eth):
    return struct.pack("!HHH8s", 0, 772, 6, b"\0" * 8) + ethertype(eth) + ip_packet(eth)


def sll2(eth):
    return ethertype(eth) + struct.pack("!HIHBB8s", 0, 1, 772, 0, 6, b"\0" * 8) + ip_packet(eth)


def vlan(eth):
    return eth[:12] + b"\x81\x00\x00\x64" + b"\x81\x00\x00\x65" + eth[12:]


def null_le(eth):
    fam = 2 if ethertype(eth) == b"\x08\x00" else 30
    return struct.pack("<I", fam) + ip_packet(eth)


VARIANTS = {
    "ethernet-be-ns": (1, lambda e: e, ">", True),
    "ethernet-vlan-qinq": (1, vlan, "<", False),
    "linux-sll": (113, sll, "<", False),
    "linux-sll2": (276, sll2, ">", True),
    "raw-ip": (101, ip_packet, "<", False),
    "bsd-null": (0, null_le, "<", False),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_link_types_and_byte_orders_decode_the_same(name, original, tmp_path, tshark):
    recs, expected = original
    linktype, wrap, endian, nanos = VARIANTS[name]
    p = tmp_path / f"{name}.pcap"
    write_pcap(p, linktype, [(ts, wrap(d)) for ts, d in recs], endian, nanos)
    result = decode_file(str(p))
    assert result.warnings == []
    assert summary(result) == expected
    assert abs(result.first_ts - recs[0][0]) < 1e-6
    # tshark agrees on the TCP packets in the variant (the builder wrote a valid file)
    assert len(tshark(p, ["frame.number"], "tcp")) == result.tcp_packets == len(recs)


def test_pcapng_big_endian_two_interfaces_with_own_link_type_and_resolution(original, tmp_path, tshark):
    recs, expected = original
    out = []
    for i, (ts, d) in enumerate(recs):
        if i % 2:
            out.append((1, ts, sll2(d)))
        else:
            out.append((0, ts, d))
    p = tmp_path / "two.pcapng"
    write_pcapng(p, [(1, 9), (276, 6)], out, ">")
    result = decode_file(str(p))
    assert result.warnings == []
    assert result.linktypes == [1, 276]
    assert summary(result) == expected
    assert len(tshark(p, ["frame.number"], "tcp")) == len(recs)


def test_keys_from_a_decryption_secrets_block(grpc_capture, tmp_path):
    recs = frames(grpc_capture[0])
    p = tmp_path / "dsb.pcapng"
    write_pcapng(p, [(1, 6)], [(0, ts, d) for ts, d in recs], "<", secrets=grpc_capture[1].read_bytes())
    result = decode_file(str(p))
    assert [s.stream_id for s in result.streams] == list(range(1, 16, 2))
    assert result.keylog_sources == [f"{p} (Decryption Secrets Block)"]


def test_export_embeds_only_the_sessions_keys_and_round_trips(grpc_capture, illustrated_capture, tmp_path, tshark):
    keys = tmp_path / "both.keys"
    keys.write_bytes(grpc_capture[1].read_bytes() + illustrated_capture[1].read_bytes())
    result = decode_file(str(grpc_capture[0]), str(keys))
    out = tmp_path / "out.pcapng"
    assert export_pcapng(result, str(out)) == 4  # the grpc session's lines, not the other session's
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ambientctl-export")]
    again = decode_file(str(out))
    assert summary(again) == summary(result)
    assert [(s.stream_id, s.path, s.status) for s in again.streams] == [
        (s.stream_id, s.path, s.status) for s in result.streams
    ]
    # Wireshark reads the embedded secrets: headers decode with no key-log option
    methods = tshark(out, ["http2.headers.method"], "http2.type==1 && http2.headers.method")
    assert {m for (m,) in methods} == {"POST"}
    # nanosecond timestamps survive exactly
    assert tshark(out, ["frame.time_epoch"]) == tshark(grpc_capture[0], ["frame.time_epoch"])


def test_export_into_missing_directory_leaves_nothing(grpc_capture, tmp_path):
    from ambientctl.decode.export import ExportError

    result = decode_file(str(grpc_capture[0]))
    with pytest.raises(ExportError, match="nope"):
        export_pcapng(result, str(tmp_path / "nope" / "out.pcapng"))
    assert list(tmp_path.iterdir()) == []


def test_ipv6_extension_headers_and_fragments(tmp_path):
    # Hop-by-hop options then TCP; and an IPv4 fragment that must be skipped, not parsed as TCP
    src, dst = bytes(15) + b"\1", bytes(15) + b"\2"
    tcp = struct.pack("!HHIIBBHHH", 40000, 15008, 1, 0, 5 << 4, 0x02, 1000, 0, 0)
    hbh = bytes([6, 0, 1, 4, 0, 0, 0, 0])
    v6 = struct.pack("!IHBB16s16s", 6 << 28, len(hbh) + len(tcp), 0, 64, src, dst) + hbh + tcp
    frag = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x0010, 64, 6, 0, b"\1\1\1\1", b"\2\2\2\2") + tcp
    p = tmp_path / "v6.pcap"
    write_pcap(p, 101, [(1.0, v6), (1.1, frag)])
    result = decode_file(str(p))
    (f,) = result.flows
    assert f.client == ("::1", 40000) and f.server == ("::2", 15008) and f.role == "hbone"
    assert result.other_packets == 1
