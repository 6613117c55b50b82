"""Fixtures for ambientctl-tshark: real inner bytes (the HBONE lab's committed recording: curl and an HTTP/1.1 app
through nghttpx; the illustrated-tls13 session's "ping"/"pong"), and the CI rule that a skip is a failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
REALDATA = Path(os.environ.get("AMBIENTCTL_REALDATA", REPO / "tests" / "realdata"))
LAB = REPO / "tests" / "lab" / "recorded"
REQUIRE_ALL = os.environ.get("AMBIENTCTL_REQUIRE_ALL") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """AMBIENTCTL_REQUIRE_ALL=1 (CI): a skipped test here is a failure, as in the main suite."""
    outcome = yield
    rep = outcome.get_result()
    if REQUIRE_ALL and rep.skipped:
        rep.outcome = "failed"
        rep.longrepr = f"AMBIENTCTL_REQUIRE_ALL=1 but skipped: {rep.longrepr}"


def inner_streams(pcap: Path, keys: Path):  # type: ignore[no-untyped-def]
    from ambientctl.decode import Decoder, load_keylog
    from ambientctl.plugins.inner import InnerCollector

    c = InnerCollector()
    d = Decoder(str(pcap), load_keylog(str(keys)), on_app_data=c)
    for _ in d.run():
        pass
    return c.streams(d.result())


@pytest.fixture
def tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.skip("tshark is not installed (Debian package tshark)")
    return path


@pytest.fixture(scope="session")
def lab_http_stream():  # type: ignore[no-untyped-def]
    pcap, keys = LAB / "allowed.pcap", LAB / "allowed.keys"
    if not pcap.is_file():
        pytest.skip(f"HBONE lab recording not found at {pcap}")
    (s,) = inner_streams(pcap, keys)
    return s


@pytest.fixture(scope="session")
def ping_pong():  # type: ignore[no-untyped-def]
    d = REALDATA / "pcaps" / "illustrated-tls13"
    if not d.is_dir():
        pytest.skip(f"realdata not found at {d} (set AMBIENTCTL_REALDATA)")
    return d / "capture.pcap", d / "keylog.txt"
