"""pytest fixtures for real HBONE captures; registered for the whole suite from tests/conftest.py.

    def test_something(hbone_captures):          # runs the lab once per session (root, netns, tools)
        c = hbone_captures["denied"]
        c.pcap, c.keylog, c.app_pcap              # pathlib.Path (keylog None for "plaintext")
        c.expected.authority, c.expected.status   # see tests.lab.lab.Expected
        c.access_log                              # ztunnel-format lines (policy server scenarios)

    def test_offline(hbone_recorded):            # the committed captures in tests/lab/recorded, no root needed

Scenario names: tests.lab.lab.SCENARIOS (allowed, allowed-by-policy, denied, upstream-refused, ip-mismatch,
reset-after-handshake, plaintext).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def hbone_lab_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.lab.lab import record_scenarios
    from tests.lab.netns import missing_means

    reason = missing_means()
    if reason:
        pytest.skip(reason)
    return record_scenarios(tmp_path_factory.mktemp("hbone-lab"))


@pytest.fixture(scope="session")
def hbone_captures(hbone_lab_run):  # type: ignore[no-untyped-def]
    """{scenario name: tests.lab.lab.Capture}, recorded fresh in network namespaces this session."""
    return hbone_lab_run.captures


@pytest.fixture(scope="session")
def hbone_recorded():  # type: ignore[no-untyped-def]
    """{scenario name: Capture} from the committed recordings (tests/lab/recorded/manifest.json)."""
    from tests.lab.lab import RECORDED_DIR, load_manifest

    return load_manifest(RECORDED_DIR)
