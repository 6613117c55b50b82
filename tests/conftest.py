"""Shared test setup.

Tests that need root, network namespaces, Debian tools or the test API server skip with a reason when the
means are missing. CI sets AMBIENTCTL_REQUIRE_ALL=1 (.ci/run): then any skip fails the run, so a green CI
means every test really ran.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REALDATA = Path(os.environ.get("AMBIENTCTL_REALDATA", REPO / "tests" / "realdata"))
REQUIRE_ALL = os.environ.get("AMBIENTCTL_REQUIRE_ALL") == "1"
pytest_plugins = [
    "tests.lab.fixtures",  # hbone_captures / hbone_recorded: real HBONE pcaps (tests/lab)
    "tests.cluster.fixture",  # kube_cluster: real kube-apiserver/controllers/scheduler + etcd + kwok nodes
]

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if REQUIRE_ALL and _skipped and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if REQUIRE_ALL and _skipped:
        terminalreporter.write_line(
            f"AMBIENTCTL_REQUIRE_ALL=1: {len(_skipped)} skipped test(s) count as failures", red=True
        )


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"realdata not found at {REALDATA} (set AMBIENTCTL_REALDATA)")
    return REALDATA
