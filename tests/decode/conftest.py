"""Fixtures for decoder tests: the real TLS 1.3 captures with key logs, and tshark as the reference reader."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def grpc_capture(realdata: Path) -> tuple[Path, Path]:
    d = realdata / "pcaps" / "grpc-h2-tls13"
    return d / "wireshark_capture.pcapng", d / "keylog.log"


@pytest.fixture(scope="session")
def illustrated_capture(realdata: Path) -> tuple[Path, Path]:
    d = realdata / "pcaps" / "illustrated-tls13"
    return d / "capture.pcap", d / "keylog.txt"


@pytest.fixture(scope="session")
def tshark():
    """Run tshark -T fields and return rows of fields (aggregated values joined with '|')."""
    exe = shutil.which("tshark")
    if exe is None:
        pytest.skip("tshark not installed (scripts/install-system-deps installs it)")

    def run(path: Path, fields: list[str], display_filter: str | None = None, keylog: Path | None = None,
            extra: list[str] | None = None) -> list[list[str]]:
        cmd = [exe, "-n", "-r", str(path), "-T", "fields", "-E", "aggregator=|", "-E", "occurrence=a"]
        if keylog is not None:
            cmd += ["-o", f"tls.keylog_file:{keylog}"]
        if display_filter:
            cmd += ["-Y", display_filter]
        cmd += extra or []
        for f in fields:
            cmd += ["-e", f]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return [line.split("\t") for line in out.splitlines()]

    return run
