"""ambientctl-tshark with the real tshark on real inner bytes, and what happens without tshark."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from ambientctl_tshark.decoder import TsharkMissing, conversation, decode_batch, write_pcap

from ambientctl.plugins.api import InnerStream


def test_dissects_the_tunnelled_http_of_the_lab_recording(tshark, lab_http_stream, monkeypatch):  # type: ignore[no-untyped-def]
    assert lab_http_stream.kind == "hbone" and lab_http_stream.server_port == 9080
    monkeypatch.setenv("AMBIENTCTL_TSHARK_DECODE_AS", "9080=http")  # 9080 is not an HTTP port for Wireshark
    (got,) = decode_batch([lab_http_stream])
    assert got is not None and got.protocol == "http"
    assert got.messages[0] == {"direction": "client", "protocol": "HTTP", "info": "GET /productpage HTTP/1.1 "}
    assert got.messages[1]["direction"] == "server" and got.messages[1]["info"].startswith("HTTP/1.1 200 OK")


def test_one_tshark_run_for_many_streams_keeps_them_apart(tshark, lab_http_stream, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AMBIENTCTL_TSHARK_DECODE_AS", "9080=http")
    noise = InnerStream(kind="hbone", flow=2, stream_id=3, authority="10.0.0.9:9999", client=b"ping", server=b"pong")
    got = decode_batch([noise, lab_http_stream, noise])
    assert got[0] is None and got[2] is None
    assert got[1] is not None and got[1].protocol == "http"


def test_synthetic_conversation_is_a_valid_capture_for_tshark(tshark, lab_http_stream, tmp_path):  # type: ignore[no-untyped-def]
    pcap = tmp_path / "inner.pcap"
    write_pcap(pcap, [conversation(0, 9080, lab_http_stream.client, lab_http_stream.server)])
    r = subprocess.run([tshark, "-r", str(pcap), "-q", "-z", "conv,tcp"], capture_output=True, text=True)
    assert r.returncode == 0 and "10.99.0.1:40000" in r.stdout and "10.98.0.1:9080" in r.stdout
    r = subprocess.run([tshark, "-r", str(pcap), "-q", "-z", "follow,tcp,raw,0"], capture_output=True, text=True)
    follow = "".join(line.strip() for line in r.stdout.splitlines() if all(c in "0123456789abcdef\t " for c in line))
    assert lab_http_stream.client.hex() in follow and lab_http_stream.server.hex() in follow


def test_bad_decode_as_rule_is_named(tshark, lab_http_stream, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AMBIENTCTL_TSHARK_DECODE_AS", "http")
    with pytest.raises(ValueError, match="'http' is not PORT=PROTOCOL"):
        decode_batch([lab_http_stream])


def _decode_cli(pcap, keys, env):  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "ambientctl", "decode", str(pcap), "--keylog", str(keys), "-o", "json"],
                          capture_output=True, text=True, env=env)


def test_unknown_bytes_stay_unrecognised_and_quiet(tshark, ping_pong):  # type: ignore[no-untyped-def]
    r = _decode_cli(*ping_pong, env=dict(os.environ))
    assert r.returncode == 0 and r.stderr == ""
    (p,) = json.loads(r.stdout)["payloads"]
    assert p["protocol"] is None and p["decoder"] is None and p["bytes"] == {"client": 4, "server": 4}


def test_missing_tshark_is_one_line_and_the_decode_goes_on(ping_pong, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", str(tmp_path))  # no tshark anywhere
    with pytest.raises(TsharkMissing, match="Debian package tshark"):
        decode_batch([InnerStream(kind="tls", flow=1, stream_id=None, authority="127.0.0.1:8400",
                                  client=b"ping", server=b"pong")])
    r = _decode_cli(*ping_pong, env={**os.environ, "PATH": str(tmp_path)})
    assert r.returncode == 0
    assert r.stderr.splitlines() == [
        "ambientctl: plugin tshark (ambientctl-tshark) failed: TsharkMissing: tshark is not installed or not on "
        "PATH (Debian package tshark); deep decoding skipped"]
    doc = json.loads(r.stdout)
    assert doc["tls"][0]["decrypted"] and [p["protocol"] for p in doc["payloads"]] == [None]
