"""The bundled demo recordings are exactly what scripts/make_demo_traces.py makes from the lab's recordings, and
the rewritten pcaps are valid captures that tshark reads and decrypts (demo IPs in the CONNECT authority)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from ambientctl.trace.replay import demo_root

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("make_demo_traces", ROOT / "scripts/make_demo_traces.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_recordings_are_what_the_script_makes(tmp_path):
    _script().build(tmp_path)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(demo_root()) for p in demo_root().rglob("*") if p.is_file()
                       and p.name != "README.md")
    assert made == committed
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (demo_root() / rel).read_bytes(), rel


def test_rewritten_capture_is_valid_for_tshark():
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed (Debian package tshark, scripts/install-system-deps)")
    d = demo_root() / "bookinfo-l4-sleep-productpage"
    out = subprocess.run(["tshark", "-r", str(d / "client-hbone.pcap"), "-o", f"tls.keylog_file:{d / 'client-hbone.keys'}",
                          "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                          "-T", "fields", "-e", "ip.src", "-e", "http2.header.value", "-e", "_ws.expert.message"],
                         capture_output=True, text=True, check=True).stdout
    assert "192.168.13.108:9080" in out and "10.244." not in out
    assert "Bad checksum" not in out and "bad" not in out.lower()
    assert 'for="192.168.58.148:36430"' in out
