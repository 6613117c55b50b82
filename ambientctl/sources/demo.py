"""The bundled demo clusters (`--demo [NAME]`): snapshots shipped inside the package so every command can be
tried without a cluster. Each is a directory under ambientctl/demo/data/ with a README.md saying what it
reproduces."""

from __future__ import annotations

from importlib import resources

from ambientctl.errors import UsageError
from ambientctl.model import Cluster

DEMOS = {
    "bookinfo": "the seeds' Bookinfo walkthrough on current Istio (1.28): sleep/notsleep, waypoint, "
    "L4+L7 policy, reviews 90/10, 5 s delay",
    "bookinfo-l4": "the seed's step 9 on current Istio (1.28): ambient L4 only, productpage-viewer enforced by "
    "ztunnel (sleep allowed for any method, notsleep denied)",
    "seed-2022": "the seeds' own 2022 experimental-ambient cluster (istio-mesh waypoints per service account)",
    "hairpin-1.20": "Istio 1.20 with a service-account waypoint, where plaintext callers are hairpinned",
}


def demo_names() -> list[str]:
    return list(DEMOS)


def load_demo(name: str) -> Cluster:
    if name not in DEMOS:
        raise UsageError(f"no demo cluster named {name!r} (choose from: {', '.join(DEMOS)})")
    from ambientctl.sources.files import load_snapshot

    root = resources.files("ambientctl.demo") / "data" / name
    with resources.as_file(root) as path:
        cluster = load_snapshot(path)
    cluster.source = f"demo {name}"
    return cluster
