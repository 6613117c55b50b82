"""`ambientctl describe pod|service|waypoint NAME`: for a pod, ambient membership, ztunnel, identity, services,
waypoint, policies and where each is enforced, PeerAuthentication, routes and findings; for a service or a waypoint,
what binds to the waypoint and why (per traffic type, with istiod's WaypointBound condition), the policies it
enforces, its identity, readiness, routes, canaries and findings."""

from __future__ import annotations

import argparse

from ambientctl.cli.options import add_namespace_option, add_output_option, add_source_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "describe",
        help="describe a pod, service or waypoint as ambient mode sees it",
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

    svc = kinds.add_parser(
        "service",
        aliases=["svc", "services"],
        help="the waypoint a service binds to and why, the policies it enforces for it, routes and findings",
        description="Describe a service: which waypoint its traffic goes through and why (the label that bound it "
        "and the istio.io/WaypointBound condition istiod writes: WaypointAccepted, WaypointIsNotReady, "
        "AttachmentDenied, UnsupportedTrafficType, ...), per traffic type (the service's VIP; pod-IP traffic per "
        "endpoint), whether ingress gateways use it, the policies that waypoint enforces for this service, routes, "
        "canaries and findings.",
        epilog="NAME is a service name, svc/NAME, NAME.NAMESPACE, NAMESPACE/NAME or its FQDN; or use -n. Example: "
        "ambientctl describe service details --demo",
    )
    svc.add_argument("name", metavar="NAME", help="service name (NAME.NAMESPACE, NAMESPACE/NAME)")
    add_namespace_option(svc)
    add_output_option(svc)
    add_source_options(svc)
    svc.set_defaults(func=run_service)

    wp = kinds.add_parser(
        "waypoint",
        aliases=["wp", "waypoints"],
        help="what binds to a waypoint and why, the policies it enforces, identity, readiness, routes, findings",
        description="Describe a waypoint (its Gateway): readiness, traffic type and why, identity, pods, what binds "
        "to it per traffic type (services, workloads) and what asks for it but is refused (with istiod's "
        "WaypointBound reason), the policies it enforces (targetRefs on its services, its Gateway, its "
        "GatewayClass; 1.18-1.21: selector policies on its pods), routes, canaries and findings.",
        epilog="NAME is the waypoint Gateway's name (NAME.NAMESPACE, NAMESPACE/NAME, or -n), or one of its pods. "
        "Example: ambientctl describe waypoint waypoint --demo",
    )
    wp.add_argument("name", metavar="NAME", help="waypoint Gateway name (NAME.NAMESPACE, NAMESPACE/NAME) or pod")
    add_namespace_option(wp)
    add_output_option(wp)
    add_source_options(wp)
    wp.set_defaults(func=run_waypoint)


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


def run_service(args: argparse.Namespace) -> int:
    from ambientctl.cli.state import load_view
    from ambientctl.output.envelope import emit
    from ambientctl.output.service_text import render_service
    from ambientctl.plugins import check_output_format

    check_output_format(args.output)
    emit(service_document(load_view(args), args.name, args.namespace), args.output, render_service)
    return 0


def run_waypoint(args: argparse.Namespace) -> int:
    from ambientctl.cli.state import load_view
    from ambientctl.output.envelope import emit
    from ambientctl.output.service_text import render_waypoint
    from ambientctl.plugins import check_output_format

    check_output_format(args.output)
    emit(waypoint_document(load_view(args), args.name, args.namespace), args.output, render_waypoint)
    return 0


def service_document(view, name: str, namespace: str | None) -> dict:  # type: ignore[no-untyped-def]
    """The ServiceDescription document `describe service` prints."""
    from ambientctl.explain.service import describe_service
    from ambientctl.mesh.refs import Ref, not_found, resolve_service
    from ambientctl.output.envelope import envelope

    svc = resolve_service(view.cluster, name, namespace)
    if svc is None:
        raise not_found(view.cluster, Ref(name, "service", name.split("/")[-1], namespace), True)
    return envelope("ServiceDescription", describe_service(view, svc))


def waypoint_document(view, name: str, namespace: str | None) -> dict:  # type: ignore[no-untyped-def]
    """The WaypointDescription document `describe waypoint` prints: NAME read with the reference grammar
    (mesh/refs.py `parse_ref`) as a waypoint Gateway, else as one of its pods."""
    from ambientctl.errors import NotFound
    from ambientctl.explain.service import describe_waypoint
    from ambientctl.mesh.refs import parse_ref, resolve_pod
    from ambientctl.output.envelope import envelope

    waypoints = view.waypoints()
    for r in parse_ref(view.cluster, name, namespace):
        wp = waypoints.get(f"{r.ns}/{r.name}")
        if wp is not None:
            return envelope("WaypointDescription", describe_waypoint(view, wp))
    try:
        wp = view.waypoint_of_pod(resolve_pod(view.cluster, name, namespace))
    except NotFound:
        wp = None
    if wp is None:
        import difflib

        close = difflib.get_close_matches(name.split("/")[-1].split(".")[0], [w.name for w in waypoints.values()])
        known = sorted(waypoints)
        hint = (f"did you mean {close[0]!r}?" if close else
                f"waypoints: {', '.join(known)}" if known else f"no waypoint exists (Istio {view.version})")
        raise NotFound(f"no waypoint named {name!r} in namespace {namespace or 'default'}", hint=hint)
    return envelope("WaypointDescription", describe_waypoint(view, wp))
