"""The lab is real: tshark, reading the pcaps with the key logs, finds what each scenario says happened.

Every check runs twice: on captures recorded fresh in network namespaces this session (root) and on the
committed recordings in tests/lab/recorded (tshark only), so the demo data cannot drift from the truth.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.lab.lab import SCENARIOS, Capture
from tests.lab.tshark import http2_headers, tshark_fields

HBONE = [s.name for s in SCENARIOS if s.server != "plaintext"]
ALL = [s.name for s in SCENARIOS]


@pytest.fixture(params=["fresh", "recorded"])
def captures(request: pytest.FixtureRequest) -> dict[str, Capture]:
    if shutil.which("tshark") is None:
        pytest.skip("tshark not found (Debian package tshark; run scripts/install-system-deps)")
    name = "hbone_captures" if request.param == "fresh" else "hbone_recorded"
    return request.getfixturevalue(name)


def _ip(addr: str) -> str:
    return addr.rpartition(":")[0]


def _port(addr: str) -> int:
    return int(addr.rpartition(":")[2])


@pytest.mark.netns
@pytest.mark.parametrize("name", HBONE)
def test_tshark_sees_the_connect_request(captures: dict[str, Capture], name: str) -> None:
    c = captures[name]
    e = c.expected
    requests = [h for h in http2_headers(c.pcap, c.keylog) if ":method" in h]
    assert requests == [{
        ":method": "CONNECT", ":authority": e.authority, "baggage": e.baggage, "forwarded": e.forwarded,
        "traceparent": e.traceparent,
    }]
    assert e.forwarded == f'for="{e.client_addr}";host=productpage.default.svc.cluster.local'
    assert e.trace_id and len(e.trace_id) == 32


@pytest.mark.netns
@pytest.mark.parametrize("name", HBONE)
def test_tshark_sees_the_connect_status(captures: dict[str, Capture], name: str) -> None:
    c = captures[name]
    statuses = [h[":status"] for h in http2_headers(c.pcap, c.keylog) if ":status" in h]
    if c.expected.status is None:
        assert statuses == []
    else:
        assert statuses == [str(c.expected.status)]


@pytest.mark.netns
@pytest.mark.parametrize("name", HBONE)
def test_certificates_carry_the_spiffe_ids(captures: dict[str, Capture], name: str) -> None:
    c = captures[name]
    rows = tshark_fields(c.pcap, ["ip.src", "x509ce.uniformResourceIdentifier", "x509sat.printableString"],
                         "tls.handshake.type == 11", c.keylog)
    by_sender = {row[0]: row[1] for row in rows}
    assert by_sender == {
        _ip(c.expected.server_addr): c.expected.server_spiffe,
        _ip(c.expected.client_addr): c.expected.client_spiffe,
    }
    assert all(row[2] == "" for row in rows), "leaf subjects are empty, like istiod's"


@pytest.mark.netns
@pytest.mark.parametrize("name", HBONE)
def test_handshake_is_tls13_h2_without_sni(captures: dict[str, Capture], name: str) -> None:
    c = captures[name]
    hello = tshark_fields(c.pcap, ["tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
                                   "tcp.dstport"], "tls.handshake.type == 1")
    assert hello == [["", "h2", str(c.expected.hbone_port)]]
    server_hello = tshark_fields(c.pcap, ["tls.handshake.extensions.supported_version"],
                                 "tls.handshake.type == 2")
    assert server_hello == [["0x0304"]]


@pytest.mark.netns
@pytest.mark.parametrize("name", HBONE)
def test_without_the_key_log_nothing_is_readable(captures: dict[str, Capture], name: str) -> None:
    c = captures[name]
    assert tshark_fields(c.pcap, ["frame.number"], "http2 || tls.handshake.type == 11") == []
    assert b"CONNECT" not in c.pcap.read_bytes()
    assert b"spiffe://" not in c.pcap.read_bytes()


@pytest.mark.netns
@pytest.mark.parametrize("name", ["allowed", "allowed-by-policy"])
def test_inner_request_travels_in_the_tunnel_and_reaches_the_app(captures: dict[str, Capture], name: str) -> None:
    c = captures[name]
    rows = tshark_fields(c.pcap, ["http2.data.data"], "http2.data.data", c.keylog)
    # one hex string per DATA frame; empty DATA frames (END_STREAM only) show as <MISSING>
    tunneled = b"".join(bytes.fromhex(chunk.replace(":", ""))
                        for row in rows for chunk in row[0].split("|") if chunk != "<MISSING>")
    assert tunneled.startswith(c.expected.inner_request_line.encode())
    assert b"HTTP/1.1 200 OK" in tunneled and b"The Comedy of Errors" in tunneled
    app = tshark_fields(c.app_pcap, ["http.request.uri", "http.response.code", "tcp.dstport"], "http")
    assert app[0][0] == "/productpage" and app[0][2] == str(c.expected.app_port)
    assert app[1][1] == str(c.expected.inner_status)


@pytest.mark.netns
@pytest.mark.parametrize("name", ["denied", "ip-mismatch", "reset-after-handshake"])
def test_nothing_reaches_the_app_when_the_server_refuses(captures: dict[str, Capture], name: str) -> None:
    c = captures[name]
    assert tshark_fields(c.app_pcap, ["frame.number"]) == []


@pytest.mark.netns
def test_upstream_refused_is_a_reset_from_the_app_then_503(captures: dict[str, Capture]) -> None:
    c = captures["upstream-refused"]
    rows = tshark_fields(c.app_pcap, ["tcp.dstport", "tcp.flags.syn", "tcp.flags.reset"])
    assert [(r[1], r[2]) for r in rows] == [("1", "0"), ("0", "1")]
    assert rows[0][0] == str(_port(c.expected.authority))


@pytest.mark.netns
def test_reset_after_handshake_is_a_server_rst(captures: dict[str, Capture]) -> None:
    c = captures["reset-after-handshake"]
    e = c.expected
    rows = tshark_fields(c.pcap, ["ip.src", "tcp.flags.reset", "tls.handshake.type"], "", c.keylog)
    resets = [i for i, r in enumerate(rows) if r[1] == "1"]
    finished = [i for i, r in enumerate(rows) if "20" in r[2].split("|")]  # handshake Finished (decrypted)
    assert resets and all(rows[i][0] == _ip(e.server_addr) for i in resets)
    assert finished and max(finished) < resets[0], "the RST comes after both Finished messages"
    assert e.reset_by == "server" and e.status is None


@pytest.mark.netns
def test_plaintext_leg_is_clear_http_without_tls(captures: dict[str, Capture]) -> None:
    c = captures["plaintext"]
    assert c.keylog is None and c.expected.transport == "plaintext"
    rows = tshark_fields(c.pcap, ["ip.src", "tcp.dstport", "http.request.uri", "http.response.code"], "http")
    assert rows[0][:3] == [_ip(c.expected.client_addr), str(c.expected.app_port), "/productpage"]
    assert rows[1][3] == str(c.expected.inner_status)
    assert tshark_fields(c.pcap, ["frame.number"], "tls || tcp.port == 15008") == []


@pytest.mark.netns
@pytest.mark.parametrize("name", ALL)
def test_capture_tcp_flow_matches_the_expected_addresses(captures: dict[str, Capture], name: str) -> None:
    c = captures[name]
    syn = tshark_fields(c.pcap, ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport"],
                        "tcp.flags.syn == 1 && tcp.flags.ack == 0")
    assert syn == [[_ip(c.expected.client_addr), str(_port(c.expected.client_addr)),
                    _ip(c.expected.server_addr), str(_port(c.expected.server_addr))]]


@pytest.mark.netns
@pytest.mark.parametrize("name", ["allowed-by-policy", "denied", "upstream-refused", "ip-mismatch",
                                  "reset-after-handshake"])
def test_policy_server_writes_ztunnel_access_log_lines(captures: dict[str, Capture], name: str) -> None:
    c = captures[name]
    e = c.expected
    [line] = c.access_log
    _ts, level, target, message, fields = line.split("\t")
    assert (target, message) == ("access", "connection complete")
    assert level == ("error" if e.ztunnel_error else "info")
    assert f"src.addr={e.client_addr} " in fields
    assert f'src.identity="{e.client_spiffe}"' in fields
    assert f"dst.addr={e.server_addr} " in fields
    assert 'direction="inbound"' in fields
    if e.ztunnel_error:
        assert fields.endswith(f'error="{e.ztunnel_error}"')


# -- the lab itself -------------------------------------------------------------------------------------


@pytest.mark.netns
def test_lab_leaves_no_namespace_behind(hbone_lab_run) -> None:  # type: ignore[no-untyped-def]
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert hbone_lab_run.netns_prefix.startswith("actl-")
    assert hbone_lab_run.netns_prefix not in listed


@pytest.mark.netns
def test_lab_client_observed_what_was_expected(hbone_captures: dict[str, Capture]) -> None:
    for c in hbone_captures.values():
        e, o = c.expected, c.observed
        assert o["status"] == e.status, c.name
        assert o["client_addr"] == e.client_addr, c.name
        if e.inner_status is not None:
            assert o["inner_response"].startswith(f"HTTP/1.1 {e.inner_status} "), c.name
        if e.transport == "hbone":
            assert (o["tls_version"], o["alpn"], o["server_ids"]) == (e.tls_version, e.alpn, [e.server_spiffe])
        assert (o["error"] is not None) == (e.reset_by is not None), c.name


def test_recorded_captures_are_small_and_complete(hbone_recorded: dict[str, Capture]) -> None:
    assert sorted(hbone_recorded) == sorted(ALL)
    for c in hbone_recorded.values():
        for path in (c.pcap, c.app_pcap, c.keylog):
            if path is not None:
                assert path.stat().st_size < 16_384, path
        assert c.pcap.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"  # little-endian classic pcap
        if c.keylog is not None:
            labels = {line.split()[0] for line in c.keylog.read_text().splitlines() if not line.startswith("#")}
            assert labels == {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                              "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}


def test_manifest_round_trips(hbone_recorded: dict[str, Capture], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.lab.lab import MANIFEST, RECORDED_DIR, load_manifest, manifest

    doc = manifest(hbone_recorded, relative_to=RECORDED_DIR)
    assert doc == json.loads((RECORDED_DIR / MANIFEST).read_text())
    bad = tmp_path / MANIFEST
    bad.write_text(json.dumps({**doc, "version": 99}))
    with pytest.raises(ValueError, match="manifest version 99"):
        load_manifest(tmp_path)


@pytest.mark.netns
def test_lab_tears_down_when_a_scenario_fails(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.lab.lab import HboneLab
    from tests.lab.netns import missing_means

    reason = missing_means()
    if reason:
        pytest.skip(reason)

    def client_crashes(*args: object, **kwargs: object) -> None:
        raise RuntimeError("injected: client crashed mid-scenario")

    lab = HboneLab(tmp_path)
    with pytest.raises(RuntimeError, match="injected"), lab:
        servers = [p.pid for p in lab.topology.processes]
        monkeypatch.setattr(lab.topology, "run", client_crashes)  # after setup: only the client call fails
        lab.run(SCENARIOS[0])
    assert len(servers) >= 5  # app, tinyproxy, nghttpx, policy and reset servers
    for pid in servers:
        assert not os.path.exists(f"/proc/{pid}"), f"lab process {pid} survived"
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert lab.topology.prefix not in listed
    # tcpdump was stopped cleanly: the half-done capture is a valid, empty pcap
    assert tshark_fields(tmp_path / "captures" / f"{SCENARIOS[0].name}.pcap", ["frame.number"]) == []


def test_missing_binary_is_named_with_its_debian_package(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.lab import netns

    real_which = shutil.which
    monkeypatch.setattr(netns.os, "geteuid", lambda: 0)
    monkeypatch.setattr(netns.shutil, "which", lambda b: None if b == "nghttpx" else real_which(b) or "/x")
    assert netns.missing_means() == (
        "nghttpx not found (Debian package nghttp2-proxy; run scripts/install-system-deps)")
    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    assert "needs root" in (netns.missing_means() or "")
