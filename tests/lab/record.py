"""Record the lab's scenarios into a directory, for `trace --demo` and for tests that cannot run the lab.

    python -m tests.lab.record OUTDIR     (root; scripts/record-demo-captures does the same)

Writes <scenario>.pcap (client leg), <scenario>.app.pcap (ztunnel -> app leg), <scenario>.keys (NSS key log)
and manifest.json (expected facts per scenario). Files are written next to their final name and renamed, the
manifest last, so an interrupted run leaves no manifest pointing at missing or partial files.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from tests.lab.lab import MANIFEST, manifest, record_scenarios
from tests.lab.netns import LabUnavailable


def _install(source: Path, target: Path) -> Path:
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    os.chmod(partial, 0o644)
    os.replace(partial, target)
    return target


def record(outdir: Path) -> dict:
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="actl-lab-") as tmp:
        run = record_scenarios(Path(tmp))
        for c in run.captures.values():
            c.pcap = _install(c.pcap, outdir / c.pcap.name)
            c.app_pcap = _install(c.app_pcap, outdir / c.app_pcap.name)
            if c.keylog is not None:
                c.keylog = _install(c.keylog, outdir / c.keylog.name)
    doc = manifest(run.captures, relative_to=outdir)
    partial = outdir / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, outdir / MANIFEST)
    return doc


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: python -m tests.lab.record OUTDIR", file=sys.stderr)
        return 2
    try:
        doc = record(Path(argv[0]))
    except LabUnavailable as exc:
        print(f"record: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    for name, entry in doc["scenarios"].items():
        size = sum((Path(argv[0]) / entry[k]).stat().st_size for k in ("pcap", "app_pcap", "keylog") if entry[k])
        print(f"{name}: {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
