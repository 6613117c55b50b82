"""What a decoded capture says, as plain dataclasses: TCP flows, their TLS handshakes, HTTP/2 streams and the
HBONE tunnels among them. `to_dict()` gives the stable JSON shape (camelCase, like the rest of ambientctl/v1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TlsInfo:
    """TLS handshake metadata. `version` is the negotiated one (supported_versions wins over legacy_version)."""

    client_random: str = ""
    legacy_version: str = ""
    version: str = ""
    cipher_suite: str = ""
    sni: str | None = None
    alpn_offered: list[str] = field(default_factory=list)
    alpn: str | None = None  # negotiated (TLS 1.3: from EncryptedExtensions, so only with keys)
    offered_versions: list[str] = field(default_factory=list)
    psk_offered: bool = False
    psk_accepted: bool = False
    session_ticket_offered: bool = False
    session_id_resumed: bool = False
    early_data_offered: bool = False
    hello_retry: bool = False
    key_group: str | None = None
    client_certificate_requested: bool = False
    client_identities: list[str] = field(default_factory=list)  # URI SANs of the client certificate
    server_identities: list[str] = field(default_factory=list)
    client_subject: str | None = None
    server_subject: str | None = None
    keys: str = "none"  # none | found | partial
    decrypted: bool = False
    alert: str | None = None

    @property
    def resumed(self) -> bool:
        return self.psk_accepted or self.session_id_resumed

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "legacyVersion": self.legacy_version,
            "cipherSuite": self.cipher_suite,
            "sni": self.sni,
            "alpnOffered": self.alpn_offered,
            "alpn": self.alpn,
            "offeredVersions": self.offered_versions,
            "keyGroup": self.key_group,
            "helloRetry": self.hello_retry,
            "resumption": {
                "pskOffered": self.psk_offered,
                "pskAccepted": self.psk_accepted,
                "sessionTicketOffered": self.session_ticket_offered,
                "sessionIdResumed": self.session_id_resumed,
                "earlyDataOffered": self.early_data_offered,
                "resumed": self.resumed,
            },
            "clientCertificateRequested": self.client_certificate_requested,
            "clientIdentities": self.client_identities,
            "serverIdentities": self.server_identities,
            "clientSubject": self.client_subject,
            "serverSubject": self.server_subject,
            "clientRandom": self.client_random,
            "keys": self.keys,
            "decrypted": self.decrypted,
            "alert": self.alert,
        }


@dataclass
class H2Stream:
    """One HTTP/2 stream. For CONNECT (HBONE) streams the inner HTTP/1.x request line and status come from DATA."""

    flow_id: int
    stream_id: int
    method: str | None = None
    path: str | None = None
    authority: str | None = None
    scheme: str | None = None
    status: int | None = None
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    trailers: list[tuple[str, str]] = field(default_factory=list)
    request_bytes: int = 0
    response_bytes: int = 0
    rst_code: str | None = None
    rst_by: str | None = None
    client_ended: bool = False
    server_ended: bool = False
    first_ts: float = 0.0
    last_ts: float = 0.0
    inner_request: str | None = None
    inner_status: str | None = None

    @property
    def is_connect(self) -> bool:
        return self.method == "CONNECT"

    def header(self, name: str) -> str | None:
        vals = [v for k, v in self.request_headers if k == name]
        return ",".join(vals) if vals else None

    @property
    def grpc_status(self) -> str | None:
        for k, v in self.trailers + self.response_headers:
            if k == "grpc-status":
                return v
        return None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "flow": self.flow_id,
            "streamId": self.stream_id,
            "method": self.method,
            "authority": self.authority,
            "status": self.status,
            "requestBytes": self.request_bytes,
            "responseBytes": self.response_bytes,
            "rstStream": {"code": self.rst_code, "by": self.rst_by} if self.rst_code else None,
            "firstTime": self.first_ts,
            "lastTime": self.last_ts,
        }
        if self.is_connect:
            d["baggage"] = self.header("baggage")
            d["forwarded"] = self.header("forwarded")
            d["traceparent"] = self.header("traceparent")
            d["innerRequest"] = self.inner_request
            d["innerStatus"] = self.inner_status
        else:
            d["scheme"] = self.scheme
            d["path"] = self.path
            d["grpcStatus"] = self.grpc_status
        d["requestHeaders"] = [list(h) for h in self.request_headers]
        d["responseHeaders"] = [list(h) for h in self.response_headers]
        d["trailers"] = [list(h) for h in self.trailers]
        return d


@dataclass
class Flow:
    """A TCP connection. `client` opened it (sent the SYN) or, when the capture started mid-connection, is the
    side with the higher port."""

    id: int
    client: tuple[str, int]
    server: tuple[str, int]
    first_ts: float
    last_ts: float
    syn: bool = False
    syn_ack: bool = False
    ack: bool = False
    fin_by: list[str] = field(default_factory=list)
    rst_by: list[str] = field(default_factory=list)
    client_packets: int = 0
    server_packets: int = 0
    client_bytes: int = 0
    server_bytes: int = 0
    protocol: str | None = None  # tls | http2 | http/1.x
    role: str | None = None  # by ztunnel port: hbone (15008), ztunnel-outbound (15001), inbound-plaintext (15006)
    tls: TlsInfo | None = None
    http_request: str | None = None  # plaintext HTTP/1.x request line (first one seen)
    http_status: str | None = None
    goaway: list[dict[str, Any]] = field(default_factory=list)

    @property
    def handshake(self) -> str:
        if self.syn and self.syn_ack and self.ack:
            return "complete"
        if self.syn and self.syn_ack:
            return "syn, syn-ack"
        if self.syn:
            return "syn only"
        if self.syn_ack:
            return "syn-ack only"
        return "not seen"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client": {"ip": self.client[0], "port": self.client[1]},
            "server": {"ip": self.server[0], "port": self.server[1]},
            "firstTime": self.first_ts,
            "lastTime": self.last_ts,
            "handshake": {"state": self.handshake, "syn": self.syn, "synAck": self.syn_ack, "ack": self.ack},
            "finBy": self.fin_by,
            "rstBy": self.rst_by,
            "packets": {"client": self.client_packets, "server": self.server_packets},
            "payloadBytes": {"client": self.client_bytes, "server": self.server_bytes},
            "protocol": self.protocol,
            "role": self.role,
            "httpRequest": self.http_request,
            "httpStatus": self.http_status,
            "goaway": self.goaway,
        }


@dataclass
class Leg:
    """A plaintext flow related to a tunnel: which flow, what role it plays, and why we think so."""

    flow_id: int
    role: str  # app-to-ztunnel (15001) | ztunnel-to-app (original destination) | inbound-plaintext (15006)
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"flow": self.flow_id, "role": self.role, "reason": self.reason}


@dataclass
class Tunnel:
    """An HBONE tunnel: TLS to port 15008 offering ALPN h2, with its CONNECT streams when keys were given."""

    flow_id: int
    client: tuple[str, int]
    server: tuple[str, int]
    alpn: str | None
    decrypted: bool
    client_identities: list[str] = field(default_factory=list)
    server_identities: list[str] = field(default_factory=list)
    streams: list[H2Stream] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)
    first_ts: float = 0.0
    last_ts: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow_id,
            "client": {"ip": self.client[0], "port": self.client[1]},
            "server": {"ip": self.server[0], "port": self.server[1]},
            "alpn": self.alpn,
            "decrypted": self.decrypted,
            "clientIdentities": self.client_identities,
            "serverIdentities": self.server_identities,
            "connects": [s.to_dict() for s in self.streams],
            "legs": [leg.to_dict() for leg in self.legs],
            "firstTime": self.first_ts,
            "lastTime": self.last_ts,
        }


@dataclass
class DecodeResult:
    path: str
    format: str = ""
    packets: int = 0
    tcp_packets: int = 0
    other_packets: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    linktypes: list[int] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    streams: list[H2Stream] = field(default_factory=list)  # HTTP/2 streams that are not HBONE CONNECTs
    tunnels: list[Tunnel] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    damaged: bool = False  # the file itself is truncated or has garbage: decoded up to the damage
    keylog_sources: list[str] = field(default_factory=list)
    keylog: Any = field(default=None, repr=False)  # the KeyLog used (file + embedded), for export; not in JSON

    def flow(self, flow_id: int) -> Flow:
        return self.flows[flow_id - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "format": self.format,
            "linkTypes": self.linktypes,
            "packets": self.packets,
            "tcpPackets": self.tcp_packets,
            "otherPackets": self.other_packets,
            "firstTime": self.first_ts,
            "lastTime": self.last_ts,
            "keylog": self.keylog_sources,
            "damaged": self.damaged,
            "flows": [f.to_dict() for f in self.flows],
            "tls": [{"flow": f.id, **f.tls.to_dict()} for f in self.flows if f.tls],
            "tunnels": [t.to_dict() for t in self.tunnels],
            "streams": [s.to_dict() for s in self.streams],
            "warnings": self.warnings,
        }
