"""Rewrite a capture as pcapng with its TLS key-log lines embedded in a Decryption Secrets Block, so Wireshark
(>= 3.0) opens it decrypted with no extra files: the format for tickets and support bundles.

Only the lines for the TLS sessions in this capture are embedded (no unrelated secrets leave the machine). The
file is written to a temporary name next to the target and renamed, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile

from ambientctl.decode.capfile import CaptureFormatError, CaptureReader
from ambientctl.decode.keylog import KeyLog
from ambientctl.decode.model import DecodeResult

SECRETS_TLS = 0x544C534B


class ExportError(Exception):
    """The export could not be written; the message names the file."""


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def export_pcapng(result: DecodeResult, out: str, keylog: KeyLog | None = None) -> int:
    """Write `result.path` as pcapng to `out` with the matching key-log lines; returns how many were embedded."""
    keys = keylog or result.keylog
    randoms = {bytes.fromhex(f.tls.client_random) for f in result.flows if f.tls and f.tls.client_random}
    secrets = keys.text_for(randoms) if keys is not None else b""
    directory = os.path.dirname(os.path.abspath(out))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".ambientctl-export-", suffix=".pcapng", dir=directory)
    except OSError as e:
        raise ExportError(f"{out}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + _option(4, b"ambientctl decode") + _option(0, b"")
            f.write(_block(0x0A0D0D0A, shb))
            if secrets:
                f.write(_block(0x0000000A, struct.pack("<II", SECRETS_TLS, len(secrets)) + secrets))
            reader = CaptureReader(result.path, exact_ts=True)
            ifmap: dict[tuple[int, int], int] = {}
            for _n, ts_ns, linktype, data, orig, ifid in reader.records():
                key = (ifid, linktype)
                idx = ifmap.get(key)
                if idx is None:
                    idx = ifmap[key] = len(ifmap)
                    src = reader.interfaces[ifid] if ifid < len(reader.interfaces) else None
                    opts = _option(9, b"\x09")  # if_tsresol: nanoseconds
                    if src is not None and src.name:
                        opts += _option(2, src.name.encode())
                    snap = src.snaplen if src is not None else 0
                    f.write(_block(1, struct.pack("<HHI", linktype, 0, snap) + opts + _option(0, b"")))
                f.write(_block(6, struct.pack("<IIIII", idx, ts_ns >> 32, ts_ns & 0xFFFFFFFF, len(data), orig) + data))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except (OSError, CaptureFormatError) as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ExportError(f"{out}: {getattr(e, 'strerror', None) or e}") from None
    return secrets.count(b"\n")
