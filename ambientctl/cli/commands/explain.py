"""`ambientctl explain SRC DST`: without sending traffic, the path a request takes and who allows or denies it
— component, policy and rule — per Istio version. Exit code 3 when the request would be denied."""

from __future__ import annotations

import argparse

from ambientctl.cli.options import add_namespace_option, add_output_option, add_source_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="why a request from SRC to DST is allowed, denied or hairpinned (no traffic sent)",
        description="Explain the path of a request from SRC to DST and the verdict: which component decides "
        "(destination ztunnel, waypoint, or a Kubernetes NetworkPolicy on the packets ambient puts on the wire), by "
        "which policy and rule, and why — following the behaviour of the "
        "Istio version in use. Nothing is sent to the cluster's workloads.",
        epilog="SRC is a workload (sleep, deploy/sleep.default, pod/NAME), node/NAME (a host process there, e.g. the "
        "kubelet probing a pod on that node; `kubelet` is the destination's node) or an IP (an IP of no pod is a client "
        "outside the mesh). DST is a service (productpage, productpage.default:9080, its FQDN or VIP), a workload "
        "(addressed by pod IP), IP:PORT, or a host outside the cluster (httpbin.org:443: ServiceEntry hosts, DNS "
        "capture and egress waypoints). Exit status 3 means denied. Example: ambientctl explain notsleep "
        "productpage:9080 --demo bookinfo-l4",
    )
    p.add_argument("src", metavar="SRC", nargs="?", help="client workload, node/NAME or IP")
    p.add_argument("dst", metavar="DST", nargs="?", help="service[:port], workload or IP[:port]")
    p.add_argument("--matrix", action="store_true",
                   help="every workload of the namespace (-n) against every service port in it, as an allow/deny "
                   "table with the deciding policy per cell")
    p.add_argument("--port", type=int, metavar="N", help="destination port (or DST:PORT)")
    p.add_argument("--protocol", choices=("http", "tcp"), default="http",
                   help="what the client speaks (default: http; tcp skips L7 routing and L7 policy matching)")
    p.add_argument("--method", default="GET", metavar="METHOD", help="HTTP method (default: GET)")
    p.add_argument("--path", default="/", metavar="PATH", help="HTTP path (default: /)")
    p.add_argument("--header", action="append", default=[], metavar="K=V", help="HTTP request header (repeatable)")
    p.add_argument("--resolve", action="append", default=[], metavar="HOST=IP",
                   help="what the upstream resolver answers for HOST when no ServiceEntry gives it an address (as "
                   "curl --resolve; repeatable)")
    add_namespace_option(p)
    add_output_option(p)
    add_source_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ambientctl.cli.state import load_view
    from ambientctl.errors import EXIT_DENIED, UsageError
    from ambientctl.output.envelope import emit
    from ambientctl.output.explain_text import render_explanation

    headers = {}
    for h in args.header:
        k, sep, v = h.partition("=")
        if not sep or not k:
            raise UsageError(f"--header {h!r}: expected NAME=VALUE")
        headers[k] = v
    resolve = parse_resolve(args.resolve)
    if args.matrix:
        if args.src or args.dst:
            raise UsageError("--matrix takes no SRC/DST: it explains every pair in the namespace (-n)")
        from ambientctl.output.explain_text import render_matrix

        doc = matrix_document(load_view(args), args.namespace, protocol=args.protocol, method=args.method,
                              path=args.path)
        emit(doc, args.output, render_matrix)
        return EXIT_DENIED if doc["summary"]["deny"] else 0
    if not args.src or not args.dst:
        raise UsageError("give SRC and DST (or --matrix -n NS)")
    doc = explanation_document(load_view(args), args.src, args.dst, namespace=args.namespace, port=args.port,
                               protocol=args.protocol, method=args.method, path=args.path, headers=headers,
                               resolve=resolve)
    emit(doc, args.output, render_explanation)
    return EXIT_DENIED if doc["verdict"] == "deny" else 0


def explanation_document(view, src: str, dst: str, *, namespace: str | None = None,  # type: ignore[no-untyped-def]
                         port: int | None = None, protocol: str = "http", method: str = "GET", path: str = "/",
                         headers: dict[str, str] | None = None, resolve: dict[str, str] | None = None) -> dict:
    """The Explanation document `explain SRC DST` prints; `ambientctl mcp` serves the same one."""
    from ambientctl.explain.engine import explain
    from ambientctl.output.envelope import envelope

    return envelope("Explanation", explain(view, src, dst, namespace=namespace, port=port, protocol=protocol,
                                           method=method, path=path, headers=headers or {},
                                           resolve=resolve))


def matrix_document(view, namespace: str | None, *, protocol: str = "http", method: str = "GET",  # type: ignore[no-untyped-def]
                    path: str = "/") -> dict:
    """The ExplanationMatrix document `explain --matrix -n NS` prints; `ambientctl mcp` serves the same one."""
    from ambientctl.explain.matrix import matrix
    from ambientctl.output.envelope import envelope

    ns = namespace or "default"
    if ns not in view.cluster.namespaces and not view.cluster.pods_in(ns):
        from ambientctl.mesh.refs import unknown_namespace

        raise unknown_namespace(view.cluster, ns)
    return envelope("ExplanationMatrix", matrix(view, ns, protocol=protocol, method=method, path=path))


def parse_resolve(items: list[str]) -> dict[str, str]:
    """`--resolve HOST=IP` (curl's HOST:PORT:ADDR is accepted too; the port is ignored)."""
    import ipaddress

    from ambientctl.errors import UsageError

    out: dict[str, str] = {}
    for item in items:
        host, sep, ip = item.partition("=")
        if not sep and item.count(":") == 2:
            host, _, ip = item.split(":")
        host, ip = host.strip().lower(), ip.strip().strip("[]")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise UsageError(f"--resolve {item!r}: expected HOST=IP (an IPv4 or IPv6 address)") from None
        if not host:
            raise UsageError(f"--resolve {item!r}: expected HOST=IP")
        out[host] = ip
    return out
