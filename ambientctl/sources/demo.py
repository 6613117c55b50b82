"""The bundled demo clusters (`--demo [NAME]`): snapshots shipped inside the package so every command can be
tried without a cluster. Each is a directory under ambientctl/demo/data/ with a README.md saying what it
reproduces."""

from __future__ import annotations

from importlib import resources

from ambientctl.demo import demos
from ambientctl.errors import UsageError
from ambientctl.model import Cluster

DEMOS = demos()  # name -> summary, read from the demo directory (ambientctl.demo)


def load_demo(name: str) -> Cluster:
    if name not in DEMOS:
        raise UsageError(f"no demo cluster named {name!r}", where="--demo", hint=f"choose one of: {', '.join(DEMOS)}")
    from ambientctl.sources.files import load_snapshot

    root = resources.files("ambientctl.demo") / "data" / name
    with resources.as_file(root) as path:
        cluster = load_snapshot(path)
    cluster.source = f"demo {name}"
    return cluster
