"""An HBONE client shaped like ztunnel's outbound side, for the lab: HTTP/2 CONNECT over mutual TLS 1.3.

What it puts on the wire follows ztunnel (`create_hbone_request`; research/istio.md §3): TLS 1.3 only, ALPN h2,
no SNI, a client certificate with a SPIFFE URI SAN; one HEADERS frame with `:method CONNECT`, `:authority
<pod ip>:<port>`, `baggage`, `forwarded`, `traceparent` (no :scheme/:path); after the 200 the inner HTTP/1.1
request goes as DATA on the same stream. TLS secrets go to an NSS key log so tshark/decoders can read the capture.

Run inside the client namespace: `python -m tests.lab.hbone_client '<json request>'`; prints a JSON result.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import sys
from dataclasses import asdict, dataclass, field

SLEEP_BAGGAGE = (
    "k8s.cluster.name=Kubernetes,k8s.namespace.name=default,k8s.deployment.name=sleep,"
    "service.name=sleep,service.version=v1"
)


@dataclass
class HboneRequest:
    server: str  # ip:port of the HBONE listener (the TCP next hop, ztunnel's dst.addr)
    authority: str  # the CONNECT target, ztunnel's dst.hbone_addr
    cert: str
    key: str
    ca: str
    keylog: str
    traceparent: str
    service_host: str = "productpage.default.svc.cluster.local"
    baggage: str = SLEEP_BAGGAGE
    inner_request: str = "GET /productpage HTTP/1.1\r\nHost: productpage:9080\r\nUser-Agent: curl/8.5.0\r\n" \
        "Accept: */*\r\nConnection: close\r\n\r\n"
    expect_server_id: str | None = None  # like ztunnel: fail unless the server presents this SAN
    timeout: float = 5.0


@dataclass
class HboneResult:
    client_addr: str = ""  # ip:port of our TCP connection to the listener
    tls_version: str | None = None
    alpn: str | None = None
    server_ids: list[str] = field(default_factory=list)
    forwarded: str = ""
    status: int | None = None  # the CONNECT response :status
    response_headers: list[list[str]] = field(default_factory=list)
    inner_response: str = ""  # bytes relayed back through the tunnel, latin-1
    error: str | None = None


def _context(request: HboneRequest) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["h2"])
    ctx.check_hostname = False  # SPIFFE SAN checked below, as ztunnel does
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(request.ca)
    ctx.load_cert_chain(request.cert, request.key)
    ctx.keylog_filename = request.keylog
    return ctx


def hbone_connect(request: HboneRequest) -> HboneResult:
    from h2.config import H2Configuration
    from h2.connection import H2Connection
    from h2.events import DataReceived, ResponseReceived, StreamEnded, StreamReset
    from h2.exceptions import H2Error, StreamClosedError

    from tests.lab.certs import spiffe_ids_of

    result = HboneResult()
    host, _, port = request.server.rpartition(":")
    raw = socket.create_connection((host, int(port)), timeout=request.timeout)
    local = raw.getsockname()
    result.client_addr = f"{local[0]}:{local[1]}"
    result.forwarded = f'for="{result.client_addr}";host={request.service_host}'
    try:
        tls = _context(request).wrap_socket(raw, server_hostname=None)  # no SNI, like ztunnel
        result.tls_version = tls.version()
        result.alpn = tls.selected_alpn_protocol()
        der = tls.getpeercert(binary_form=True)
        result.server_ids = spiffe_ids_of(der) if der else []
        if request.expect_server_id and request.expect_server_id not in result.server_ids:
            result.error = (f"identity verification error: peer did not present the expected SAN "
                            f"([\"{request.expect_server_id}\"]), got {result.server_ids}")
            tls.close()
            return result

        conn = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        stream = conn.get_next_available_stream_id()
        conn.send_headers(stream, [
            (":method", "CONNECT"),
            (":authority", request.authority),
            ("baggage", request.baggage),
            ("forwarded", result.forwarded),
            ("traceparent", request.traceparent),
        ])
        tls.sendall(conn.data_to_send())

        inner = bytearray()
        sent_inner = ended = half_closed = False
        while not ended:
            data = tls.recv(65536)
            if not data:
                result.error = result.error or "connection closed by peer"
                break
            for event in conn.receive_data(data):
                if isinstance(event, ResponseReceived) and event.stream_id == stream:
                    result.response_headers = [[k, v] for k, v in event.headers]
                    result.status = int(dict(event.headers)[":status"])
                    if result.status == 200 and not sent_inner:
                        conn.send_data(stream, request.inner_request.encode("latin-1"))
                        sent_inner = True
                elif isinstance(event, DataReceived) and event.stream_id == stream:
                    inner += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, stream)
                    if not half_closed and _http1_complete(bytes(inner)):
                        half_closed = True
                        # We are done: half-close, like the app closing. h2 has already applied frames later in
                        # this read (nghttpx sends DATA and RST_STREAM together), so the stream may be closed.
                        with contextlib.suppress(StreamClosedError):
                            conn.end_stream(stream)
                elif isinstance(event, StreamEnded) and event.stream_id == stream:
                    ended = True
                elif isinstance(event, StreamReset) and event.stream_id == stream:
                    ended = True
                    if event.error_code:
                        result.error = f"stream reset: {event.error_code!r}"
            outgoing = conn.data_to_send()
            if outgoing:
                tls.sendall(outgoing)
        if ended:
            conn.close_connection()
            tls.sendall(conn.data_to_send())
            _drain(tls)
        result.inner_response = inner.decode("latin-1")
        tls.close()
    except (OSError, ssl.SSLError, H2Error) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        raw.close()
    return result


def _drain(tls: ssl.SSLSocket) -> None:
    """Reads until the server closes, so our close is a FIN and not a RST over unread bytes."""
    with contextlib.suppress(OSError, ssl.SSLError):
        while tls.recv(65536):
            pass


def _http1_complete(buffer: bytes) -> bool:
    """True once a Content-Length-delimited HTTP/1.1 response is fully in `buffer`."""
    head, sep, body = buffer.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def plaintext_get(target: str, inner_request: str, timeout: float = 5.0) -> HboneResult:
    """The same app request without the mesh: what a pod outside ambient (or a bypass) puts on the wire."""
    result = HboneResult()
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            local = sock.getsockname()
            result.client_addr = f"{local[0]}:{local[1]}"
            sock.sendall(inner_request.encode("latin-1"))
            response = b""
            while not _http1_complete(response):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                response += chunk
            result.inner_response = response.decode("latin-1")
    except OSError as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def main(argv: list[str]) -> int:
    if argv[0] == "--plaintext":
        result = plaintext_get(argv[1], HboneRequest.inner_request)
    else:
        result = hbone_connect(HboneRequest(**json.loads(argv[0])))
    print(json.dumps(asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
