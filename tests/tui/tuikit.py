"""Helpers for the TUI tests: the app on the bundled bookinfo demo (the real loading path, run in the app's
worker), a helper that waits until every worker has finished and its messages are handled, and hand-written
Explanation bodies (design.md §2) that pin the explain screen's rendering independently of the engine."""

from __future__ import annotations

from typing import Any

from ambientctl.mesh import MeshView

SIZE = (130, 40)  # every snapshot and pilot run uses this terminal size


def bookinfo_view() -> MeshView:
    from ambientctl.sources.demo import load_demo

    return MeshView(load_demo("bookinfo"))


def make_app(load=bookinfo_view, **kw: Any):
    from ambientctl.tui.app import AmbientApp

    return AmbientApp(load, "demo bookinfo", **kw)


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait for workers and the messages they post (a worker's result can start another worker)."""
    from contextlib import suppress

    from textual.worker import WorkerCancelled

    for _ in range(4):
        with suppress(WorkerCancelled):  # an exclusive worker replaced by a newer one: wait for the newer one
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def pod_key(app, prefix: str) -> str:  # type: ignore[no-untyped-def]
    return next(k for k in app.home.order if k.split("/", 1)[1].startswith(prefix))


async def move_to(pilot, prefix: str) -> None:  # type: ignore[no-untyped-def]
    """Put the pod table's cursor on the first pod whose name starts with `prefix`."""
    from textual.widgets import DataTable

    table = pilot.app.home.query_one("#pods", DataTable)
    table.move_cursor(row=table.get_row_index(pod_key(pilot.app, prefix)))
    await pilot.pause()


ALLOW: dict[str, Any] = {
    "apiVersion": "ambientctl/v1",
    "kind": "Explanation",
    "source": {"ref": "pod/sleep-55697f8897-n2ldz.default", "kind": "Pod", "namespace": "default",
               "name": "sleep-55697f8897-n2ldz", "ip": "192.168.58.148",
               "identity": "spiffe://cluster.local/ns/default/sa/sleep", "captured": True, "mode": "ambient",
               "cluster": "demo bookinfo"},
    "destination": {"ref": "productpage.default:9080", "kind": "Service", "namespace": "default",
                    "name": "productpage", "ip": "10.100.171.143", "port": 9080},
    "request": {"port": 9080, "protocol": "http", "method": "GET", "path": "/"},
    "verdict": "allow",
    "path": "via-waypoint",
    "enforcedBy": "waypoint",
    "decidedBy": {"policy": "default/productpage-viewer", "rule": 0},
    "hops": [
        {"component": "client", "name": "default/sleep-55697f8897-n2ldz", "node": "ip-192-168-40-12.ec2.internal",
         "protocol": "tcp", "port": 9080},
        {"component": "src-ztunnel", "name": "istio-system/ztunnel-fnjg2", "node": "ip-192-168-40-12.ec2.internal",
         "protocol": "hbone", "port": 15008},
        {"component": "waypoint", "name": "default/waypoint-576cc76b7d-sj4pn", "node": "ip-192-168-21-30.ec2.internal",
         "protocol": "hbone", "port": 15008},
        {"component": "dst-ztunnel", "name": "istio-system/ztunnel-k4jhb", "node": "ip-192-168-21-30.ec2.internal",
         "protocol": "tcp", "port": 9080},
        {"component": "server", "name": "default/productpage-v1-5586c4d4ff-z8jbb",
         "node": "ip-192-168-21-30.ec2.internal", "protocol": "tcp", "port": 9080},
    ],
    "reasons": [
        "Service default/productpage has label istio.io/use-waypoint=waypoint, so traffic to its VIP goes "
        "through waypoint default/waypoint.",
        "waypoint default/waypoint: ALLOW default/productpage-viewer rule 0 matches (principal "
        "cluster.local/ns/default/sa/sleep, method GET).",
        "destination ztunnel: no policy applies to the waypoint's identity.",
    ],
    "warnings": [],
    "routing": {"route": {"kind": "VirtualService", "namespace": "default", "name": "productpage", "rule": 0,
                          "match": "any request"},
                "appliedBy": "waypoint default/waypoint",
                "backends": [{"host": "productpage.default.svc.cluster.local", "percent": 100,
                              "pods": ["default/productpage-v1-5586c4d4ff-z8jbb"]}],
                "fault": {"delay": {"fixedDelay": "5s", "percent": 100}}, "timeout": None, "retries": None},
    "outcome": "the request reaches the server, delayed 5s (100% of requests) by fault injection at the waypoint",
    "istioVersion": "1.28",
}

DENY: dict[str, Any] = {
    "apiVersion": "ambientctl/v1",
    "kind": "Explanation",
    "source": {"ref": "pod/notsleep-c5589665d8-9jcqj.default", "kind": "Pod", "namespace": "default",
               "name": "notsleep-c5589665d8-9jcqj", "ip": "192.168.47.210",
               "identity": "spiffe://cluster.local/ns/default/sa/notsleep", "captured": True, "mode": "ambient",
               "cluster": "demo bookinfo"},
    "destination": {"ref": "ratings.default:9080", "kind": "Service", "namespace": "default", "name": "ratings",
                    "ip": "10.100.12.9", "port": 9080},
    "request": {"port": 9080, "protocol": "http", "method": "GET", "path": "/"},
    "verdict": "deny",
    "path": "direct-hbone",
    "enforcedBy": "dst-ztunnel",
    "decidedBy": {"defaultDeny": ["default/ratings-viewer"]},
    "hops": [
        {"component": "client", "name": "default/notsleep-c5589665d8-9jcqj", "node": "ip-192-168-40-12.ec2.internal",
         "protocol": "tcp", "port": 9080},
        {"component": "src-ztunnel", "name": "istio-system/ztunnel-fnjg2", "node": "ip-192-168-40-12.ec2.internal",
         "protocol": "hbone", "port": 15008},
        {"component": "dst-ztunnel", "name": "istio-system/ztunnel-k4jhb", "node": "ip-192-168-21-30.ec2.internal",
         "protocol": "tcp", "port": 9080},
        {"component": "server", "name": "default/ratings-v1-797c4577bc-d25hc", "node": "ip-192-168-21-30.ec2.internal",
         "protocol": "tcp", "port": 9080},
    ],
    "reasons": [
        "destination ztunnel evaluates L4 policy; the peer is spiffe://cluster.local/ns/default/sa/notsleep.",
        "default/ratings-viewer has no rules left at ztunnel (its only rule needs HTTP) and matches nothing.",
        "ALLOW policies exist but none matched, so the request is denied.",
    ],
    "warnings": ["AuthorizationPolicy default/ratings-viewer is enforced by ztunnel but every rule needs HTTP "
                 "attributes: istiod drops them, the ALLOW policy matches nothing, and all traffic to this pod is "
                 "denied. Attach it to a waypoint with targetRefs instead."],
    "findings": [{"id": "l7-rule-dropped-at-ztunnel", "severity": "error",
                  "message": "AuthorizationPolicy default/ratings-viewer is enforced by ztunnel but every rule needs "
                             "HTTP attributes: istiod drops them, the ALLOW policy matches nothing, and all traffic "
                             "to this pod is denied. Attach it to a waypoint with targetRefs instead.",
                  "objects": ["AuthorizationPolicy/default/ratings-viewer", "Pod/default/ratings-v1-1"],
                  "flows": [{"destination": "Pod/default/ratings-v1-1"}]}],
    "routing": None,
    "outcome": "the client sees the connection reset (curl: (56) Recv failure: Connection reset by peer)",
    "ztunnelLog": "connection closed due to policy rejection: allow policies exist, but none allowed",
    "istioVersion": "1.28",
}


def fixed_explainer():
    """An explainer answering from the hand-written bodies above: DENY for notsleep, ALLOW otherwise; it
    records its calls."""
    calls: list[tuple[str, str]] = []

    def explain(view, src_ref: str, dst_ref: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        calls.append((src_ref, dst_ref))
        return DENY if "notsleep" in src_ref else ALLOW

    explain.calls = calls  # type: ignore[attr-defined]
    return explain
