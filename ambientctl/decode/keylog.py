"""NSS key log (SSLKEYLOGFILE, RFC 9850): secrets indexed by the ClientHello random, from a file or from the
Decryption Secrets Blocks of a pcapng. Lines that do not parse are counted, never fatal."""

from __future__ import annotations

from dataclasses import dataclass, field

LABELS = {
    "CLIENT_RANDOM",  # TLS 1.2 master secret
    "CLIENT_EARLY_TRAFFIC_SECRET",
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    "EARLY_EXPORTER_SECRET",
    "EXPORTER_SECRET",
}


@dataclass
class KeyLog:
    secrets: dict[bytes, dict[str, bytes]] = field(default_factory=dict)
    lines: dict[bytes, list[bytes]] = field(default_factory=dict)  # raw lines per client random, for export
    bad_lines: int = 0
    sources: list[str] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: str) -> KeyLog:
        """Read a key log; OSError propagates so the caller can name the file in a one-line error."""
        kl = cls()
        with open(path, "rb") as f:
            kl.add(f.read(), path)
        return kl

    def add(self, text: bytes, source: str) -> None:
        self.sources.append(source)
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            parts = line.split()
            try:
                label = parts[0].decode("ascii")
                cr = bytes.fromhex(parts[1].decode("ascii"))
                secret = bytes.fromhex(parts[2].decode("ascii"))
            except (IndexError, ValueError, UnicodeDecodeError):
                self.bad_lines += 1
                continue
            if label not in LABELS or len(cr) != 32 or len(parts) != 3:
                self.bad_lines += 1
                continue
            self.secrets.setdefault(cr, {})[label] = secret
            self.lines.setdefault(cr, []).append(line)

    def get(self, client_random: bytes) -> dict[str, bytes]:
        return self.secrets.get(client_random, {})

    def __len__(self) -> int:
        return len(self.secrets)

    def text_for(self, randoms: set[bytes]) -> bytes:
        """The key-log lines for these sessions only (so an exported capture carries no unrelated secrets)."""
        out: list[bytes] = []
        for cr in sorted(randoms):
            out.extend(self.lines.get(cr, []))
        return b"".join(line + b"\n" for line in out)
