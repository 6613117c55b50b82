"""Turn the shared source options (--demo, --snapshot, live) into a MeshView. Sources are imported only here
and only when used, so `--help` never pays for them."""

from __future__ import annotations

import argparse

from ambientctl.mesh import MeshView
from ambientctl.model import Cluster


def load_cluster(args: argparse.Namespace) -> Cluster:
    return checked(_load_cluster(args))


def checked(cluster: Cluster) -> Cluster:
    """Say on stderr what the reader should know about the input (objects given twice); refuse to answer when
    Pods could not be read (RBAC): every answer starts from pods, and an empty list would read as "no pod"."""
    import sys

    from ambientctl.errors import AmbientctlError

    for w in cluster.warnings:
        print(f"ambientctl: warning: {w}", file=sys.stderr)
    if "Pod" in cluster.unreadable:
        raise AmbientctlError(f"{cluster.source}: Pods could not be read ({cluster.unreadable['Pod']}); every "
                              "answer starts from them: use a context allowed to list pods in all namespaces")
    return cluster


def _load_cluster(args: argparse.Namespace) -> Cluster:
    if args.demo and args.snapshot:
        from ambientctl.errors import UsageError

        raise UsageError("--demo and --snapshot are alternatives; give one")
    if args.demo:
        from ambientctl.sources.demo import load_demo

        return load_demo(args.demo)
    if args.snapshot:
        from ambientctl.sources.files import load_snapshot

        return load_snapshot(args.snapshot)
    try:
        from ambientctl.sources.kube import load_live
    except ModuleNotFoundError as e:
        if e.name != "ambientctl.sources.kube":
            raise
        from ambientctl.errors import UsageError

        raise UsageError("this build cannot read a live cluster yet (no ambientctl.sources.kube): use --snapshot "
                         "PATH (e.g. kubectl get -A -o yaml pods,services,... > dump.yaml) or --demo") from None
    return load_live(context=args.context, kubeconfig=args.kubeconfig, request_timeout=args.request_timeout)


def load_view(args: argparse.Namespace) -> MeshView:
    return MeshView(load_cluster(args), istio_version=args.istio_version)
