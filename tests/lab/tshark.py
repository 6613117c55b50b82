"""tshark as the reference decoder for lab captures: the facts a decoder must match, read by Wireshark.

`-d tcp.port==15008,tls` because Wireshark does not know HBONE's port; `-E aggregator='|'` because baggage
values contain commas. tshark warns on stderr when run as root; that is not an error.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class TsharkMissing(RuntimeError):
    pass


def tshark_fields(pcap: Path, fields: list[str], display_filter: str = "",
                  keylog: Path | None = None) -> list[list[str]]:
    """One row per matching packet, one column per field; multiple occurrences joined with '|'."""
    binary = shutil.which("tshark")
    if binary is None:
        raise TsharkMissing("tshark not found (Debian package tshark; run scripts/install-system-deps)")
    argv = [binary, "-n", "-r", str(pcap), "-d", "tcp.port==15008,tls", "-T", "fields", "-E", "aggregator=|"]
    if keylog is not None:
        argv += ["-o", f"tls.keylog_file:{keylog}"]
    if display_filter:
        argv += ["-Y", display_filter]
    for f in fields:
        argv += ["-e", f]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"tshark on {pcap} exited {done.returncode}: {done.stderr.strip()}")
    return [line.split("\t") for line in done.stdout.splitlines()]


def http2_headers(pcap: Path, keylog: Path | None) -> list[dict[str, str]]:
    """Every decrypted HTTP/2 header block in the capture, as {name: value} per packet, in order."""
    blocks = []
    for names, values in tshark_fields(pcap, ["http2.header.name", "http2.header.value"], "http2", keylog):
        if names:
            blocks.append(dict(zip(names.split("|"), values.split("|"), strict=True)))
    return blocks
