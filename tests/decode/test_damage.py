"""Damaged input decodes up to the damage and says where, never a traceback: arbitrary bytes, truncations of the
real captures, bit flips (Hypothesis), and the CLI on empty, garbage, truncated and missing files."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ambientctl.cli.main import main
from ambientctl.decode import DecodeError, decode_file

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def decode_bytes(tmp_path, data: bytes, keylog=None):
    p = tmp_path / "fuzz.cap"
    p.write_bytes(data)
    try:
        return decode_file(str(p), keylog)
    except DecodeError as e:  # the one documented failure: not a capture at all
        assert str(e).startswith(str(p))
        return None


@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes(tmp_path, data):
    decode_bytes(tmp_path, data)


@FUZZ
@given(data=st.binary(max_size=2048), magic=st.sampled_from([
    b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\x0a\x0d\x0d\x0a",
]))
def test_arbitrary_bytes_after_a_valid_magic(tmp_path, data, magic):
    r = decode_bytes(tmp_path, magic + data)
    assert r is not None


@FUZZ
@given(cut=st.integers(min_value=0, max_value=18272))
def test_truncations_of_the_real_pcapng(tmp_path, grpc_capture, cut):
    data = grpc_capture[0].read_bytes()[:cut]
    r = decode_bytes(tmp_path, data, str(grpc_capture[1]))
    if r is not None and cut < len(grpc_capture[0].read_bytes()):
        # a cut inside a block is reported with the file and byte offset
        assert r.damaged == any("truncated" in w for w in r.warnings)


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(min_value=0, max_value=3855), st.integers(min_value=0, max_value=7)),
                      min_size=1, max_size=8))
def test_bit_flips_in_the_real_pcap_with_keys(tmp_path, illustrated_capture, flips):
    data = bytearray(illustrated_capture[0].read_bytes())
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    decode_bytes(tmp_path, bytes(data), str(illustrated_capture[1]))


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(min_value=200, max_value=18271), st.integers(min_value=0, max_value=7)),
                      min_size=1, max_size=8))
def test_bit_flips_in_the_real_pcapng_with_keys(tmp_path, grpc_capture, flips):
    data = bytearray(grpc_capture[0].read_bytes())
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    decode_bytes(tmp_path, bytes(data), str(grpc_capture[1]))


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_cli_empty_file(tmp_path, capsys):
    p = tmp_path / "empty.pcap"
    p.write_bytes(b"")
    code, out, err = run(["decode", str(p)], capsys)
    assert code == 1 and out == ""
    assert err == f"ambientctl: decode: {p}: empty file (0 bytes), not a pcap or pcapng capture\n"


def test_cli_garbage_file(tmp_path, capsys):
    p = tmp_path / "notes.txt"
    p.write_text("hello, this is not a capture\n")
    code, out, err = run(["decode", str(p)], capsys)
    assert code == 1 and out == ""
    assert err == f"ambientctl: decode: {p}: not a pcap or pcapng capture (starts with 0x68656c6c)\n"


def test_cli_missing_file_and_keylog(tmp_path, capsys, grpc_capture):
    code, _, err = run(["decode", str(tmp_path / "nope.pcap")], capsys)
    assert code == 1 and err == f"ambientctl: decode: {tmp_path / 'nope.pcap'}: cannot read the capture: no such file or directory\n"
    code, _, err = run(["decode", str(grpc_capture[0]), "--keylog", str(tmp_path / "k")], capsys)
    assert code == 1 and err == f"ambientctl: decode: {tmp_path / 'k'}: cannot read the key log: no such file or directory\n"
    # both missing: the capture (the first input) is the one reported
    code, _, err = run(["decode", str(tmp_path / "nope.pcap"), "--keylog", str(tmp_path / "k")], capsys)
    assert code == 1 and "nope.pcap: cannot read the capture" in err


def test_cli_truncated_capture_decodes_up_to_the_damage(tmp_path, capsys, grpc_capture):
    data = grpc_capture[0].read_bytes()
    p = tmp_path / "cut.pcapng"
    p.write_bytes(data[:10000])
    code, out, err = run(["decode", str(p), "--keylog", str(grpc_capture[1]), "-o", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["kind"] == "Decode" and doc["damaged"] is True
    assert doc["packets"] > 20 and doc["streams"]  # decoded what was there, decrypted too
    (w,) = [w for w in doc["warnings"] if "truncated" in w]
    assert w.startswith(f"{p}: truncated block at byte ")
    assert f"ambientctl: warning: {w}" in err.splitlines()
    code, out, _ = run(["decode", str(p)], capsys)
    assert code == 1 and "Warnings (1)" in out and "truncated block at byte" in out


def test_cli_garbage_in_the_middle(tmp_path, capsys, illustrated_capture):
    data = bytearray(illustrated_capture[0].read_bytes())
    data[24 + 8 : 24 + 12] = b"\xff\xff\xff\x7f"  # first record's captured length
    p = tmp_path / "bad.pcap"
    p.write_bytes(bytes(data))
    code, out, _err = run(["decode", str(p), "-o", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["packets"] == 0
    assert doc["warnings"] == [f"{p}: garbage at byte 24 (record 1: captured length 2147483647 exceeds snaplen "
                               "262144); stopped reading"]


@pytest.mark.parametrize("fmt", ["text", "json", "yaml"])
def test_cli_good_file_exits_zero(capsys, grpc_capture, fmt):
    code, out, err = run(["decode", str(grpc_capture[0]), "--keylog", str(grpc_capture[1]), "-o", fmt], capsys)
    assert code == 0 and err == ""
    assert "SayHelloBiDiStream" in out
