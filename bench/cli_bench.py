#!/usr/bin/env python3
"""CLI budgets (design.md §6), measured against baselines in the same run:

- `ambientctl --help` vs `kubectl --help` (target: within 2x);
- `describe pod` on the synthetic 5,000-pod / 2,000-service / 500-policy snapshot (target: under 1 s), next to
  the bare cost of reading the same file with `json.load` in a fresh interpreter;
- `explain` on the same snapshot (target: under 1 s), and `explain --matrix` over 200 workloads (40,000 pairs,
  target: under 5 s).

usage: bench/cli_bench.py [--runs N]     (generates bench/out/synth.json if missing)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent
AMBIENTCTL = str(BIN / "ambientctl")


def timed(cmd: list[str], runs: int) -> float:
    """Median wall time of `runs` runs (after one warm-up), in seconds; fails loudly if the command fails."""
    subprocess.run(cmd, capture_output=True)  # warm-up; exit codes are checked below
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True)
        samples.append(time.perf_counter() - t)
        if r.returncode not in (0, 3):
            raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode()[-300:]}")
    return statistics.median(samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    snap = HERE / "out" / "synth.json"
    if not snap.exists():
        snap.parent.mkdir(exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "gen_snapshot.py"), str(snap)], check=True)
    items = json.loads(snap.read_text())["items"]
    pod = next(i["metadata"] for i in items if i["kind"] == "Pod" and i["metadata"]["namespace"] == "team-10")

    rows = []
    kubectl = shutil.which("kubectl")
    help_t = timed([AMBIENTCTL, "--help"], a.runs)
    if kubectl:
        k = timed([kubectl, "--help"], a.runs)
        rows.append(("ambientctl --help", help_t, "kubectl --help", k, help_t / k, "<= 2.0x"))
    else:
        rows.append(("ambientctl --help", help_t, "kubectl --help", float("nan"), float("nan"), "kubectl missing"))
    load = timed([sys.executable, "-c", f"import json; json.load(open({str(snap)!r}))"], a.runs)
    d = timed([AMBIENTCTL, "describe", "pod", pod["name"], "-n", pod["namespace"], "--snapshot", str(snap), "-o",
               "json"], a.runs)
    rows.append(("describe pod (5k pods)", d, "python json.load of the snapshot", load, d / load, "< 1.0 s"))
    e = timed([AMBIENTCTL, "explain", f"pod/{pod['name']}.{pod['namespace']}", "app-001.team-10:8080", "--snapshot",
               str(snap), "-o", "json"], a.runs)
    rows.append(("explain (5k pods)", e, "python json.load of the snapshot", load, e / load, "< 1.0 s"))
    msnap = HERE / "out" / "matrix200.json"
    if not msnap.exists():
        subprocess.run([sys.executable, str(HERE / "gen_snapshot.py"), str(msnap), "--pods", "200", "--services",
                        "200", "--policies", "50", "--namespaces", "1"], check=True)
    mload = timed([sys.executable, "-c", f"import json; json.load(open({str(msnap)!r}))"], a.runs)
    m = timed([AMBIENTCTL, "explain", "--matrix", "-n", "team-00", "--snapshot", str(msnap), "-o", "json"],
              max(2, a.runs // 3))
    rows.append(("explain --matrix (40k pairs)", m, "python json.load of its snapshot", mload, m / mload, "< 5.0 s"))

    print(f"{'measure':28} {'median':>8}   {'baseline':34} {'median':>8}   {'ratio':>6}  target")
    for name, t, bname, bt, ratio, target in rows:
        print(f"{name:28} {t * 1000:7.0f}ms   {bname:34} {bt * 1000:7.0f}ms   {ratio:5.2f}x  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
