"""HBONE for real: the lab (tests/lab: nghttpx and a policy server terminating HTTP/2 CONNECT over mutual TLS 1.3
in network namespaces, tcpdump around them) records each scenario with its key log and the facts a correct
decoder must find. The decoder must find them: CONNECT authority, status (200/401/503/400), baggage, forwarded,
traceparent, the inner HTTP/1.1 request and status, both SPIFFE IDs, no SNI, ALPN h2, and who reset."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ambientctl.decode import decode_file

pytestmark = pytest.mark.netns

lab = pytest.importorskip("tests.lab.lab", reason="the HBONE lab (tests/lab) is not in this checkout")
SCENARIOS = [s.name for s in lab.SCENARIOS]


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the HBONE lab needs root (network namespaces)")
    from tests.lab.netns import LabUnavailable

    try:
        return lab.run_lab(tmp_path_factory.mktemp("hbone-lab"))
    except LabUnavailable as e:
        pytest.skip(f"HBONE lab unavailable: {e}")


def _addr(s: str) -> tuple[str, int]:
    host, _, port = s.rpartition(":")
    return host, int(port)


@pytest.mark.parametrize("name", SCENARIOS)
def test_decoder_finds_what_the_lab_did(captures, name):
    cap = captures[name]
    e = cap.expected
    r = decode_file(str(cap.pcap), str(cap.keylog) if cap.keylog else None)
    assert not r.damaged, r.warnings
    flows = [f for f in r.flows if f.client == _addr(e.client_addr) and f.server == _addr(e.server_addr)]
    assert len(flows) == 1, f"{name}: flow {e.client_addr} -> {e.server_addr} not in {cap.pcap}"
    (flow,) = flows
    assert flow.handshake == "complete"
    if e.reset_by:
        assert e.reset_by in flow.rst_by
    if e.transport == "plaintext":
        assert r.tunnels == []
        assert flow.http_request == e.inner_request_line
        assert flow.http_status.split()[1] == str(e.inner_status)
        return
    (t,) = r.tunnels
    assert t.flow_id == flow.id and t.server[1] == e.hbone_port
    tls = flow.tls
    assert tls.version == e.tls_version and tls.sni is e.sni is None
    assert "h2" in tls.alpn_offered and t.alpn == e.alpn
    assert t.client_identities == [e.client_spiffe]
    assert t.server_identities == [e.server_spiffe]
    if e.status is None:
        assert t.streams == [] or all(s.status is None for s in t.streams)
        return
    (s,) = t.streams
    assert s.stream_id == e.stream_id
    assert s.authority == e.authority
    assert s.status == e.status
    assert s.header("baggage") == e.baggage
    assert s.header("forwarded") == e.forwarded
    assert s.header("traceparent") == e.traceparent
    assert s.inner_request == (e.inner_request_line if e.status == 200 else None)
    if e.inner_status is not None:
        assert s.inner_status.split()[1] == str(e.inner_status)


def test_both_legs_in_one_capture_are_related(captures, tmp_path):
    """mergecap the client leg (HBONE) and the ztunnel -> app leg: the plaintext leg to the CONNECT authority
    with the same request line is the tunnel's ztunnel-to-app leg."""
    mergecap = shutil.which("mergecap")
    if mergecap is None:
        pytest.skip("mergecap not installed (Debian wireshark-common, pulled in by tshark)")
    cap = captures["allowed"]
    merged = tmp_path / "both.pcapng"
    subprocess.run([mergecap, "-w", str(merged), str(cap.pcap), str(cap.app_pcap)], check=True)
    r = decode_file(str(merged), str(cap.keylog))
    (t,) = r.tunnels
    (leg,) = t.legs
    app = r.flow(leg.flow_id)
    assert leg.role == "ztunnel-to-app"
    assert app.server == _addr(cap.expected.authority)
    assert app.http_request == cap.expected.inner_request_line
    assert "same request line" in leg.reason


def test_export_opens_decrypted_in_tshark(captures, tmp_path):
    from ambientctl.decode.export import export_pcapng

    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark not installed")
    cap = captures["allowed"]
    out = tmp_path / "allowed.pcapng"
    export_pcapng(decode_file(str(cap.pcap), str(cap.keylog)), str(out))
    got = subprocess.run([tshark, "-n", "-r", str(out), "-d", f"tcp.port=={cap.expected.hbone_port},tls",
                          "-Y", "http2.headers.method == \"CONNECT\"", "-T", "fields", "-e",
                          "http2.headers.authority"], capture_output=True, text=True, check=True).stdout
    assert got.split() == [cap.expected.authority]


def test_lab_module_is_what_we_ran():
    assert Path(lab.__file__).name == "lab.py"
