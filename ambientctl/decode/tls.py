"""TLS over a reassembled TCP stream: hello metadata always, and with an NSS key log the TLS 1.3 key schedule
and record decryption (AES-128/256-GCM, ChaCha20-Poly1305), so the encrypted handshake (ALPN, certificates and
their SPIFFE IDs) and the application data (HTTP/2) become readable.

HBONE is TLS 1.3 only, so TLS 1.2 gets metadata and its plaintext certificates but no decryption.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Callable

from ambientctl.decode.keylog import KeyLog
from ambientctl.decode.model import TlsInfo

MAX_RECORD = 16384 + 2048 + 5
MAX_HANDSHAKE = 1 << 18  # a certificate chain bigger than 256 KiB is not something we need to read

VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1.0", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}
SUITES = {
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0x1304: "TLS_AES_128_CCM_SHA256",
    0x1305: "TLS_AES_128_CCM_8_SHA256",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
}
# suite -> (hash, key length, aead kind)
TLS13_SUITES = {
    0x1301: (hashlib.sha256, 16, "aesgcm"),
    0x1302: (hashlib.sha384, 32, "aesgcm"),
    0x1303: (hashlib.sha256, 32, "chacha"),
}
GROUPS = {23: "secp256r1", 24: "secp384r1", 25: "secp521r1", 29: "x25519", 30: "x448", 0x11EC: "X25519MLKEM768"}
ALERTS = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 40: "handshake_failure",
    42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
    46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
    51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
    86: "inappropriate_fallback", 90: "user_canceled", 109: "missing_extension", 110: "unsupported_extension",
    112: "unrecognized_name", 116: "certificate_required", 120: "no_application_protocol",
}
# RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest.
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()

CT_CCS, CT_ALERT, CT_HANDSHAKE, CT_APPDATA = 20, 21, 22, 23


def suite_name(code: int) -> str:
    return SUITES.get(code, f"0x{code:04x}")


def version_name(code: int) -> str:
    return VERSIONS.get(code, f"0x{code:04x}")


def hkdf_expand_label(hash_fn, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """RFC 8446 7.1 HKDF-Expand-Label over HMAC (RFC 5869 HKDF-Expand)."""
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + bytes([len(context)]) + context
    out = b""
    block = b""
    i = 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([i]), hash_fn).digest()
        out += block
        i += 1
    return out[:length]


class RecordProtection:
    """One direction's TLS 1.3 traffic keys: AEAD with the per-record nonce = iv XOR sequence number."""

    def __init__(self, suite: int, secret: bytes):
        self.suite = suite
        self.hash_fn, self.key_len, kind = TLS13_SUITES[suite]
        self.secret = secret
        self._kind = kind
        self._install(secret)

    def _install(self, secret: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

        key = hkdf_expand_label(self.hash_fn, secret, b"key", b"", self.key_len)
        self.iv = hkdf_expand_label(self.hash_fn, secret, b"iv", b"", 12)
        self.aead = AESGCM(key) if self._kind == "aesgcm" else ChaCha20Poly1305(key)
        self.secret = secret
        self.seq = 0

    def update(self) -> None:
        """KeyUpdate: application_traffic_secret_N+1 (RFC 8446 7.2)."""
        size = self.hash_fn().digest_size
        self._install(hkdf_expand_label(self.hash_fn, self.secret, b"traffic upd", b"", size))

    def open(self, record: bytes) -> tuple[int, bytes]:
        """Decrypt a whole record (header included); returns (inner content type, plaintext)."""
        nonce = (int.from_bytes(self.iv, "big") ^ self.seq).to_bytes(12, "big")
        plain = self.aead.decrypt(nonce, record[5:], record[:5])
        self.seq += 1
        end = len(plain)
        while end and plain[end - 1] == 0:
            end -= 1
        if not end:
            raise ValueError("record with no content type")
        return plain[end - 1], plain[: end - 1]


def _vec(data: bytes, pos: int, width: int) -> tuple[bytes, int]:
    n = int.from_bytes(data[pos : pos + width], "big")
    end = pos + width + n
    if end > len(data):
        raise ValueError("vector runs past its message")
    return data[pos + width : end], end


def _extensions(data: bytes, pos: int) -> dict[int, bytes]:
    exts: dict[int, bytes] = {}
    if pos + 2 > len(data):
        return exts
    block, _ = _vec(data, pos, 2)
    i = 0
    while i + 4 <= len(block):
        etype, elen = struct.unpack_from("!HH", block, i)
        exts[etype] = block[i + 4 : i + 4 + elen]
        i += 4 + elen
    return exts


def _alpn_list(ext: bytes) -> list[str]:
    names = []
    body, _ = _vec(ext, 0, 2)
    i = 0
    while i < len(body):
        name, i = _vec(body, i, 1)
        names.append(name.decode("ascii", "replace"))
    return names


def certificate_identities(der: bytes) -> tuple[list[str], str | None]:
    """URI SANs (SPIFFE IDs) and the subject of a DER certificate."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    subject = cert.subject.rfc4514_string() or None
    return list(uris), subject


class _Direction:
    __slots__ = ("buf", "cipher", "done", "hs", "is_client", "pending_key")

    def __init__(self, is_client: bool):
        self.is_client = is_client
        self.buf = bytearray()
        self.hs = bytearray()
        self.cipher: RecordProtection | None = None
        self.pending_key: bytes | None = None  # application secret to switch to after this side's Finished
        self.done = False


class TlsSession:
    """Feed it each direction's in-order TCP payload; it fills `info` and hands decrypted application data to
    `on_app_data(is_client, data, ts)`."""

    def __init__(self, flow_label: str, keylog: KeyLog | None, warn: Callable[[str], None],
                 on_app_data: Callable[[bool, bytes, float], None] | None = None):
        self.label = flow_label
        self.keylog = keylog
        self.warn = warn
        self.on_app_data = on_app_data
        self.info = TlsInfo()
        self.dirs = {True: _Direction(True), False: _Direction(False)}
        self.client_random = b""
        self.client_session_id = b""
        self.suite = 0
        self.tls13 = False
        self.secrets: dict[str, bytes] = {}
        self.server_hello_seen = False

    def wants(self, is_client: bool) -> bool:
        return not self.dirs[is_client].done

    def _stop(self, d: _Direction) -> None:
        d.done = True
        d.buf = bytearray()
        d.hs = bytearray()

    def feed(self, is_client: bool, data: bytes, ts: float) -> None:
        d = self.dirs[is_client]
        if d.done:
            return
        d.buf += data
        buf = d.buf
        pos = 0
        while len(buf) - pos >= 5 and not d.done:
            ct = buf[pos]
            length = (buf[pos + 3] << 8) | buf[pos + 4]
            if ct not in (CT_CCS, CT_ALERT, CT_HANDSHAKE, CT_APPDATA, 24) or buf[pos + 1] != 3 or length > MAX_RECORD:
                self.warn(f"{self.label}: not a TLS record ({'client' if is_client else 'server'} side); "
                          "stopped decoding TLS there")
                self._stop(d)
                return
            if len(buf) - pos < 5 + length:
                break
            record = bytes(buf[pos : pos + 5 + length])
            pos += 5 + length
            try:
                self._record(d, ct, record, ts)
            except (ValueError, IndexError, struct.error) as e:
                self.warn(f"{self.label}: malformed TLS {'client' if is_client else 'server'} data ({e}); "
                          "stopped decoding TLS there")
                self._stop(d)
                return
        if not d.done:
            del d.buf[:pos]

    def _record(self, d: _Direction, ct: int, record: bytes, ts: float) -> None:
        body = record[5:]
        if ct == CT_CCS:
            if not self.tls13 and self.server_hello_seen:
                self._stop(d)  # TLS 1.2: everything after ChangeCipherSpec is encrypted; no 1.2 decryption
            return
        if ct == CT_APPDATA or (d.cipher is not None and ct != CT_CCS):
            if d.cipher is None:
                if not self.tls13 or not self.server_hello_seen or (d.is_client and self.info.early_data_offered):
                    return  # early data or 1.2 app data: no keys for it
                self._stop(d)
                return
            try:
                ct, body = d.cipher.open(record)
            except Exception:
                if self.info.early_data_offered and d.is_client and self.info.decrypted is False:
                    return  # 0-RTT data under the early secret: skip until the handshake key works
                self.warn(f"{self.label}: {'client' if d.is_client else 'server'} record failed to decrypt "
                          "(key log does not match this session?); stopped decrypting")
                self.info.keys = "partial"
                self._stop(d)
                return
            self.info.decrypted = True
        if ct == CT_HANDSHAKE:
            d.hs += body
            if len(d.hs) > MAX_HANDSHAKE:
                self.warn(f"{self.label}: handshake message larger than {MAX_HANDSHAKE} bytes; skipped")
                self._stop(d)
                return
            self._handshake(d, ts)
        elif ct == CT_ALERT and len(body) >= 2:
            name = ALERTS.get(body[1], str(body[1]))
            who = "client" if d.is_client else "server"
            if self.info.alert is None or body[1] != 0:
                self.info.alert = f"{name} from {who}" + (" (fatal)" if body[0] == 2 else "")
        elif ct == CT_APPDATA and self.on_app_data is not None and body:
            self.on_app_data(d.is_client, body, ts)

    def _handshake(self, d: _Direction, ts: float) -> None:
        hs = d.hs
        while len(hs) >= 4:
            mtype = hs[0]
            mlen = int.from_bytes(hs[1:4], "big")
            if len(hs) < 4 + mlen:
                return
            msg = bytes(hs[4 : 4 + mlen])
            del hs[: 4 + mlen]
            self._message(d, mtype, msg)
            if d.done:
                return

    def _message(self, d: _Direction, mtype: int, msg: bytes) -> None:
        info = self.info
        if mtype == 1 and d.is_client:
            self._client_hello(msg)
        elif mtype == 2 and not d.is_client:
            self._server_hello(msg)
        elif mtype == 8 and not d.is_client:  # EncryptedExtensions
            exts = _extensions(msg, 0)
            if 16 in exts:
                alpn = _alpn_list(exts[16])
                info.alpn = alpn[0] if alpn else None
        elif mtype == 13 and not d.is_client:
            info.client_certificate_requested = True
        elif mtype == 11:
            self._certificate(d, msg)
        elif mtype == 20 and self.tls13:  # Finished: switch this side to the application traffic keys
            if d.pending_key is not None:
                d.cipher = RecordProtection(self.suite, d.pending_key)
                d.pending_key = None
            elif self.keylog is not None:
                d.cipher = None
                self._stop(d)
        elif mtype == 24 and self.tls13 and d.cipher is not None:
            d.cipher.update()
        elif mtype == 4 and self.tls13:
            pass  # NewSessionTicket: resumption possible later; nothing to record per connection

    def _client_hello(self, msg: bytes) -> None:
        info = self.info
        legacy = struct.unpack_from("!H", msg, 0)[0]
        info.legacy_version = version_name(legacy)
        info.version = info.version or version_name(legacy)
        self.client_random = msg[2:34]
        info.client_random = self.client_random.hex()
        self.client_session_id, pos = _vec(msg, 34, 1)
        _suites, pos = _vec(msg, pos, 2)
        _comp, pos = _vec(msg, pos, 1)
        exts = _extensions(msg, pos)
        if 0 in exts:
            names, _ = _vec(exts[0], 0, 2)
            if len(names) >= 3 and names[0] == 0:
                host, _ = _vec(names, 1, 2)
                info.sni = host.decode("ascii", "replace")
        if 16 in exts:
            info.alpn_offered = _alpn_list(exts[16])
        if 43 in exts:
            vers, _ = _vec(exts[43], 0, 1)
            info.offered_versions = [
                version_name(int.from_bytes(vers[i : i + 2], "big"))
                for i in range(0, len(vers) - 1, 2)
                if vers[i : i + 2] != b"\x0a\x0a" and (vers[i] & 0x0F) != 0x0A
            ]
        info.psk_offered = 41 in exts
        info.session_ticket_offered = 35 in exts and len(exts[35]) > 0
        info.early_data_offered = 42 in exts

    def _server_hello(self, msg: bytes) -> None:
        info = self.info
        legacy = struct.unpack_from("!H", msg, 0)[0]
        random = msg[2:34]
        sid, pos = _vec(msg, 34, 1)
        self.suite = struct.unpack_from("!H", msg, pos)[0]
        exts = _extensions(msg, pos + 3)
        version = legacy
        if 43 in exts and len(exts[43]) == 2:
            version = struct.unpack("!H", exts[43])[0]
        if random == HRR_RANDOM:
            info.hello_retry = True
            return  # the real ServerHello follows a second ClientHello
        info.legacy_version = version_name(legacy)
        info.version = version_name(version)
        info.cipher_suite = suite_name(self.suite)
        info.psk_accepted = 41 in exts
        if 51 in exts and len(exts[51]) >= 2:
            info.key_group = GROUPS.get(struct.unpack_from("!H", exts[51])[0])
        if 16 in exts:
            alpn = _alpn_list(exts[16])
            info.alpn = alpn[0] if alpn else None
        self.server_hello_seen = True
        self.tls13 = version == 0x0304
        if not self.tls13:
            # TLS 1.2 resumption: the server echoes the client's non-empty session id.
            info.session_id_resumed = bool(sid) and sid == self.client_session_id
            return
        secrets = self.keylog.get(self.client_random) if self.keylog is not None else {}
        need = ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0")
        have = [n for n in need if n in secrets]
        if self.suite not in TLS13_SUITES or not have:
            if have:
                self.warn(f"{self.label}: cipher suite {suite_name(self.suite)} is not supported for decryption")
            info.keys = "partial" if have else "none"
            # TLS 1.3 hides everything after ServerHello: nothing more to read without keys.
            for d in self.dirs.values():
                self._stop(d)
            return
        info.keys = "found" if len(have) == 4 else "partial"
        if len(have) < 4:
            self.warn(f"{self.label}: key log has only {', '.join(have)} for this session")
        for is_client, hs_label, app_label in (
            (True, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"),
            (False, "SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"),
        ):
            d = self.dirs[is_client]
            d.pending_key = secrets.get(app_label)
            if hs_label in secrets:
                d.cipher = RecordProtection(self.suite, secrets[hs_label])
            elif d.pending_key is not None:
                d.cipher = RecordProtection(self.suite, d.pending_key)  # resumed/odd logs: try app keys
                d.pending_key = None
            else:
                self._stop(d)

    def _certificate(self, d: _Direction, msg: bytes) -> None:
        pos = 0
        if self.tls13:
            _ctx, pos = _vec(msg, 0, 1)
        chain, _ = _vec(msg, pos, 3)
        if not chain:
            return
        der, _i = _vec(chain, 0, 3)
        try:
            uris, subject = certificate_identities(der)
        except Exception as e:  # cryptography raises several types for bad DER
            self.warn(f"{self.label}: unreadable {'client' if d.is_client else 'server'} certificate ({e})")
            return
        if d.is_client:
            self.info.client_identities, self.info.client_subject = uris, subject
        else:
            self.info.server_identities, self.info.server_subject = uris, subject
