#!/usr/bin/env python3
"""How much the pcap stream writer costs over a plain copy: the same ~200 MB pcap stream (records from the HBONE
lab's real captures, repeated) fed in 64 KiB chunks, as the exec stream delivers it, into /dev/null-like files.
Prints MB/s for both and the ratio (writer / copy); a capture point's stream rarely exceeds a few MB/s."""

from __future__ import annotations

import io
import time
from pathlib import Path

from ambientctl.capture.stream import PcapStreamWriter

REPO = Path(__file__).resolve().parent.parent


def stream_bytes(target_mb: int = 200) -> bytes:
    caps = [p.read_bytes() for p in sorted((REPO / "tests" / "lab" / "recorded").glob("*.pcap")) if p.stat().st_size > 200]
    header = caps[0][:24]
    body = b"".join(c[24:] for c in caps)
    reps = max(1, target_mb * 1_000_000 // len(body))
    return header + body * reps


class Sink(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[no-untyped-def, override]
        return len(b)


def run(data: bytes, parse: bool, chunk: int = 65536) -> float:
    sink = Sink()
    w = PcapStreamWriter(sink) if parse else None
    t = time.perf_counter()
    for i in range(0, len(data), chunk):
        if w is not None:
            w.feed(data[i:i + chunk])
        else:
            sink.write(data[i:i + chunk])
    if w is not None:
        w.finish()
    return time.perf_counter() - t


def main() -> None:
    data = stream_bytes()
    mb = len(data) / 1e6
    copy = min(run(data, False) for _ in range(3))
    writer = min(run(data, True) for _ in range(3))
    print(f"stream {mb:.0f} MB in 64 KiB chunks")
    print(f"plain copy      {mb / copy:8.0f} MB/s")
    print(f"PcapStreamWriter {mb / writer:7.0f} MB/s  (ratio writer/copy time {writer / copy:.1f}x)")


if __name__ == "__main__":
    main()
