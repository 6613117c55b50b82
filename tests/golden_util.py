"""Golden files: output is a contract, reviewed as diffs. Run with AMBIENTCTL_UPDATE_GOLDEN=1 to rewrite them,
then read the diff before committing."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("AMBIENTCTL_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    assert path.exists(), f"golden file {path} missing: run with AMBIENTCTL_UPDATE_GOLDEN=1 and review it"
    expected = path.read_text()
    assert actual == expected, f"output differs from {path} (AMBIENTCTL_UPDATE_GOLDEN=1 to update, then review)"
