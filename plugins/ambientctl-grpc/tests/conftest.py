"""Fixtures for ambientctl-grpc: the real gRPC exchange from tests/realdata (grpc_sslkeylog, see
tests/realdata/pcaps/PROVENANCE.md), and the same exchange carried through a real HBONE tunnel on loopback
(TLS 1.3 + ALPN h2 + HTTP/2 CONNECT, captured by tcpdump with the session's key log)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
REALDATA = Path(os.environ.get("AMBIENTCTL_REALDATA", REPO / "tests" / "realdata"))
GRPC_PCAP = REALDATA / "pcaps" / "grpc-h2-tls13" / "wireshark_capture.pcapng"
GRPC_KEYS = REALDATA / "pcaps" / "grpc-h2-tls13" / "keylog.log"
REQUIRE_ALL = os.environ.get("AMBIENTCTL_REQUIRE_ALL") == "1"
TUNNEL_TARGET = "10.244.2.20:50051"  # the CONNECT :authority (a pod IP and the gRPC port)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """AMBIENTCTL_REQUIRE_ALL=1 (CI): a skipped test here is a failure, as in the main suite."""
    outcome = yield
    rep = outcome.get_result()
    if REQUIRE_ALL and rep.skipped:
        rep.outcome = "failed"
        rep.longrepr = f"AMBIENTCTL_REQUIRE_ALL=1 but skipped: {rep.longrepr}"


@pytest.fixture(scope="session")
def real_grpc() -> tuple[Path, Path]:
    if not GRPC_PCAP.is_file():
        pytest.skip(f"real gRPC capture not found at {GRPC_PCAP} (set AMBIENTCTL_REALDATA)")
    return GRPC_PCAP, GRPC_KEYS


@pytest.fixture(scope="session")
def grpc_bytes(real_grpc) -> tuple[bytes, bytes]:  # type: ignore[no-untyped-def]
    """(client bytes, server bytes) of the real gRPC connection, decrypted by ambientctl's decoder."""
    from ambientctl.decode import Decoder, load_keylog

    got: dict[bool, bytearray] = {True: bytearray(), False: bytearray()}
    d = Decoder(str(real_grpc[0]), load_keylog(str(real_grpc[1])),
                on_app_data=lambda _flow, is_client, data, _ts: got[is_client].extend(data))
    for _ in d.run():
        pass
    assert got[True].startswith(b"PRI * HTTP/2.0")
    return bytes(got[True]), bytes(got[False])


def _certificate(tmp: Path) -> tuple[Path, Path]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cluster.local")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier("spiffe://cluster.local/ns/default/sa/echo-grpc")]), critical=False)
            .sign(key, hashes.SHA256()))
    crt, pem = tmp / "server.crt", tmp / "server.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


def _hbone_server(listener: socket.socket, ctx: ssl.SSLContext, answer: bytes, expect: int, errors: list) -> None:
    """Accept one HBONE connection: CONNECT -> 200, then relay the recorded gRPC server bytes once the
    client's gRPC bytes have all arrived (what a ztunnel + echo server pair would send back)."""
    import h2.config
    import h2.connection
    import h2.events

    try:
        raw, _ = listener.accept()
        with ctx.wrap_socket(raw, server_side=True) as tls:
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
            conn.initiate_connection()
            tls.sendall(conn.data_to_send())
            received = 0
            done = answered = False
            while not done:
                data = tls.recv(65536)
                if not data:
                    break
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        conn.send_headers(ev.stream_id, [(":status", "200")])
                    elif isinstance(ev, h2.events.DataReceived):
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                        received += len(ev.data)
                        if received >= expect and not answered:
                            answered = True
                            for i in range(0, len(answer), 16000):
                                conn.send_data(ev.stream_id, answer[i : i + 16000])
                            conn.end_stream(ev.stream_id)
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        done = True
                tls.sendall(conn.data_to_send())
    except Exception as e:  # reported by the fixture
        errors.append(e)


def _hbone_client(port: int, keylog: Path, payload: bytes, expect: int) -> bytes:
    import h2.config
    import h2.connection
    import h2.events

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["h2"])
    ctx.keylog_filename = str(keylog)
    got = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, ctx.wrap_socket(raw) as tls:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        conn.send_headers(1, [(":method", "CONNECT"), (":authority", TUNNEL_TARGET)])
        for i in range(0, len(payload), 16000):
            conn.send_data(1, payload[i : i + 16000])
        tls.sendall(conn.data_to_send())
        ended = False
        while not ended:
            data = tls.recv(65536)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    got += ev.data
                elif isinstance(ev, h2.events.StreamEnded):
                    ended = True
            tls.sendall(conn.data_to_send())
        conn.end_stream(1)
        conn.close_connection()
        tls.sendall(conn.data_to_send())
    assert len(got) == expect
    return bytes(got)


@pytest.fixture(scope="session")
def hbone_grpc_capture(grpc_bytes, tmp_path_factory) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """(pcap, keylog) of the real gRPC exchange inside an HBONE CONNECT tunnel, captured on loopback."""
    if os.geteuid() != 0:
        pytest.skip("capturing on loopback needs root (tcpdump)")
    if not shutil.which("tcpdump"):
        pytest.skip("tcpdump is not installed (Debian package tcpdump)")
    pytest.importorskip("h2", reason="h2 (ambientctl's test extra) is needed for the HBONE tunnel")
    tmp = tmp_path_factory.mktemp("grpc-hbone")
    client_bytes, server_bytes = grpc_bytes
    crt, key = _certificate(tmp)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["h2"])
    ctx.load_cert_chain(crt, key)
    pcap, keylog = tmp / "grpc-hbone.pcap", tmp / "grpc-hbone.keys"
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        # --immediate-mode: else a quick SIGINT loses packets still in the kernel ring; -Z root: write to tmp
        dump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-Z", "root", "-s", "0",
                                 "-w", str(pcap), f"tcp port {port}"], stderr=subprocess.PIPE, text=True)
        try:
            line = dump.stderr.readline() if dump.stderr else ""
            if "listening" not in line:
                pytest.skip(f"tcpdump did not start on lo: {line.strip()}")
            errors: list = []
            server = threading.Thread(target=_hbone_server,
                                      args=(listener, ctx, server_bytes, len(client_bytes), errors), daemon=True)
            server.start()
            _hbone_client(port, keylog, client_bytes, len(server_bytes))
            server.join(10)
            assert not errors, errors
            time.sleep(0.3)  # let the last segments reach the capture
        finally:
            dump.send_signal(signal.SIGINT)
            dump.wait(10)
    return pcap, keylog
