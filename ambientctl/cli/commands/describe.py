"""`ambientctl describe pod NAME`: ambient membership, ztunnel, identity, services, waypoint, policies and where
each is enforced, PeerAuthentication, routes and findings for one pod."""

from __future__ import annotations

import argparse

from ambientctl.cli.options import add_namespace_option, add_output_option, add_source_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "describe",
        help="describe a pod as ambient mode sees it",
        description="Describe an object as Istio ambient mode sees it.",
    )
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    pod = kinds.add_parser(
        "pod",
        aliases=["po", "pods"],
        help="membership, ztunnel, identity, services, waypoint, policies, routes and findings of a pod",
        description="Describe a pod: is it in the ambient mesh and why, its node and ztunnel, SPIFFE identity, "
        "services, waypoint binding (which, how bound, ready?), the policies that apply and where each is "
        "enforced, PeerAuthentication, routes, and findings.",
        epilog="NAME is an exact pod name, deploy/NAME (a deployment's first ready pod), or an app label value "
        "that picks one workload; append .NAMESPACE or use -n. Example: ambientctl describe pod productpage "
        "--demo",
    )
    pod.add_argument("name", metavar="NAME", help="pod, deploy/NAME, or app label value")
    add_namespace_option(pod)
    add_output_option(pod)
    add_source_options(pod)
    pod.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ambientctl.cli.state import load_view
    from ambientctl.output.envelope import emit
    from ambientctl.output.pod_text import render_pod
    from ambientctl.plugins import check_output_format

    check_output_format(args.output)
    emit(pod_document(load_view(args), args.name, args.namespace), args.output, render_pod)
    return 0


def pod_document(view, name: str, namespace: str | None) -> dict:  # type: ignore[no-untyped-def]
    """The PodDescription document `describe pod` prints; `ambientctl mcp` serves the same one."""
    from ambientctl.explain.pod import describe_pod
    from ambientctl.mesh.refs import resolve_pod
    from ambientctl.output.envelope import envelope
    from ambientctl.plugins import registry
    from ambientctl.plugins.findings import add_plugin_findings

    pod = resolve_pod(view.cluster, name, namespace)
    return envelope("PodDescription", add_plugin_findings(view, pod, describe_pod(view, pod), registry()))
