"""Rewrite a capture as pcapng with its TLS key-log lines embedded in a Decryption Secrets Block, so Wireshark
(>= 3.0) opens it decrypted with no extra files: the format for tickets and support bundles.

Only the lines for the TLS sessions in this capture are embedded (no unrelated secrets leave the machine). The
file is written through ambientctl.outfile: never over an existing file (without --force), the capture itself, a
link or a device; to a hidden temporary renamed at the end and removed on any failure, Ctrl-C included.
"""

from __future__ import annotations

import struct

from ambientctl.decode.capfile import CaptureFormatError, CaptureReader
from ambientctl.decode.keylog import KeyLog
from ambientctl.decode.model import DecodeResult
from ambientctl.errors import AmbientctlError
from ambientctl.outfile import Target, check_target, open_output

SECRETS_TLS = 0x544C534B


class ExportError(Exception):
    """The export could not be written; the message names the file."""


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def export_pcapng(result: DecodeResult, out: str | Target, keylog: KeyLog | None = None) -> int:
    """Write `result.path` as pcapng to `out` with the matching key-log lines; returns how many were embedded.
    `out` is checked by ambientctl.outfile (a str: as a new file that must not exist and is not the input)."""
    keys = keylog or result.keylog
    randoms = {bytes.fromhex(f.tls.client_random) for f in result.flows if f.tls and f.tls.client_random}
    secrets = keys.text_for(randoms) if keys is not None else b""
    try:
        target = out if isinstance(out, Target) else check_target(out, "--export-pcapng", inputs=[result.path])
        with open_output(target) as f:
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
    except AmbientctlError as e:
        raise ExportError(str(e)) from None
    except (OSError, CaptureFormatError) as e:
        raise ExportError(f"{out if isinstance(out, str) else out.path}: {getattr(e, 'strerror', None) or e}") from None
    return secrets.count(b"\n")
