"""Finding: a gRPC service in the ambient mesh without a waypoint.

ztunnel works at L4 and does not parse HTTP (istio.io/latest/docs/ops/ambient/usage/ztunnel: "Ztunnel does not
terminate workload HTTP traffic or parse workload HTTP headers"; L7 load balancing is a waypoint feature). A
gRPC client keeps one long-lived HTTP/2 connection and multiplexes every call on it, so without a waypoint all of
a client's calls go to the one backend its connection landed on, and GRPCRoute or per-method policy do not
apply. A port is gRPC when its appProtocol says so or its name has Istio's protocol prefix (grpc, grpc-web).
"""

from __future__ import annotations

from collections.abc import Iterator

from ambientctl.plugins.api import Finding, PodContext

GRPC_PROTOCOLS = ("grpc", "grpc-web", "kubernetes.io/h2c")


def _is_grpc(port: dict) -> bool:
    app = (port.get("appProtocol") or "").lower()
    name = (port.get("name") or "").lower()
    return app in GRPC_PROTOCOLS or name == "grpc" or name.startswith(("grpc-", "grpc-web"))


def check(ctx: PodContext) -> Iterator[Finding]:
    doc = ctx.doc
    if doc["mesh"]["mode"] != "ambient":
        return
    for svc in doc["services"]:
        ports = [p for p in svc["ports"] if _is_grpc(p)]
        if not ports or svc.get("waypoint"):
            continue
        names = ", ".join(f"{p['port']}" + (f" ({p['name']})" if p.get("name") else "") for p in ports)
        yield Finding(
            "grpc-without-waypoint", "warning",
            f"Service {svc['namespace']}/{svc['name']} serves gRPC on port {names} but has no waypoint: ztunnel "
            "balances connections, not calls, so each client's calls all go to one backend of this service, and "
            "GRPCRoute or per-method AuthorizationPolicy rules are not applied. Add a waypoint for L7 balancing.")
