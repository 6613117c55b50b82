"""One deadline per command (issue #13 "Hangs"): `--request-timeout` bounds the whole exchange with the API
server — kubeconfig exec credential plugins (the client runs them with no timeout), TLS, headers and bodies — not
each socket read. Real servers on loopback that trickle bytes, and a real plugin that sleeps; each command must
end soon after the deadline with one line, and leave no plugin process behind. (The bounds below are hang
checks, generous against a loaded machine, not benchmarks.)"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

TIMEOUT = 2.0
SLACK = 15.0  # interpreter start and imports on a busy 2-core machine; a hang is minutes


def _cert(d: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1)).sign(key, hashes.SHA256()))
    (d / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return d / "tls.crt", d / "tls.key"


@contextlib.contextmanager
def trickling_server(tmp: Path, mode: str) -> Iterator[int]:
    """An HTTPS server on 127.0.0.1 that answers every request by trickling: `headers` sends the status line
    and headers a byte at a time, `body` sends complete headers and then a body a byte at a time; one byte per
    0.3 s — each socket read returns well within any read timeout, so only a whole-exchange deadline ends it."""
    crt, key = _cert(tmp)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            s = ctx.wrap_socket(conn, server_side=True)
            s.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            if mode == "body":
                s.sendall(head)
                data = b'{"kind":"APIGroupList","groups":[' + b" " * 100000
            else:
                data = head
            for i in range(len(data)):
                if stop.is_set():
                    break
                s.sendall(data[i:i + 1])
                time.sleep(0.3)
        conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield ls.getsockname()[1]
    finally:
        stop.set()
        ls.close()


def kubeconfig(tmp: Path, server: str, user: dict) -> Path:
    p = tmp / "kubeconfig"
    p.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "t", "user": user}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t"}}]}))
    return p


def ambientctl(*argv: str) -> tuple[int, str, float]:
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "ambientctl", *argv], capture_output=True, text=True,
                       timeout=TIMEOUT + 120, env={**os.environ, "KUBECONFIG": ""})
    return r.returncode, r.stderr, time.monotonic() - t


@pytest.mark.parametrize("mode", ["headers", "body"])
@pytest.mark.parametrize("command", [["describe", "pod", "x"], ["snapshot", "save", "-o", "-"],
                                     ["explain", "--matrix", "-n", "default"]])
def test_trickling_api_server_ends_within_the_deadline(tmp_path: Path, mode: str, command: list[str]) -> None:
    with trickling_server(tmp_path, mode) as port:
        kc = kubeconfig(tmp_path, f"https://127.0.0.1:{port}", {"token": "t"})
        code, err, took = ambientctl(*command, "--kubeconfig", str(kc), "--request-timeout", str(TIMEOUT))
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert f"no complete answer within {TIMEOUT:g}s" in err or f"no answer within {TIMEOUT:g}s" in err
    assert f"127.0.0.1:{port}" in err
    assert took < TIMEOUT + SLACK


def test_exec_credential_plugin_that_sleeps_is_bounded_and_killed(tmp_path: Path) -> None:
    marker = f"{600 + os.getpid() % 1000}.{int(time.time()) % 1000}"  # a unique `sleep` argument to find it by
    plugin = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "sleep", "args": [marker],
                       "interactiveMode": "Never"}}
    with socket.socket() as ls:  # never reached: the plugin never returns
        ls.bind(("127.0.0.1", 0))
        kc = kubeconfig(tmp_path, f"https://127.0.0.1:{ls.getsockname()[1]}", plugin)
        for command in (["describe", "pod", "x"], ["capture", "deploy/sleep", "--yes", "-w", str(tmp_path / "c")]):
            code, err, took = ambientctl(*command, "--kubeconfig", str(kc), "--request-timeout", str(TIMEOUT))
            assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
            assert f"took more than {TIMEOUT:g}s (a credential plugin that does not return?)" in err
            assert str(kc) in err
            assert took < TIMEOUT + SLACK
    left = []
    for pid in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if pid.isdigit() and marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                left.append(pid)
    assert left == []  # the plugin was killed, not left running
