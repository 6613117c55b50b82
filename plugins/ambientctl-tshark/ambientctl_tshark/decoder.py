"""Deep decoder: what no fast decoder recognised goes to tshark, which knows thousands of protocols.

tshark cannot see inside HBONE itself: the app's bytes are DATA of an HTTP/2 CONNECT stream inside mTLS. So the
inner bytes of each stream are laid out again as a plain TCP conversation to the CONNECT target's port (SYN,
SYN-ACK, ACK, then the data in order: the client's, then the server's) in one temporary pcap for all streams, and
tshark dissects it once (`decode_batch`; starting tshark costs ~0.3 s). Its Protocol and Info columns become the
protocol name and the messages.

subprocess, not pyshark: pyshark drives tshark from an asyncio loop of its own, which must not run inside a UI's
loop; a blocking subprocess call with a timeout is safe from any worker thread. AMBIENTCTL_TSHARK_DECODE_AS
("9080=http,6379=redis") adds Wireshark "decode as" rules for apps on non-standard ports.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from ambientctl.plugins.api import Decoded, InnerStream

TIMEOUT = 120.0
SEGMENT = 1400
CLIENT_PORT = 40000
MAX_MESSAGES = 50
TRANSPORT = {"TCP", "IPv4", "Ethernet", ""}


class TsharkMissing(RuntimeError):
    pass


def _tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        raise TsharkMissing("tshark is not installed or not on PATH (Debian package tshark); deep decoding skipped")
    return path


def _packet(src: int, dst: int, sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    total = 20 + len(tcp) + len(data)
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, total, 0, 0x4000, 64, 6, 0, src, dst)
    return ip + tcp + data


def conversation(index: int, port: int, client: bytes, server: bytes) -> list[bytes]:
    """One TCP connection (raw IPv4 packets) from 10.99.x.y:40000+ to 10.98.x.y:port carrying the bytes."""
    src = (10 << 24) | (99 << 16) | (index + 1)
    dst = (10 << 24) | (98 << 16) | (index + 1)
    sport = CLIENT_PORT + index % 20000
    cseq, sseq = 1000, 500000
    SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
    out = [_packet(src, dst, sport, port, cseq, 0, SYN, b""),
           _packet(dst, src, port, sport, sseq, cseq + 1, SYN | ACK, b""),
           _packet(src, dst, sport, port, cseq + 1, sseq + 1, ACK, b"")]
    cseq, sseq = cseq + 1, sseq + 1
    for data, from_client in ((client, True), (server, False)):
        for i in range(0, len(data), SEGMENT):
            chunk = data[i : i + SEGMENT]
            if from_client:
                out.append(_packet(src, dst, sport, port, cseq, sseq, PSH | ACK, chunk))
                cseq += len(chunk)
            else:
                out.append(_packet(dst, src, port, sport, sseq, cseq, PSH | ACK, chunk))
                sseq += len(chunk)
    out.append(_packet(src, dst, sport, port, cseq, sseq, FIN | ACK, b""))
    out.append(_packet(dst, src, port, sport, sseq, cseq + 1, FIN | ACK, b""))
    return out


def write_pcap(path: Path, conversations: list[list[bytes]]) -> None:
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        n = 0
        for packets in conversations:
            for p in packets:
                n += 1
                f.write(struct.pack("<IIII", n // 1000, (n % 1000) * 1000, len(p), len(p)))
                f.write(p)


def _decode_as() -> list[str]:
    rules = os.environ.get("AMBIENTCTL_TSHARK_DECODE_AS", "")
    args = []
    for rule in filter(None, (r.strip() for r in rules.split(","))):
        port, _, proto = rule.partition("=")
        if not port.isdigit() or not proto:
            raise ValueError(f"AMBIENTCTL_TSHARK_DECODE_AS: {rule!r} is not PORT=PROTOCOL")
        args += ["-d", f"tcp.port=={port},{proto}"]
    return args


def decode_batch(streams: list[InnerStream]) -> list[Decoded | None]:
    tshark = _tshark()
    with tempfile.TemporaryDirectory(prefix="ambientctl-tshark-") as tmp:
        pcap = Path(tmp) / "inner.pcap"
        write_pcap(pcap, [conversation(i, s.server_port or 0, s.client, s.server) for i, s in enumerate(streams)])
        try:
            r = subprocess.run(
                [tshark, "-n", "-r", str(pcap), *_decode_as(), "-T", "fields", "-E", "separator=\t",
                 "-e", "tcp.stream", "-e", "tcp.dstport", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info"],
                capture_output=True, text=True, timeout=TIMEOUT, errors="replace")
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"tshark took longer than {TIMEOUT:g} s") from None
    if r.returncode != 0:
        raise RuntimeError(f"tshark exited {r.returncode}: {r.stderr.strip().splitlines()[-1:]}")
    rows: dict[int, list[tuple[bool, str, str]]] = {}
    for line in r.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) < 4 or not parts[0].isdigit():
            continue
        stream, dport, proto, info = int(parts[0]), parts[1], parts[2], parts[3]
        if proto in TRANSPORT or stream >= len(streams):
            continue
        rows.setdefault(stream, []).append((dport == str(streams[stream].server_port or 0), proto, info))
    out: list[Decoded | None] = []
    for i in range(len(streams)):
        frames = rows.get(i)
        if not frames:
            out.append(None)
            continue
        protocol = Counter(p for _, p, _ in frames).most_common(1)[0][0]
        msgs = [{"direction": "client" if c else "server", "protocol": p, "info": info}
                for c, p, info in frames[:MAX_MESSAGES]]
        out.append(Decoded(protocol=protocol.lower(), messages=msgs,
                           summary=f"tshark: {frames[0][2][:80]}" + (f" (+{len(frames) - 1} more)" if len(frames) > 1 else "")))
    return out


def decode(stream: InnerStream) -> Decoded | None:
    """One stream (ambientctl uses decode_batch; this is for direct callers)."""
    return decode_batch([stream])[0]


decode.deep = True  # type: ignore[attr-defined]  # only streams no other decoder recognised
decode.decode_batch = decode_batch  # type: ignore[attr-defined]
