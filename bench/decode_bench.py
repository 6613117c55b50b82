"""Flow-level decode speed against tshark on the same file, and peak memory on a capture larger than 1 GB.

Builds the captures from a real one (realdata grpc-h2-tls13, a Go gRPC session over TLS 1.3) by repetition,
rewriting client ports and timestamps so every copy is a distinct TCP connection; the >1 GB file adds bulk-data
connections with 32 KiB segments (veth captures carry TSO frames that large). Everything lives in a temp dir that
is deleted afterwards.

    .venv/bin/python bench/decode_bench.py [--packets 250000] [--big-gb 1.1] [--keep DIR]

Prints packets/s of `ambientctl decode -o json` (flow level, no keys) and of
`tshark -T fields -e frame.number -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport -e tcp.flags -e tcp.len`,
the ratio of the medians of 3 runs each (target >= 5x), and decode's peak RSS on the big file (target < 150 MB).
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
REAL = Path(os.environ.get("AMBIENTCTL_REALDATA", REPO / "tests" / "realdata"))
SOURCE = REAL / "pcaps" / "grpc-h2-tls13" / "wireshark_capture.pcapng"


def real_frames() -> list[tuple[float, bytes]]:
    from ambientctl.decode.capfile import CaptureReader

    r = CaptureReader(str(SOURCE))
    return [(ts, data) for _n, ts, _lt, data, _o, _i in r.records()]


def tcp_offset(frame: bytes) -> int | None:
    et = (frame[12] << 8) | frame[13]
    if et == 0x0800 and frame[23] == 6:
        return 14 + (frame[14] & 15) * 4
    if et == 0x86DD and frame[20] == 6:
        return 54
    return None


def write_pcap(path: Path, frames_iter) -> tuple[int, int]:
    n = 0
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for ts, frame in frames_iter:
            sec = int(ts)
            f.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(frame), len(frame)))
            f.write(frame)
            n += 1
    return n, path.stat().st_size


def repeated(frames, copies: int, bulk_segments: int = 0, segment: int = 32768):
    """`copies` copies of the real session, each with its own client ports and a later start time, each
    followed by a download of `bulk_segments` segments of `segment` bytes when asked."""
    t0 = frames[0][0]
    span = frames[-1][0] - t0 + 0.001
    bulk_payload = (bytes(range(256)) * (segment // 256 + 1))[:segment]
    for i in range(copies):
        shift = i * span
        port_delta = i % 20000
        for ts, frame in frames:
            off = tcp_offset(frame)
            if off is None:
                yield ts + shift, frame
                continue
            b = bytearray(frame)
            sport, dport = struct.unpack_from("!HH", b, off)
            # the client side is the high port: move it, so each copy is a new 5-tuple
            if sport > dport:
                struct.pack_into("!H", b, off, 30000 + (sport + port_delta) % 30000)
            else:
                struct.pack_into("!H", b, off + 2, 30000 + (dport + port_delta) % 30000)
            yield ts + shift, bytes(b)
        if bulk_segments:
            yield from bulk_flow(t0 + shift, i, bulk_segments, bulk_payload)


def bulk_flow(ts: float, i: int, segments: int, payload: bytes):
    """A plain TCP connection carrying `segments` 32 KiB segments from server to client (like a download)."""
    src, dst = bytes([10, 1, (i >> 8) & 255, i & 255]), bytes([10, 2, 0, 1])
    cport, sport = 40000 + i % 20000, 8080

    def frame(a, b, ap, bp, seq, ack, flags, data=b""):
        tcp = struct.pack("!HHIIBBHHH", ap, bp, seq, ack, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(data), 0, 0x4000, 64, 6, 0, a, b)
        return b"\x00" * 12 + b"\x08\x00" + ip + tcp + data

    yield ts, frame(src, dst, cport, sport, 1000, 0, 0x02)
    yield ts + 1e-5, frame(dst, src, sport, cport, 5000, 1001, 0x12)
    yield ts + 2e-5, frame(src, dst, cport, sport, 1001, 5001, 0x10)
    seq = 5001
    for k in range(segments):
        yield ts + 3e-5 + k * 1e-5, frame(dst, src, sport, cport, seq, 1001, 0x18, payload)
        seq += len(payload)
    yield ts + 0.01, frame(dst, src, sport, cport, seq, 1001, 0x11)
    yield ts + 0.011, frame(src, dst, cport, sport, 1001, seq + 1, 0x11)


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of a child process."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, ru = os.wait4(p.pid, 0)[1:]
    elapsed = time.perf_counter() - t
    if p.returncode not in (0, None) and p.wait() not in (0,):
        pass
    return elapsed, ru.ru_maxrss


RUNS = 3  # the machine is shared: one run of either side can be 10-20% off


def median_of(runs: int, cmd: list[str]) -> tuple[float, int]:
    """Median wall time and the largest peak RSS over `runs` runs."""
    results = [timed(cmd) for _ in range(runs)]
    times = sorted(t for t, _ in results)
    return times[len(times) // 2], max(r for _, r in results)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=250_000)
    ap.add_argument("--big-gb", type=float, default=1.1)
    ap.add_argument("--keep", metavar="DIR", help="keep the generated captures in DIR")
    args = ap.parse_args()
    tshark = shutil.which("tshark")
    ambientctl = [str(REPO / ".venv" / "bin" / "ambientctl")]
    if not Path(ambientctl[0]).exists():
        ambientctl = [sys.executable, "-m", "ambientctl"]
    frames = real_frames()
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="decode-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        scenarios = [
            ("flow-heavy: the real session repeated (a new TCP connection every ~13 packets)", 0),
            ("mixed: each real session followed by a 200-segment download (1448-byte segments)", 200),
        ]
        for title, bulk in scenarios:
            small = tmp / "repeated.pcap"
            per_copy = len(frames) + (bulk + 5 if bulk else 0)
            n, size = write_pcap(small, repeated(frames, -(-args.packets // per_copy), bulk, 1448))
            print(f"\n{title}\ncapture: {n:,} packets, {size / 1e6:.1f} MB")
            dt, rss = median_of(RUNS, [*ambientctl, "decode", str(small), "-o", "json"])
            ours = n / dt
            print(f"ambientctl decode -o json: {dt:.2f} s  {ours:,.0f} packets/s  peak RSS {rss / 1024:.0f} MB  "
                  f"(median of {RUNS})")
            if tshark:
                fields = ["frame.number", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.len"]
                cmd = [tshark, "-n", "-r", str(small), "-T", "fields"]
                for fld in fields:
                    cmd += ["-e", fld]
                tdt, trss = median_of(RUNS, cmd)
                theirs = n / tdt
                print(f"tshark -T fields:          {tdt:.2f} s  {theirs:,.0f} packets/s  peak RSS {trss / 1024:.0f} MB  "
                      f"(median of {RUNS})")
                print(f"ratio: {ours / theirs:.1f}x tshark (target >= 5x)")
            else:
                print("tshark not found: no baseline (scripts/install-system-deps installs it)")
            small.unlink()

        if args.big_gb > 0:
            big = tmp / "big.pcap"
            per_copy = sum(len(f) + 16 for _, f in frames) + 64 * (32768 + 70)
            copies = int(args.big_gb * 1e9 / per_copy) + 1
            n, size = write_pcap(big, repeated(frames, copies, bulk_segments=64))
            print(f"\nbig capture: {n:,} packets, {size / 1e9:.2f} GB")
            dt, rss = timed([*ambientctl, "decode", str(big), "-o", "json"])
            print(f"ambientctl decode: {dt:.1f} s  {n / dt:,.0f} packets/s  {size / dt / 1e6:.0f} MB/s  "
                  f"peak RSS {rss / 1024:.0f} MB (target < 150 MB)")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
