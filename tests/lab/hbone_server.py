"""A small HBONE server with ztunnel's inbound decisions, for the cases nghttpx cannot play.

nghttpx terminates CONNECT but cannot authorize by peer identity. This server does what ztunnel's inbound
side does (research/istio.md §3, §2.6): mutual TLS 1.3 with ALPN h2 and a required client certificate; then per
CONNECT stream: not CONNECT or a bad authority -> 400; a target IP that is not a local workload -> 400
("ip mismatch"); a peer SPIFFE ID outside the allow list -> 401 (like an ALLOW policy that only admits
sa/sleep); upstream dial refused -> 503; otherwise 200 and a byte relay. Each connection ends with a
ztunnel-format access log line ("connection complete", direction="inbound").

With reset_after_handshake it instead aborts every connection with a TCP RST once the handshake is done and
the client's first request bytes have arrived (unanswered).

Run inside the ztunnel namespace: `python -m tests.lab.hbone_server '<json config>'`; prints "listening".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import select
import socket
import ssl
import struct
import sys
import threading
import time
from dataclasses import dataclass, field

POLICY_REJECTION = "connection closed due to policy rejection: allow policies exist, but none allowed"


@dataclass
class ServerConfig:
    listen: str  # ip:port
    cert: str
    key: str
    ca: str
    local_workloads: list[str]  # pod IPs this "ztunnel" serves (the authority must target one)
    allowed_principals: list[str]  # SPIFFE IDs the ALLOW policy admits
    access_log: str
    server_id: str = ""
    dst_service: str = "productpage.default.svc.cluster.local"
    dst_workload: str = "productpage-v1"
    dst_namespace: str = "default"
    reset_after_handshake: bool = False
    upstream_timeout: float = 3.0


@dataclass
class _Conn:
    peer: str
    peer_id: str = ""
    hbone_addr: str = ""
    bytes_sent: int = 0  # to the client (relayed from upstream)
    bytes_recv: int = 0  # from the client (relayed to upstream)
    error: str | None = None
    started: float = field(default_factory=time.monotonic)


class AccessLog:
    def __init__(self, path: str, config: ServerConfig) -> None:
        self.path, self.config = path, config
        self.lock = threading.Lock()

    def complete(self, c: _Conn) -> None:
        """Writes a `connection complete` line in ztunnel's plain format (tab-separated, Debug-quoted)."""
        cfg = self.config
        fields = [f"src.addr={c.peer}"]
        if c.peer_id:
            fields.append(f'src.identity="{c.peer_id}"')
        fields.append(f"dst.addr={cfg.listen}")
        if c.hbone_addr:
            fields.append(f"dst.hbone_addr={c.hbone_addr}")
        fields += [
            f'dst.service="{cfg.dst_service}"', f'dst.workload="{cfg.dst_workload}"',
            f'dst.namespace="{cfg.dst_namespace}"', f'dst.identity="{cfg.server_id}"',
            'direction="inbound"', f"bytes_sent={c.bytes_sent}", f"bytes_recv={c.bytes_recv}",
            f'duration="{int((time.monotonic() - c.started) * 1000)}ms"',
        ]
        if c.error:
            fields.append(f'error="{c.error}"')
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        line = f"{now}\t{'error' if c.error else 'info'}\taccess\tconnection complete\t{' '.join(fields)}\n"
        with self.lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(line)


def _context(config: ServerConfig) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["h2"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(config.ca)
    ctx.load_cert_chain(config.cert, config.key)
    return ctx


def _decide(config: ServerConfig, headers: dict[str, str], peer_id: str) -> tuple[int, str | None, tuple]:
    """ztunnel's inbound checks in its order: request shape, destination, authorization. (status, error, addr)"""
    method = headers.get(":method", "")
    if method != "CONNECT":
        return 400, f"expected method CONNECT, got {method}", ()
    authority = headers.get(":authority", "")
    host, sep, port = authority.rpartition(":")
    try:
        socket.inet_aton(host)
        target = (host, int(port))
        if not sep or not 0 < target[1] < 65536:
            raise ValueError
    except (OSError, ValueError):
        return 400, f"invalid CONNECT address {authority}", ()
    if host not in config.local_workloads:
        return 400, f"ip mismatch: {config.local_workloads[0]} != {host}", ()
    if peer_id not in config.allowed_principals:
        return 401, POLICY_REJECTION, ()
    return 200, None, target


def _serve(raw: socket.socket, peer: tuple, config: ServerConfig, log: AccessLog) -> None:
    from h2.config import H2Configuration
    from h2.connection import H2Connection
    from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded, StreamReset

    from tests.lab.certs import spiffe_ids_of

    c = _Conn(peer=f"{peer[0]}:{peer[1]}")
    upstream: socket.socket | None = None
    stream_id = 0
    try:
        raw.settimeout(10)
        tls = raw = _context(config).wrap_socket(raw, server_side=True)  # wrap_socket detaches the old one
        der = tls.getpeercert(binary_form=True)
        ids = spiffe_ids_of(der) if der else []
        c.peer_id = ids[0] if ids else ""
        if config.reset_after_handshake:
            tls.recv(65536)  # wait for the client's preface + CONNECT so the capture is the same every run
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.error = "connection reset after TLS handshake (lab: SO_LINGER 0)"
            return
        conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        open_ = True
        while open_:
            readable = [tls] if upstream is None else [tls, upstream]
            ready, _, _ = select.select(readable, [], [], 10) if not tls.pending() else ([tls], [], [])
            if not ready:
                c.error = "io error: deadline has elapsed"
                break
            if upstream is not None and upstream in ready:
                chunk = upstream.recv(65536)
                if chunk:
                    conn.send_data(stream_id, chunk)
                    c.bytes_sent += len(chunk)
                else:
                    conn.end_stream(stream_id)
                    upstream.close()
                    upstream = None
            if tls in ready:
                data = tls.recv(65536)
                if not data:
                    break
                for event in conn.receive_data(data):
                    if isinstance(event, RequestReceived) and not stream_id:
                        stream_id = event.stream_id
                        headers = dict(event.headers)
                        c.hbone_addr = headers.get(":authority", "")
                        status, c.error, target = _decide(config, headers, c.peer_id)
                        if status == 200:
                            try:
                                upstream = socket.create_connection(target, timeout=config.upstream_timeout)
                            except OSError as exc:
                                status, c.error = 503, f"io error: {exc.strerror} (os error {exc.errno})"
                        conn.send_headers(stream_id, [(":status", str(status))], end_stream=status != 200)
                    elif isinstance(event, DataReceived) and event.stream_id == stream_id:
                        conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
                        if upstream is not None:
                            upstream.sendall(event.data)
                            c.bytes_recv += len(event.data)
                    elif isinstance(event, StreamEnded) and event.stream_id == stream_id and upstream:
                        upstream.shutdown(socket.SHUT_WR)
                    elif isinstance(event, (StreamReset, ConnectionTerminated)):
                        open_ = False
            outgoing = conn.data_to_send()
            if outgoing:
                tls.sendall(outgoing)
        with contextlib.suppress(OSError, ssl.SSLError):
            tls.unwrap()  # close_notify, then the client's FIN (like nghttpx), not an abrupt EOF
        tls.close()
    except (OSError, ssl.SSLError) as exc:
        c.error = c.error or f"tls handshake error: {exc}"
    except Exception as exc:  # one bad connection must not stop the lab server; it is logged like ztunnel does
        c.error = f"h2 failed: {exc}"
    finally:
        if upstream is not None:
            upstream.close()
        raw.close()
        log.complete(c)


def main(argv: list[str]) -> int:
    config = ServerConfig(**json.loads(argv[0]))
    log = AccessLog(config.access_log, config)
    host, _, port = config.listen.rpartition(":")
    listener = socket.create_server((host, int(port)), backlog=16)
    print(f"listening {config.listen}", flush=True)
    try:
        while True:
            raw, peer = listener.accept()
            threading.Thread(target=_serve, args=(raw, peer, config, log), daemon=True).start()
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
